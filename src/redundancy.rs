//! Redundancy: how many copies of a fragment exist, how many must be written
//! before a put counts, and which peers hold them.
//!
//! Placement is deterministic: candidates are ranked by Kademlia (XOR)
//! distance between their DHT key and the fragment's DHT key, so every writer
//! picks the same peers for the same fragment and load spreads evenly.
//!
//! **Architecture invariant:** pure logic. No IO, no tokio, no libp2p: peers
//! appear here as opaque [`NodeId`] bytes with precomputed 32-byte DHT keys.

use serde::{Deserialize, Serialize};
use std::{fmt, num::NonZeroU8};

/// An opaque peer identity (the bytes of a libp2p `PeerId`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(#[serde(with = "serde_bytes_vec")] pub Vec<u8>);

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", hex::encode(&self.0))
    }
}

/// Serialises a `Vec<u8>` as one byte string rather than a sequence.
mod serde_bytes_vec {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let b: &[u8] = <&[u8]>::deserialize(d)?;
        Ok(b.to_vec())
    }
}

/// Number of full copies of each fragment. At least one, at most 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Replicas(NonZeroU8);

impl Replicas {
    pub const MAX: u8 = 16;
    pub const DEFAULT: Replicas = Replicas(NonZeroU8::new(3).unwrap());

    pub fn new(n: u8) -> Result<Self, RedundancyError> {
        match NonZeroU8::new(n) {
            Some(v) if n <= Self::MAX => Ok(Replicas(v)),
            _ => Err(RedundancyError::Replicas(n)),
        }
    }

    pub fn get(self) -> usize {
        self.0.get() as usize
    }
}

impl Default for Replicas {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u8> for Replicas {
    type Error = RedundancyError;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Replicas::new(v)
    }
}

impl From<Replicas> for u8 {
    fn from(r: Replicas) -> u8 {
        r.0.get()
    }
}

/// How a fragment is made redundant. Append-only: the variant index is part
/// of the manifest format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Redundancy {
    /// R full copies on R distinct peers.
    Replicas(Replicas),
    /// Reed–Solomon: each fragment is cut into `data` shards and `parity`
    /// parity shards are computed, each shard on a distinct peer; any
    /// `data` of the `data + parity` shards rebuild the fragment. Built by
    /// [`Redundancy::reed_solomon`]; a decoded one is checked with
    /// [`Redundancy::check`].
    ReedSolomon { data: u8, parity: u8 },
}

impl Redundancy {
    /// The most data shards, and the most parity shards.
    pub const MAX_SHARDS: u8 = 32;
    /// The most shards of one fragment in all (data + parity).
    pub const MAX_TOTAL: u8 = 64;

    /// `rs:data+parity`, checked.
    pub fn reed_solomon(data: u8, parity: u8) -> Result<Self, RedundancyError> {
        let r = Redundancy::ReedSolomon { data, parity };
        r.check()?;
        Ok(r)
    }

    /// Whether the values are within the limits (replica counts are
    /// checked by their type).
    pub fn check(&self) -> Result<(), RedundancyError> {
        match *self {
            Redundancy::Replicas(_) => Ok(()),
            Redundancy::ReedSolomon { data, parity } => {
                let ok = |n: u8| (1..=Self::MAX_SHARDS).contains(&n);
                if ok(data) && ok(parity) && data + parity <= Self::MAX_TOTAL {
                    Ok(())
                } else {
                    Err(RedundancyError::Shards { data, parity })
                }
            }
        }
    }

    /// The distinct peers one fragment is placed on: R, or K+M.
    pub fn peers_needed(&self) -> usize {
        match *self {
            Redundancy::Replicas(r) => r.get(),
            Redundancy::ReedSolomon { data, parity } => usize::from(data) + usize::from(parity),
        }
    }
}

impl Default for Redundancy {
    fn default() -> Self {
        Redundancy::Replicas(Replicas::DEFAULT)
    }
}

impl fmt::Display for Redundancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Redundancy::Replicas(r) => write!(f, "{} replicas", r.get()),
            Redundancy::ReedSolomon { data, parity } => write!(f, "rs:{data}+{parity}"),
        }
    }
}

/// The number of copies a put must reach before it succeeds; at most the
/// replica count. `None` in configuration means "all replicas".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteQuorum(NonZeroU8);

impl WriteQuorum {
    pub fn new(n: u8, replicas: Replicas) -> Result<Self, RedundancyError> {
        match NonZeroU8::new(n) {
            Some(v) if (n as usize) <= replicas.get() => Ok(WriteQuorum(v)),
            _ => Err(RedundancyError::Quorum {
                quorum: n,
                replicas: replicas.get() as u8,
            }),
        }
    }

    pub fn all(replicas: Replicas) -> Self {
        WriteQuorum(replicas.0)
    }

    pub fn get(self) -> usize {
        self.0.get() as usize
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedundancyError {
    #[error("replica count {0} is out of range (1 to 16)")]
    Replicas(u8),
    #[error("write quorum {quorum} must be between 1 and the replica count {replicas}")]
    Quorum { quorum: u8, replicas: u8 },
    #[error(
        "rs:{data}+{parity} is out of range (data and parity shards 1 to 32, at most 64 in all)"
    )]
    Shards { data: u8, parity: u8 },
}

/// A peer that may hold fragments, with its 32-byte DHT key (the SHA-256 of
/// its peer id bytes, as Kademlia computes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub node: NodeId,
    pub key: [u8; 32],
}

/// Ranks `candidates` by XOR distance of their key to `target` (closest
/// first); ties cannot happen between distinct keys. Duplicates are removed.
pub fn rank_by_closeness(target: &[u8; 32], candidates: &[Candidate]) -> Vec<NodeId> {
    let mut ranked: Vec<([u8; 32], &NodeId)> = candidates
        .iter()
        .map(|c| {
            let mut d = [0u8; 32];
            for (i, b) in d.iter_mut().enumerate() {
                *b = c.key[i] ^ target[i];
            }
            (d, &c.node)
        })
        .collect();
    ranked.sort();
    ranked.dedup_by(|a, b| a.1 == b.1);
    ranked.into_iter().map(|(_, n)| n.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(n: u8) -> Candidate {
        let mut key = [0u8; 32];
        key[0] = n;
        Candidate {
            node: NodeId(vec![n]),
            key,
        }
    }

    #[test]
    fn t10_replicas_and_quorum_are_checked() {
        assert!(Replicas::new(0).is_err());
        assert!(Replicas::new(17).is_err());
        let r = Replicas::new(3).unwrap();
        assert!(WriteQuorum::new(4, r).is_err());
        assert!(WriteQuorum::new(0, r).is_err());
        assert_eq!(WriteQuorum::new(2, r).unwrap().get(), 2);
        assert_eq!(WriteQuorum::all(r).get(), 3);
    }

    #[test]
    fn t10_reed_solomon_is_checked_and_shown() {
        let r = Redundancy::reed_solomon(3, 2).unwrap();
        assert_eq!(r.to_string(), "rs:3+2");
        assert_eq!(r.peers_needed(), 5);
        assert!(Redundancy::reed_solomon(32, 32).is_ok());
        for (k, m) in [(0, 1), (1, 0), (33, 1), (1, 33)] {
            assert_eq!(
                Redundancy::reed_solomon(k, m),
                Err(RedundancyError::Shards { data: k, parity: m })
            );
        }
        assert!(Redundancy::ReedSolomon { data: 0, parity: 2 }
            .check()
            .is_err());
        assert_eq!(Redundancy::default().peers_needed(), 3);
    }

    #[test]
    fn t10_ranking_is_by_xor_distance() {
        let cands: Vec<_> = [0b0001u8, 0b0100, 0b0110, 0b1000]
            .iter()
            .map(|&n| cand(n))
            .collect();
        let mut target = [0u8; 32];
        target[0] = 0b0101;
        let ranked = rank_by_closeness(&target, &cands);
        // distances: 0100, 0001, 0011, 1101
        let order: Vec<u8> = ranked.iter().map(|n| n.0[0]).collect();
        assert_eq!(order, vec![0b0100, 0b0110, 0b0001, 0b1000]);
    }

    #[test]
    fn t10_ranking_is_independent_of_input_order() {
        let mut cands: Vec<_> = (0..20u8).map(cand).collect();
        let target = [7u8; 32];
        let a = rank_by_closeness(&target, &cands);
        cands.reverse();
        assert_eq!(a, rank_by_closeness(&target, &cands));
    }
}
