//! Fragment ids: the hash of a fragment's stored bytes, tagged with the
//! algorithm that produced it.
//!
//! The byte form is a multihash (`<code> <length> <digest>`): `0x16 0x20 …`
//! for SHA3-256 and `0x1e 0x20 …` for BLAKE3, so an id names its algorithm and
//! any reader can verify bytes against it without outside context.

use fragfs_hash::Sha3Hasher;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// The hash algorithm of a fragment id. SHA3-256 is the default and works
/// everywhere; BLAKE3 is a faster choice a volume may make.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum HashAlgo {
    #[default]
    Sha3_256,
    Blake3,
}

impl HashAlgo {
    /// The multihash code of the algorithm.
    pub const fn code(self) -> u8 {
        match self {
            HashAlgo::Sha3_256 => 0x16,
            HashAlgo::Blake3 => 0x1e,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0x16 => Some(HashAlgo::Sha3_256),
            0x1e => Some(HashAlgo::Blake3),
            _ => None,
        }
    }

    pub fn digest(self, data: &[u8]) -> [u8; 32] {
        match self {
            HashAlgo::Sha3_256 => fragfs_hash::sha3_256(data),
            HashAlgo::Blake3 => fragfs_hash::blake3(data),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Sha3_256 => "sha3-256",
            HashAlgo::Blake3 => "blake3",
        }
    }
}

impl FromStr for HashAlgo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "sha3" | "sha3-256" => Ok(HashAlgo::Sha3_256),
            "blake3" => Ok(HashAlgo::Blake3),
            other => Err(format!(
                "unknown hash algorithm '{other}' (use sha3-256 or blake3)"
            )),
        }
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name of a fragment: the digest of its bytes as stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FragmentId {
    algo: HashAlgo,
    digest: [u8; 32],
}

/// Length of [`FragmentId::to_bytes`].
pub const ID_BYTES: usize = 34;

impl FragmentId {
    /// Hashes `data` with `algo`.
    pub fn of(algo: HashAlgo, data: &[u8]) -> Self {
        FragmentId {
            algo,
            digest: algo.digest(data),
        }
    }

    pub fn from_parts(algo: HashAlgo, digest: [u8; 32]) -> Self {
        FragmentId { algo, digest }
    }

    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// True when `data` hashes to this id.
    pub fn matches(&self, data: &[u8]) -> bool {
        self.algo.digest(data) == self.digest
    }

    /// The multihash bytes.
    pub fn to_bytes(&self) -> [u8; ID_BYTES] {
        let mut out = [0u8; ID_BYTES];
        out[0] = self.algo.code();
        out[1] = 32;
        out[2..].copy_from_slice(&self.digest);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseIdError> {
        if bytes.len() != ID_BYTES || bytes[1] != 32 {
            return Err(ParseIdError::Length);
        }
        let algo = HashAlgo::from_code(bytes[0]).ok_or(ParseIdError::Algorithm(bytes[0]))?;
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&bytes[2..]);
        Ok(FragmentId { algo, digest })
    }

    /// The lowercase hex of the multihash bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// The first characters of the hex form, for humans.
    pub fn short(&self) -> String {
        self.to_hex()[4..16].to_string()
    }
}

impl fmt::Display for FragmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for FragmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FragmentId({})", self.to_hex())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    #[error("not a fragment id: expected 68 hex characters")]
    Length,
    #[error("not a fragment id: it is not hexadecimal")]
    Hex,
    #[error("not a fragment id: unknown hash algorithm code {0:#04x}")]
    Algorithm(u8),
}

impl FromStr for FragmentId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, ParseIdError> {
        let s = s.trim();
        if s.len() != ID_BYTES * 2 {
            return Err(ParseIdError::Length);
        }
        let bytes = hex::decode(s).map_err(|_| ParseIdError::Hex)?;
        FragmentId::from_bytes(&bytes)
    }
}

/// Incremental SHA3-256 of a whole file, fed in order.
#[derive(Default, Clone)]
pub struct FileHasher(Sha3Hasher);

impl FileHasher {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    pub fn finish(self) -> [u8; 32] {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_sha3_matches_the_standard_vector() {
        // SHA3-256("abc") from FIPS 202.
        let id = FragmentId::of(HashAlgo::Sha3_256, b"abc");
        assert_eq!(
            hex::encode(id.digest()),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        assert!(id.to_hex().starts_with("1620"));
    }

    #[test]
    fn t10_ids_round_trip_through_text_and_bytes() {
        for algo in [HashAlgo::Sha3_256, HashAlgo::Blake3] {
            let id = FragmentId::of(algo, b"hello");
            assert_eq!(id.to_hex().parse::<FragmentId>().unwrap(), id);
            assert_eq!(FragmentId::from_bytes(&id.to_bytes()).unwrap(), id);
            assert!(id.matches(b"hello"));
            assert!(!id.matches(b"hellp"));
        }
    }

    #[test]
    fn t20_bad_text_is_rejected() {
        assert_eq!("abc".parse::<FragmentId>(), Err(ParseIdError::Length));
        let mut s = FragmentId::of(HashAlgo::Sha3_256, b"x").to_hex();
        s.replace_range(0..2, "99");
        assert_eq!(s.parse::<FragmentId>(), Err(ParseIdError::Algorithm(0x99)));
        s.replace_range(0..2, "zz");
        assert_eq!(s.parse::<FragmentId>(), Err(ParseIdError::Hex));
    }

    #[test]
    fn t10_file_hasher_equals_one_shot() {
        let mut h = FileHasher::new();
        h.update(b"ab");
        h.update(b"c");
        assert_eq!(h.finish(), HashAlgo::Sha3_256.digest(b"abc"));
    }
}
