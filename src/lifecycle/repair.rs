//! What repair must restore when peers are gone, in which order, and the
//! manifests once it is done (pure, no IO).
//!
//! A *copy* is one holder's part of a manifest entry: a full copy under
//! `replicas:N`, shard `i` (the entry's i-th holder) under `rs:K+M`. A
//! copy on a gone peer is *lost*; [`plan`] lists each lost copy once,
//! however many versions share the entry, least redundant entry first
//! (the fewest further losses it survives: live copies - 1 for replicas,
//! live shards - K for shards). [`rehome`] writes the restored copies'
//! new holders into a manifest.

use crate::fragment::{FragmentEntry, FragmentId, Manifest};
use crate::redundancy::{NodeId, Redundancy};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Which copy of an entry: the holder it was on, and the shard number
/// under `rs:K+M` (None for a full copy).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CopyKey {
    pub id: FragmentId,
    pub lost_on: NodeId,
    pub shard: Option<usize>,
}

/// One lost copy to restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub key: CopyKey,
    pub redundancy: Redundancy,
    /// The entry as a manifest names it (holders, gone ones included).
    pub entry: FragmentEntry,
    /// Further losses the entry survives now (negative: it cannot be
    /// rebuilt from the holders the manifest names).
    pub margin: i64,
}

impl Task {
    /// Bytes that restoring the copy stores: the fragment, or one shard.
    pub fn bytes(&self) -> u64 {
        match self.redundancy {
            Redundancy::Replicas(_) => u64::from(self.entry.len),
            Redundancy::ReedSolomon { data, .. } => {
                u64::from(self.entry.len).div_ceil(u64::from(data.max(1)))
            }
        }
    }

    /// The holders of the entry that are not gone.
    pub fn live_holders(&self, gone: &HashSet<NodeId>) -> Vec<NodeId> {
        self.entry
            .holders
            .iter()
            .filter(|h| !gone.contains(h))
            .cloned()
            .collect()
    }
}

/// Further losses an entry with `live` of its holders survives.
pub fn margin(redundancy: Redundancy, live: usize) -> i64 {
    let needed = match redundancy {
        Redundancy::Replicas(_) => 1,
        Redundancy::ReedSolomon { data, .. } => i64::from(data),
    };
    live as i64 - needed
}

/// Every copy the `manifests` name on a `gone` peer, once each, least
/// redundant entry first (then by id, so the order is the same on every
/// run).
pub fn plan<'a>(
    manifests: impl IntoIterator<Item = &'a Manifest>,
    gone: &HashSet<NodeId>,
) -> Vec<Task> {
    let mut tasks: BTreeMap<CopyKey, Task> = BTreeMap::new();
    if gone.is_empty() {
        return Vec::new();
    }
    for m in manifests {
        for entry in &m.fragments {
            let live = entry.holders.iter().filter(|h| !gone.contains(h)).count();
            for (i, h) in entry.holders.iter().enumerate() {
                if !gone.contains(h) {
                    continue;
                }
                let key = CopyKey {
                    id: entry.id,
                    lost_on: h.clone(),
                    shard: matches!(m.redundancy, Redundancy::ReedSolomon { .. }).then_some(i),
                };
                tasks.entry(key.clone()).or_insert_with(|| Task {
                    key,
                    redundancy: m.redundancy,
                    entry: entry.clone(),
                    margin: margin(m.redundancy, live),
                });
            }
        }
    }
    let mut out: Vec<Task> = tasks.into_values().collect();
    // Stable: equal margins keep the key order.
    out.sort_by_key(|t| t.margin);
    out
}

/// `m` with every restored copy's holder in place of the gone one
/// (`moved`: copy → its new holder); None when nothing in it moved.
pub fn rehome(m: &Manifest, moved: &HashMap<CopyKey, NodeId>) -> Option<Manifest> {
    let coded = matches!(m.redundancy, Redundancy::ReedSolomon { .. });
    let mut out = m.clone();
    let mut changed = false;
    for entry in &mut out.fragments {
        let id = entry.id;
        for (i, h) in entry.holders.iter_mut().enumerate() {
            let key = CopyKey {
                id,
                lost_on: h.clone(),
                shard: coded.then_some(i),
            };
            if let Some(to) = moved.get(&key) {
                *h = to.clone();
                changed = true;
            }
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fragment::{FragmentSize, HashAlgo};

    fn node(b: u8) -> NodeId {
        NodeId(vec![b])
    }

    fn entry(tag: &[u8], holders: &[u8]) -> FragmentEntry {
        FragmentEntry {
            id: FragmentId::of(HashAlgo::Sha3_256, tag),
            len: 10,
            holders: holders.iter().map(|b| node(*b)).collect(),
        }
    }

    fn manifest(redundancy: Redundancy, fragments: Vec<FragmentEntry>) -> Manifest {
        Manifest {
            name: "f".into(),
            size: 10 * fragments.len() as u64,
            fragment_size: FragmentSize::new(65_536).unwrap(),
            hash_algo: HashAlgo::Sha3_256,
            file_sha3: [0; 32],
            redundancy,
            fragments,
        }
    }

    fn gone(nodes: &[u8]) -> HashSet<NodeId> {
        nodes.iter().map(|b| node(*b)).collect()
    }

    #[test]
    fn t10_lost_copies_are_listed_once_least_redundant_first() {
        let r3 = Redundancy::Replicas(crate::redundancy::Replicas::new(3).unwrap());
        let rs = Redundancy::ReedSolomon { data: 3, parity: 2 };
        let a = manifest(r3, vec![entry(b"a", &[1, 2, 3]), entry(b"b", &[1, 4, 5])]);
        let again = a.clone();
        let c = manifest(rs, vec![entry(b"c", &[1, 2, 6, 7, 8])]);
        let tasks = plan([&a, &again, &c], &gone(&[1, 2]));
        let got: Vec<(&[u8], Option<usize>, i64)> = tasks
            .iter()
            .map(|t| (&t.key.lost_on.0[..], t.key.shard, t.margin))
            .collect();
        // c keeps 3 of 5 shards (margin 0), a keeps 1 copy (0), b 2 (1).
        assert_eq!(tasks.len(), 5, "{got:?}");
        assert!(tasks[..4].iter().all(|t| t.margin == 0), "{got:?}");
        assert_eq!(tasks[4].margin, 1);
        assert_eq!(tasks[4].entry.id, FragmentId::of(HashAlgo::Sha3_256, b"b"));
        let shards: Vec<Option<usize>> = tasks
            .iter()
            .filter(|t| t.key.id == c.fragments[0].id)
            .map(|t| t.key.shard)
            .collect();
        assert_eq!(shards.len(), 2);
        assert!(shards.contains(&Some(0)) && shards.contains(&Some(1)));
        assert_eq!(
            tasks
                .iter()
                .find(|t| t.key.shard == Some(0))
                .unwrap()
                .bytes(),
            4
        );
        assert!(plan([&a], &gone(&[])).is_empty());
        assert!(plan([&a], &gone(&[9])).is_empty());
    }

    #[test]
    fn t10_rehome_replaces_exactly_the_restored_copies() {
        let rs = Redundancy::ReedSolomon { data: 1, parity: 2 };
        let m = manifest(rs, vec![entry(b"c", &[1, 1, 2])]);
        let id = m.fragments[0].id;
        let moved: HashMap<CopyKey, NodeId> = [(
            CopyKey {
                id,
                lost_on: node(1),
                shard: Some(1),
            },
            node(9),
        )]
        .into();
        let out = rehome(&m, &moved).expect("shard 1 moved");
        assert_eq!(out.fragments[0].holders, vec![node(1), node(9), node(2)]);
        assert!(m.same_content(&out));
        assert_eq!(rehome(&out, &moved), None, "nothing left to move");
    }
}
