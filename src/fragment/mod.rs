//! Fragments: cutting a byte stream into fixed-size pieces and naming each
//! piece by the hash of its bytes.
//!
//! Owns [`FragmentId`] (an algorithm-tagged digest, laid out like a multihash),
//! [`FragmentSize`] (the validated cut size) and the [`Manifest`] of a file.
//!
//! **Architecture invariant:** this module does no IO and knows neither tokio
//! nor libp2p. It is pure data and hashing.

mod id;
mod manifest;

pub use id::{FileHasher, FragmentId, HashAlgo, ParseIdError};
pub use manifest::{
    FragmentEntry, Manifest, ManifestError, MANIFEST_VERSION, MAX_FRAGMENTS, NO_FILE_HASH,
};

use serde::{Deserialize, Serialize};
use std::fmt;

/// The size fragments are cut to. Its constructor is the check: only sizes
/// from [`FragmentSize::MIN`] to [`FragmentSize::MAX`] exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct FragmentSize(u32);

impl FragmentSize {
    /// 64 KiB.
    pub const MIN: u32 = 64 * 1024;
    /// 16 MiB.
    pub const MAX: u32 = 16 * 1024 * 1024;
    /// 1 MiB, the default.
    pub const DEFAULT: FragmentSize = FragmentSize(1024 * 1024);

    pub fn new(bytes: u32) -> Result<Self, InvalidFragmentSize> {
        if (Self::MIN..=Self::MAX).contains(&bytes) {
            Ok(FragmentSize(bytes))
        } else {
            Err(InvalidFragmentSize(bytes as u64))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Number of fragments a file of `file_size` bytes is cut into
    /// (zero for an empty file).
    pub fn count(self, file_size: u64) -> u64 {
        file_size.div_ceil(self.0 as u64)
    }

    /// Byte length of fragment `index` of a file of `file_size` bytes.
    pub fn len_of(self, file_size: u64, index: u64) -> u32 {
        let start = index * self.0 as u64;
        (file_size.saturating_sub(start)).min(self.0 as u64) as u32
    }
}

impl Default for FragmentSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u32> for FragmentSize {
    type Error = InvalidFragmentSize;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        FragmentSize::new(v)
    }
}

impl From<FragmentSize> for u32 {
    fn from(v: FragmentSize) -> u32 {
        v.0
    }
}

impl fmt::Display for FragmentSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", crate::units::format_bytes(self.0 as u64))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("fragment size {0} is out of range (64 KiB to 16 MiB)")]
pub struct InvalidFragmentSize(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_sizes_are_checked() {
        assert!(FragmentSize::new(64 * 1024).is_ok());
        assert!(FragmentSize::new(16 * 1024 * 1024).is_ok());
        assert_eq!(
            FragmentSize::new(64 * 1024 - 1),
            Err(InvalidFragmentSize(65535))
        );
        assert!(FragmentSize::new(16 * 1024 * 1024 + 1).is_err());
    }

    #[test]
    fn t10_counts_and_lengths_at_boundaries() {
        let f = FragmentSize::new(65536).unwrap();
        assert_eq!(f.count(0), 0);
        assert_eq!(f.count(1), 1);
        assert_eq!(f.count(65535), 1);
        assert_eq!(f.count(65536), 1);
        assert_eq!(f.count(65537), 2);
        assert_eq!(f.len_of(65537, 0), 65536);
        assert_eq!(f.len_of(65537, 1), 1);
        assert_eq!(f.len_of(65536, 0), 65536);
    }
}
