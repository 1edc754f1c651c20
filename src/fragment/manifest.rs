//! The manifest of a stored file: everything needed to fetch it back and to
//! prove the result is the file that was stored.
//!
//! Byte form: one format-version byte ([`MANIFEST_VERSION`]) followed by the
//! postcard encoding of [`Manifest`]. The manifest is itself stored as a
//! fragment, so a file's id is the id of its manifest bytes.

use super::{FragmentId, FragmentSize, HashAlgo};
use crate::redundancy::{NodeId, Redundancy};
use serde::{Deserialize, Serialize};

/// Version byte that prefixes every encoded manifest.
pub const MANIFEST_VERSION: u8 = 1;

/// One fragment of a file: its id, its length and the peers it was placed on
/// (closest first, as they were written). Under `rs:K+M` redundancy the id
/// is that of the fragment's stripe (`erasure::Stripe`, which names the
/// fragment's bytes and its shards) and the holders are the K+M shard
/// holders in shard order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FragmentEntry {
    pub id: FragmentId,
    pub len: u32,
    pub holders: Vec<NodeId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The file name given at put time (no directories).
    pub name: String,
    /// Total size in bytes.
    pub size: u64,
    pub fragment_size: FragmentSize,
    /// Algorithm of the fragment ids.
    pub hash_algo: HashAlgo,
    /// SHA3-256 of the whole file, or [`NO_FILE_HASH`] when the writer did
    /// not see the whole content (a version made by rewriting part of a
    /// file in place keeps the unchanged fragments without reading them).
    /// The content is pinned either way: every fragment is verified against
    /// its id, and the manifest's own id covers the ordered ids.
    pub file_sha3: [u8; 32],
    pub redundancy: Redundancy,
    /// Fragments in file order.
    pub fragments: Vec<FragmentEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is empty")]
    Empty,
    #[error("manifest format version {0} is not supported (this build reads version {MANIFEST_VERSION})")]
    Version(u8),
    #[error("manifest is malformed: {0}")]
    Malformed(String),
}

/// `file_sha3` of a manifest whose writer did not hash the whole file.
pub const NO_FILE_HASH: [u8; 32] = [0; 32];

/// The most fragments a manifest lists, whatever its holders.
pub const MAX_FRAGMENTS: u64 = 1 << 16;

/// Encoded bytes of one [`FragmentEntry`] with `holders` holders, at most:
/// id (algorithm + digest), length, holder count, and per holder a length
/// and the bytes of a peer id (an inlined key: 44 bytes at most).
const fn entry_bound(holders: u64) -> u64 {
    1 + 32 + 5 + 1 + holders * (1 + 44)
}

/// Encoded bytes of a manifest besides its fragments, at most (name of 255
/// bytes, size, fragment size, hashes, redundancy, counts).
const HEAD_BOUND: u64 = 1024;

impl Manifest {
    /// Whether `file_sha3` was recorded (readers of the whole file check it).
    pub fn has_file_hash(&self) -> bool {
        self.file_sha3 != NO_FILE_HASH
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![MANIFEST_VERSION];
        // Serialising plain data into a Vec cannot fail.
        out.extend(postcard::to_stdvec(self).expect("manifest serialisation"));
        out
    }

    /// Decodes and checks the internal consistency of a manifest.
    pub fn decode(bytes: &[u8]) -> Result<Self, ManifestError> {
        let (&version, body) = bytes.split_first().ok_or(ManifestError::Empty)?;
        if version != MANIFEST_VERSION {
            return Err(ManifestError::Version(version));
        }
        let m: Manifest =
            postcard::from_bytes(body).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        m.check()?;
        Ok(m)
    }

    /// The id under which this manifest is stored.
    pub fn id(&self) -> FragmentId {
        FragmentId::of(HashAlgo::Sha3_256, &self.encode())
    }

    /// Whether the manifest is well formed (what [`Self::decode`] checks
    /// after parsing).
    pub fn check(&self) -> Result<(), ManifestError> {
        let bad = |s: String| Err(ManifestError::Malformed(s));
        let expected = self.fragment_size.count(self.size);
        if self.fragments.len() as u64 != expected {
            return bad(format!(
                "{} fragments for {} bytes, expected {expected}",
                self.fragments.len(),
                self.size
            ));
        }
        self.redundancy.check().or_else(|e| bad(e.to_string()))?;
        for (i, f) in self.fragments.iter().enumerate() {
            if let Redundancy::ReedSolomon { .. } = self.redundancy {
                let n = self.redundancy.peers_needed();
                if f.holders.len() != n {
                    return bad(format!(
                        "fragment {i} names {} shard holders, {} expected",
                        f.holders.len(),
                        n
                    ));
                }
            }
            let want = self.fragment_size.len_of(self.size, i as u64);
            if f.len != want {
                return bad(format!(
                    "fragment {i} has length {}, expected {want}",
                    f.len
                ));
            }
            if f.id.algo() != self.hash_algo {
                return bad(format!(
                    "fragment {i} uses {}, manifest says {}",
                    f.id.algo(),
                    self.hash_algo
                ));
            }
        }
        if self.name.contains('/') || self.name.len() > 255 {
            return bad("file name contains '/' or is over 255 bytes".into());
        }
        Ok(())
    }

    /// The most fragments a manifest may list when each has up to
    /// `holders` holders: a power of two (at most [`MAX_FRAGMENTS`]) such
    /// that the encoded manifest still fits in one fragment, since a
    /// manifest is stored as one.
    pub fn max_fragments(holders: usize) -> u64 {
        let fits =
            |n: u64| n * entry_bound(holders as u64) + HEAD_BOUND <= FragmentSize::MAX as u64;
        let mut n = MAX_FRAGMENTS;
        while n > 1 && !fits(n) {
            n /= 2;
        }
        n
    }

    /// The largest file a manifest describes with fragments of `fsz` bytes
    /// and up to `holders` holders each.
    pub fn max_file_size(fsz: FragmentSize, holders: usize) -> u64 {
        Self::max_fragments(holders) * u64::from(fsz.get())
    }

    /// Every distinct holder named in the manifest.
    /// Whether `other` holds the same bytes: the same size and the same
    /// fragments in the same order.
    pub fn same_bytes(&self, other: &Manifest) -> bool {
        self.size == other.size
            && self.fragments.len() == other.fragments.len()
            && self
                .fragments
                .iter()
                .zip(&other.fragments)
                .all(|(a, b)| a.id == b.id)
    }

    /// Whether `other` describes the same bytes, possibly stored
    /// elsewhere (other holders) or otherwise (another redundancy, so
    /// other entry ids): the same name, size, fragment size, algorithm,
    /// whole-file hash and fragment lengths, and, under the same
    /// redundancy, the same entry ids.
    pub fn same_content(&self, other: &Manifest) -> bool {
        let ids = self.redundancy != other.redundancy || self.same_bytes(other);
        ids && self.name == other.name
            && self.size == other.size
            && self.fragment_size == other.fragment_size
            && self.hash_algo == other.hash_algo
            && self.file_sha3 == other.file_sha3
            && self.fragments.len() == other.fragments.len()
            && self
                .fragments
                .iter()
                .zip(&other.fragments)
                .all(|(a, b)| a.len == b.len)
    }

    /// An empty file shaped like this one (fragment size, algorithm,
    /// redundancy, name).
    pub fn emptied(&self) -> Manifest {
        Manifest {
            size: 0,
            file_sha3: NO_FILE_HASH,
            fragments: Vec::new(),
            ..self.clone()
        }
    }

    pub fn holders(&self) -> Vec<NodeId> {
        let mut all: Vec<NodeId> = self
            .fragments
            .iter()
            .flat_map(|f| f.holders.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redundancy::Replicas;

    pub(crate) fn sample() -> Manifest {
        let fs = FragmentSize::new(65536).unwrap();
        let a = FragmentId::of(HashAlgo::Sha3_256, b"a");
        let b = FragmentId::of(HashAlgo::Sha3_256, b"b");
        Manifest {
            name: "hello.txt".into(),
            size: 65537,
            fragment_size: fs,
            hash_algo: HashAlgo::Sha3_256,
            file_sha3: [7; 32],
            redundancy: Redundancy::Replicas(Replicas::new(2).unwrap()),
            fragments: vec![
                FragmentEntry {
                    id: a,
                    len: 65536,
                    holders: vec![NodeId(vec![1, 2]), NodeId(vec![3])],
                },
                FragmentEntry {
                    id: b,
                    len: 1,
                    holders: vec![NodeId(vec![3])],
                },
            ],
        }
    }

    #[test]
    fn t10_round_trip() {
        let m = sample();
        assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
        assert_eq!(m.holders().len(), 2);
    }

    /// The byte form is a format: changing it must be deliberate. This pins
    /// the encoding of a sample manifest against committed bytes.
    #[test]
    fn t10_encoding_is_pinned() {
        let hex = hex::encode(sample().encode());
        assert_eq!(hex, include_str!("../../tests/data/manifest-v1.hex").trim());
    }

    /// An rs manifest names stripes, one holder per shard; the redundancy
    /// and the holder count are checked on decode.
    #[test]
    fn t10_reed_solomon_manifests_round_trip_and_are_checked() {
        let mut m = sample();
        m.redundancy = Redundancy::ReedSolomon { data: 2, parity: 1 };
        for f in &mut m.fragments {
            f.holders = (1..=3u8).map(|n| NodeId(vec![n])).collect();
        }
        assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
        // The variant appended to `Redundancy` leaves index 0 as it was.
        assert_eq!(
            sample().encode(),
            Manifest::decode(&sample().encode()).unwrap().encode()
        );
        let mut short = m.clone();
        short.fragments[0].holders.pop();
        assert!(matches!(
            Manifest::decode(&short.encode()),
            Err(ManifestError::Malformed(_))
        ));
        let mut wide = m.clone();
        wide.redundancy = Redundancy::ReedSolomon { data: 0, parity: 3 };
        assert!(matches!(
            Manifest::decode(&wide.encode()),
            Err(ManifestError::Malformed(_))
        ));
    }

    #[test]
    fn t20_inconsistent_manifests_are_rejected() {
        let mut m = sample();
        m.size = 10;
        assert!(matches!(
            Manifest::decode(&m.encode()),
            Err(ManifestError::Malformed(_))
        ));
        let mut m = sample();
        m.fragments[1].len = 2;
        assert!(matches!(
            Manifest::decode(&m.encode()),
            Err(ManifestError::Malformed(_))
        ));
        let mut bytes = sample().encode();
        bytes[0] = 9;
        assert!(matches!(
            Manifest::decode(&bytes),
            Err(ManifestError::Version(9))
        ));
        assert!(matches!(Manifest::decode(&[]), Err(ManifestError::Empty)));
        assert!(matches!(
            Manifest::decode(&[1, 0xff, 0xff]),
            Err(ManifestError::Malformed(_))
        ));
    }

    /// The largest manifest [`Manifest::max_fragments`] allows, every
    /// holder a peer id of the longest kind, still fits in one fragment.
    #[test]
    fn t30_the_largest_manifest_fits_in_a_fragment() {
        assert_eq!(Manifest::max_fragments(3), MAX_FRAGMENTS);
        assert_eq!(Manifest::max_fragments(Replicas::MAX as usize), 1 << 14);
        let fs = FragmentSize::new(FragmentSize::MAX).unwrap();
        assert_eq!(
            Manifest::max_file_size(fs, 3),
            MAX_FRAGMENTS * u64::from(FragmentSize::MAX)
        );
        for holders in [1, 3, 5, Replicas::MAX as usize] {
            let n = Manifest::max_fragments(holders);
            let entry = FragmentEntry {
                id: FragmentId::of(HashAlgo::Sha3_256, b"x"),
                len: FragmentSize::MAX,
                holders: vec![NodeId(vec![0xff; 44]); holders],
            };
            let m = Manifest {
                name: "n".repeat(255),
                size: n * u64::from(FragmentSize::MAX),
                fragment_size: fs,
                hash_algo: HashAlgo::Sha3_256,
                file_sha3: [7; 32],
                redundancy: Redundancy::Replicas(Replicas::new(holders as u8).unwrap()),
                fragments: vec![entry; n as usize],
            };
            let len = m.encode().len();
            assert!(
                len <= FragmentSize::MAX as usize,
                "{holders} holders: {n} fragments encode to {len} bytes"
            );
        }
    }
}
