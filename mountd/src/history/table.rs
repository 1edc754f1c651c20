//! The history tree's inode table: virtual inode numbers for the nodes the
//! kernel has been shown, and what each stands for.
//!
//! Numbers have the top bit set ([`VIRTUAL`]); the namespace numbers its
//! inodes from 1 upward and never reaches that range. A node keeps its
//! number for as long as it stays in the table: looking the same node up
//! again (same kind, same real inode, same version) answers the same
//! number.
//!
//! **Bounded, never reused.** The table holds at most [`CAPACITY`] nodes and
//! drops the least recently used one when full. A dropped number is never
//! handed out again (a 63-bit counter does not run out): a kernel that
//! still holds it gets `ESTALE`, never another node's bytes, and finds the
//! node again under a fresh number by name. The kernel's `forget` is not
//! followed: plain `readdir` shows entries without a lookup count, so a
//! table kept by lookup counts alone would still need a cap.
//!
//! Lock: one std mutex around the table, held for one map operation.

use fragfs::meta::{Attr, Ino};
use lru::LruCache;
use std::{collections::HashMap, num::NonZeroUsize, sync::Mutex};

/// The bit every virtual inode number has.
pub const VIRTUAL: u64 = 1 << 63;
/// `MOUNT/.fragfs`.
pub const META_INO: u64 = VIRTUAL | 1;
/// `MOUNT/.fragfs/history`: the history of the root directory.
pub const HISTORY_INO: u64 = VIRTUAL | 2;
/// Nodes kept at most (each some 200 bytes).
pub const CAPACITY: usize = 16_384;

/// What a virtual node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// `.fragfs` itself.
    Meta,
    /// The history of a real directory: its entries, each a history node.
    Dir(Ino),
    /// The history of a real regular file: one entry per version.
    File(Ino),
    /// Version `n` of a real regular file: its bytes.
    Version(Ino, u64),
}

/// A node of the tree as the kernel was shown it.
#[derive(Clone, Debug)]
pub struct Node {
    pub key: Key,
    /// The namespace path of the real inode when the node was last looked
    /// up (`""` for the root directory).
    pub path: String,
    /// The attributes given to the kernel (virtual number included).
    pub attr: Attr,
}

struct Inner {
    nodes: LruCache<u64, Node>,
    numbers: HashMap<Key, u64>,
    next: u64,
}

pub struct Table {
    inner: Mutex<Inner>,
}

impl Default for Table {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl Table {
    pub fn with_capacity(cap: usize) -> Self {
        let cap = NonZeroUsize::new(cap).unwrap_or(NonZeroUsize::MIN);
        Table {
            inner: Mutex::new(Inner {
                nodes: LruCache::new(cap),
                numbers: HashMap::new(),
                // 1 and 2 are `.fragfs` and `.fragfs/history`.
                next: 3,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The number of `key` (the one it already has, or a new one), with its
    /// path and attributes (`attr.ino` is set to the number) recorded.
    pub fn enter(&self, key: Key, path: String, mut attr: Attr) -> Attr {
        let fixed = match key {
            Key::Meta => Some(META_INO),
            Key::Dir(fragfs::meta::ROOT) => Some(HISTORY_INO),
            _ => None,
        };
        let mut t = self.lock();
        let ino = match fixed.or_else(|| t.numbers.get(&key).copied()) {
            Some(ino) => ino,
            None => {
                let ino = VIRTUAL | t.next;
                t.next += 1;
                t.numbers.insert(key, ino);
                ino
            }
        };
        attr.ino = ino;
        if fixed.is_none() {
            let node = Node {
                key,
                path,
                attr: attr.clone(),
            };
            if let Some((old, gone)) = t.nodes.push(ino, node) {
                if old != ino {
                    t.numbers.remove(&gone.key);
                }
            }
        }
        attr
    }

    /// The node numbered `ino`, if the table still has it. The two fixed
    /// nodes are not kept here (see [`super::History::node`]).
    pub fn get(&self, ino: u64) -> Option<Node> {
        self.lock().nodes.get(&ino).cloned()
    }

    pub fn len(&self) -> usize {
        self.lock().nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixed_placeholder as attr;
    use super::*;

    #[test]
    fn t10_same_key_same_number_until_evicted_then_never_reused() {
        let t = Table::with_capacity(2);
        let a = t.enter(Key::File(5), "/a".into(), attr()).ino;
        assert!(a & VIRTUAL != 0);
        assert_eq!(t.enter(Key::File(5), "/b".into(), attr()).ino, a);
        assert_eq!(t.get(a).map(|n| n.path), Some("/b".to_string()));
        let v = t.enter(Key::Version(5, 1), "/b".into(), attr()).ino;
        assert_ne!(v, a);
        // A third node pushes out the least recently used (File(5)).
        let w = t.enter(Key::Version(5, 2), "/b".into(), attr()).ino;
        assert!(t.get(a).is_none(), "evicted");
        assert_eq!(t.len(), 2);
        let again = t.enter(Key::File(5), "/b".into(), attr()).ino;
        assert!(
            ![a, v, w].contains(&again),
            "a dropped number is not reused"
        );
    }

    #[test]
    fn t20_fixed_nodes_keep_their_numbers_outside_the_table() {
        let t = Table::with_capacity(1);
        assert_eq!(t.enter(Key::Meta, String::new(), attr()).ino, META_INO);
        let root = t.enter(Key::Dir(fragfs::meta::ROOT), String::new(), attr());
        assert_eq!(root.ino, HISTORY_INO);
        assert!(t.is_empty());
    }
}
