//! Reed–Solomon erasure coding of one fragment (`rs:K+M`): its bytes cut
//! into K data shards plus M parity shards, any K of which rebuild them,
//! and the [`Stripe`] record that names the shards.
//!
//! A fragment of `len` bytes is padded with zeros to K shards of
//! [`shard_len`] bytes each (a multiple of 64, as `reed-solomon-simd`
//! encodes any version alike at that size); the stripe records `len`, so
//! the padding is cut off again on rebuild. Every shard is named by the
//! hash of its bytes, and the stripe by the hash of its encoding: it is a
//! small stored object like a fragment, and an rs manifest names stripes
//! where a replicated one names fragments.
//!
//! Byte form of a stripe: one format-version byte ([`STRIPE_VERSION`])
//! followed by the postcard encoding of [`Stripe`].
//!
//! **Architecture invariant:** pure logic, like `fragment`. No IO, no
//! tokio, no libp2p; decoding never panics and allocates only within
//! [`MAX_STRIPE_BYTES`].

use crate::{
    fragment::{FragmentId, FragmentSize, HashAlgo},
    redundancy::{Redundancy, RedundancyError},
};
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};
use serde::{Deserialize, Serialize};

/// Version byte that prefixes every encoded stripe.
pub const STRIPE_VERSION: u8 = 1;

/// Encoded bytes of a stripe, at most: the version byte, the data id, the
/// lengths and counts, and 64 shard ids (postcard spends at most 34 bytes
/// on an id, 5 on a `u32`).
pub const MAX_STRIPE_BYTES: usize = 1 + 34 + 5 + 2 + 5 + 1 + 64 * 34;

/// Shards are a multiple of this many bytes.
const SHARD_ALIGN: u32 = 64;

/// The shards of one fragment: what its bytes hash to, how long they are,
/// how they were coded and the id of every shard, data shards first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stripe {
    /// The hash of the fragment's bytes (checked after every rebuild).
    pub data_id: FragmentId,
    /// The fragment's length before padding.
    pub len: u32,
    /// Data shards (K).
    pub data: u8,
    /// Parity shards (M).
    pub parity: u8,
    /// Bytes of every shard: [`shard_len`] of `len` and `data`.
    pub shard_len: u32,
    /// The hash of each shard, `data + parity` of them, in shard order.
    pub shards: Vec<FragmentId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErasureError {
    #[error("stripe is empty")]
    Empty,
    #[error(
        "stripe format version {0} is not supported (this build reads version {STRIPE_VERSION})"
    )]
    Version(u8),
    #[error("stripe is malformed: {0}")]
    Malformed(String),
    #[error(transparent)]
    Redundancy(#[from] RedundancyError),
    #[error("{have} good shard(s), {need} needed to rebuild")]
    NotEnoughShards { have: usize, need: usize },
    #[error("shard {0} is given twice, out of range or of the wrong length")]
    BadShard(usize),
    #[error("the rebuilt bytes do not match the stripe's data id")]
    Mismatch,
    #[error("Reed–Solomon coding failed: {0}")]
    Coding(String),
}

/// Bytes of each shard of a `len`-byte fragment cut into `data` shards:
/// `len / data` rounded up to a multiple of 64 (at least 64).
pub fn shard_len(len: u32, data: u8) -> u32 {
    let per = len.div_ceil(u32::from(data.max(1)));
    per.div_ceil(SHARD_ALIGN).max(1) * SHARD_ALIGN
}

/// Encodes `bytes` (one fragment) into `data` data shards and `parity`
/// parity shards; returns the stripe naming them (ids with `algo`) and
/// the shards in order.
pub fn encode(
    algo: HashAlgo,
    bytes: &[u8],
    data: u8,
    parity: u8,
) -> Result<(Stripe, Vec<Vec<u8>>), ErasureError> {
    Redundancy::reed_solomon(data, parity)?;
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|&l| l <= FragmentSize::MAX)
        .ok_or_else(|| {
            ErasureError::Malformed(format!("{} bytes is over a fragment", bytes.len()))
        })?;
    let size = shard_len(len, data) as usize;
    let (k, m) = (usize::from(data), usize::from(parity));
    let mut shards: Vec<Vec<u8>> = (0..k)
        .map(|i| {
            let start = (i * size).min(bytes.len());
            let end = ((i + 1) * size).min(bytes.len());
            let mut s = bytes[start..end].to_vec();
            s.resize(size, 0);
            s
        })
        .collect();
    let coding = |e: reed_solomon_simd::Error| ErasureError::Coding(e.to_string());
    let mut enc = ReedSolomonEncoder::new(k, m, size).map_err(coding)?;
    for s in &shards {
        enc.add_original_shard(s).map_err(coding)?;
    }
    let out = enc.encode().map_err(coding)?;
    shards.extend(out.recovery_iter().map(<[u8]>::to_vec));
    let stripe = Stripe {
        data_id: FragmentId::of(algo, bytes),
        len,
        data,
        parity,
        shard_len: size as u32,
        shards: shards.iter().map(|s| FragmentId::of(algo, s)).collect(),
    };
    Ok((stripe, shards))
}

impl Stripe {
    /// The shards in all: data + parity.
    pub fn total(&self) -> usize {
        usize::from(self.data) + usize::from(self.parity)
    }

    /// The redundancy this stripe was coded with.
    pub fn redundancy(&self) -> Redundancy {
        Redundancy::ReedSolomon {
            data: self.data,
            parity: self.parity,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![STRIPE_VERSION];
        // Serialising plain data into a Vec cannot fail.
        out.extend(postcard::to_stdvec(self).expect("stripe serialisation"));
        out
    }

    /// Decodes and checks a stripe; bytes longer than any stripe are
    /// refused before they are parsed.
    pub fn decode(bytes: &[u8]) -> Result<Self, ErasureError> {
        let (&version, body) = bytes.split_first().ok_or(ErasureError::Empty)?;
        if version != STRIPE_VERSION {
            return Err(ErasureError::Version(version));
        }
        if bytes.len() > MAX_STRIPE_BYTES {
            return Err(ErasureError::Malformed(format!(
                "{} bytes is longer than any stripe",
                bytes.len()
            )));
        }
        let s: Stripe =
            postcard::from_bytes(body).map_err(|e| ErasureError::Malformed(e.to_string()))?;
        s.check()?;
        Ok(s)
    }

    /// Internal consistency: counts within limits, one id per shard, all
    /// ids of one algorithm, the shard length the one [`encode`] picks.
    pub fn check(&self) -> Result<(), ErasureError> {
        let bad = |s: String| Err(ErasureError::Malformed(s));
        self.redundancy().check()?;
        if self.len > FragmentSize::MAX {
            return bad(format!("length {} is over a fragment", self.len));
        }
        if self.shards.len() != self.total() {
            return bad(format!(
                "{} shard ids for {} shards",
                self.shards.len(),
                self.total()
            ));
        }
        if self.shard_len != shard_len(self.len, self.data) {
            return bad(format!("shard length {} does not fit", self.shard_len));
        }
        let algo = self.data_id.algo();
        if self.shards.iter().any(|s| s.algo() != algo) {
            return bad(format!("shard ids are not all {algo}"));
        }
        Ok(())
    }

    /// Rebuilds the fragment from `shards` (index, bytes): at least
    /// [`Stripe::data`] distinct shards of [`Stripe::shard_len`] bytes. The
    /// shards are trusted to match their ids (the caller checked them);
    /// the result is checked against [`Stripe::data_id`].
    pub fn rebuild(&self, shards: &[(usize, &[u8])]) -> Result<Vec<u8>, ErasureError> {
        self.check()?;
        let (k, m, size) = (
            usize::from(self.data),
            usize::from(self.parity),
            self.shard_len as usize,
        );
        let mut slots: Vec<Option<&[u8]>> = vec![None; k + m];
        for &(i, s) in shards {
            match slots.get_mut(i) {
                Some(slot @ None) if s.len() == size => *slot = Some(s),
                _ => return Err(ErasureError::BadShard(i)),
            }
        }
        let have = slots.iter().filter(|s| s.is_some()).count();
        if have < k {
            return Err(ErasureError::NotEnoughShards { have, need: k });
        }
        let mut out = Vec::with_capacity(k * size);
        if slots[..k].iter().all(Option::is_some) {
            slots[..k]
                .iter()
                .flatten()
                .for_each(|s| out.extend_from_slice(s));
        } else {
            let restored = restore(k, m, size, &slots)?;
            for (i, slot) in slots[..k].iter().enumerate() {
                match slot.or_else(|| restored.get(&i).map(Vec::as_slice)) {
                    Some(s) => out.extend_from_slice(s),
                    None => return Err(ErasureError::Coding(format!("shard {i} not restored"))),
                }
            }
        }
        out.truncate(self.len as usize);
        if !self.data_id.matches(&out) {
            return Err(ErasureError::Mismatch);
        }
        Ok(out)
    }
}

/// The missing data shards, restored from the present data and parity.
fn restore(
    k: usize,
    m: usize,
    size: usize,
    slots: &[Option<&[u8]>],
) -> Result<std::collections::BTreeMap<usize, Vec<u8>>, ErasureError> {
    let coding = |e: reed_solomon_simd::Error| ErasureError::Coding(e.to_string());
    let mut dec = ReedSolomonDecoder::new(k, m, size).map_err(coding)?;
    for (i, s) in slots.iter().enumerate() {
        match s {
            Some(s) if i < k => dec.add_original_shard(i, s).map_err(coding)?,
            Some(s) => dec.add_recovery_shard(i - k, s).map_err(coding)?,
            None => {}
        }
    }
    let out = dec.decode().map_err(coding)?;
    Ok(out
        .restored_original_iter()
        .map(|(i, s)| (i, s.to_vec()))
        .collect())
}

#[cfg(test)]
mod tests;
