//! Sealed fragments: a client given a file's content key
//! ([`Client::sealed`]) seals each fragment it stores with `fragfs-seal`
//! (AES-256-GCM-SIV, deterministic per key) before hashing and placing it,
//! and opens each fragment it fetches after checking it against its id.
//! So a fragment's id is the hash of its ciphertext (storage peers verify
//! what they hold without any key), an unchanged fragment keeps its id
//! from version to version. Before sealing, a fragment is padded with
//! zeros to `fragfs_seal::padded_len` of its length, so what peers hold
//! shows only a rounded length (`trust::sizes`: the namespace's manifest
//! holds the padded lengths, a member's mount the exact ones). A fragment
//! opens to its exact length or to that length padded (fragments sealed
//! before padding, and manifests in either form), and is cut to the
//! manifest's length.

use super::{blocking, Client, ClientError};
use crate::fragment::FragmentEntry;
use bytes::Bytes;
use fragfs_seal::{
    open_in_place, padded_len, seal_fragment, ContentKey, SealError, SEALED_OVERHEAD,
};
use std::sync::Arc;

impl Client {
    /// This client sealing with `key` (None: storing plaintext).
    pub fn sealed(&self, key: Option<Arc<ContentKey>>) -> Client {
        Client {
            seal: key,
            ..self.clone()
        }
    }

    /// Whether this client seals what it stores.
    pub fn is_sealed(&self) -> bool {
        self.seal.is_some()
    }

    /// `data` as it is stored: sealed under the client's key, if any.
    pub(super) async fn seal_bytes(&self, data: Bytes) -> Result<Bytes, ClientError> {
        let Some(key) = self.seal.clone() else {
            return Ok(data);
        };
        let sealed = blocking(move || seal_padded(&key, &data)).await?;
        sealed
            .map(Bytes::from)
            .map_err(|e| ClientError::Sealed(e.to_string()))
    }

    /// The plaintext of entry `f` from its stored bytes `data` (already
    /// checked against `f.id`), of the length the manifest says.
    pub(super) async fn open_bytes(
        &self,
        f: &FragmentEntry,
        data: Bytes,
    ) -> Result<Bytes, ClientError> {
        let Some(key) = self.seal.clone() else {
            return Ok(data);
        };
        let plain = blocking(move || open_where_it_lies(&key, data)).await?;
        let plain = plain.map_err(|e| ClientError::Sealed(format!("fragment {}: {e}", f.id)))?;
        let n = plain.len() as u64;
        if n != u64::from(f.len) && n != padded_len(f.len.into()) {
            return Err(ClientError::Sealed(format!(
                "fragment {} opens to {n} bytes, the manifest says {}",
                f.id, f.len
            )));
        }
        Ok(plain.slice(..f.len as usize))
    }

    /// Whether `stored` bytes can be what entry `f` stores: its length, or
    /// sealed, its length (exact or padded) and the seal's overhead.
    pub(super) fn stored_len_fits(&self, f: &FragmentEntry, stored: u64) -> bool {
        match self.seal {
            Some(_) => [u64::from(f.len), padded_len(f.len.into())]
                .iter()
                .any(|l| l + SEALED_OVERHEAD as u64 == stored),
            None => stored == u64::from(f.len),
        }
    }
}

/// `data` padded with zeros to its padded length and sealed under `key`.
fn seal_padded(key: &ContentKey, data: &[u8]) -> Result<Vec<u8>, SealError> {
    let padded = padded_len(data.len() as u64) as usize;
    if padded == data.len() {
        return seal_fragment(key, data);
    }
    let mut buf = Vec::with_capacity(padded);
    buf.extend_from_slice(data);
    buf.resize(padded, 0);
    seal_fragment(key, &buf)
}

/// Opens `data` in its own buffer (copied only when it is shared) and
/// returns the plaintext part of it: one copy fewer on every read.
fn open_where_it_lies(key: &ContentKey, data: Bytes) -> Result<Bytes, SealError> {
    let mut buf = data
        .try_into_mut()
        .unwrap_or_else(|shared| bytes::BytesMut::from(&shared[..]));
    let base = buf.as_ptr() as usize;
    let (start, len) = {
        let plain = open_in_place(key, &mut buf)?;
        (plain.as_ptr() as usize - base, plain.len())
    };
    Ok(buf.freeze().slice(start..start + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_a_fragment_opens_where_it_lies_and_an_altered_one_does_not() {
        let key = ContentKey::from_bytes([7; 32]);
        let plain: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let sealed = Bytes::from(seal_fragment(&key, &plain).unwrap());
        assert_eq!(sealed.len(), plain.len() + SEALED_OVERHEAD);
        // Shared (another handle holds it) and unique buffers alike.
        let other = sealed.clone();
        assert_eq!(open_where_it_lies(&key, sealed.clone()).unwrap(), plain);
        drop(other);
        assert_eq!(open_where_it_lies(&key, sealed.clone()).unwrap(), plain);
        let mut bad = sealed.to_vec();
        bad[100] ^= 1;
        assert!(open_where_it_lies(&key, Bytes::from(bad)).is_err());
        let wrong = ContentKey::from_bytes([8; 32]);
        assert!(open_where_it_lies(&wrong, sealed).is_err());
    }

    #[test]
    fn t10_a_short_fragment_is_padded_before_it_is_sealed() {
        let key = ContentKey::from_bytes([7; 32]);
        let plain = vec![0xabu8; 5000];
        let sealed = Bytes::from(seal_padded(&key, &plain).unwrap());
        assert_eq!(sealed.len(), 5120 + SEALED_OVERHEAD, "padded to 5120");
        let opened = open_where_it_lies(&key, sealed).unwrap();
        assert_eq!(&opened[..5000], &plain[..]);
        assert!(opened[5000..].iter().all(|b| *b == 0));
        let full = vec![1u8; 1 << 16];
        let sealed = seal_padded(&key, &full).unwrap();
        assert_eq!(sealed, seal_fragment(&key, &full).unwrap(), "no padding");
    }
}
