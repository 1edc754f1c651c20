//! Answers from what the mount remembers of the namespace
//! (`crate::meta_cache`), given without waiting: a callback that finds
//! its answer here replies at once instead of going through a task. Only
//! while nothing is shared on the network (`Guard::nothing_shared_now`):
//! then a look needs no group check, names and sizes are not sealed.

use super::Core;
use fragfs::meta::{Attr, Ino, Xattrs};
use std::sync::{atomic::Ordering, Arc};

impl Core {
    /// [`Core::getattr`], if remembered.
    pub fn getattr_now(&self, ino: Ino) -> Option<Attr> {
        if !self.guard.nothing_shared_now() {
            return None;
        }
        let a = self.meta_cache.attr(self.saves.target(ino))?;
        self.remember(&a);
        Some(self.overlay(a))
    }

    /// [`Core::lookup`], if remembered.
    pub fn lookup_now(&self, parent: Ino, name: &str) -> Option<Attr> {
        if !self.guard.nothing_shared_now() {
            return None;
        }
        let a = self.meta_cache.entry(parent, name)?;
        self.counters.lookups.fetch_add(1, Ordering::Relaxed);
        Some(self.overlay(a))
    }

    /// Whether `ino` is known to have no `security.capability` (an inode
    /// this node just created).
    pub fn uncapped_now(&self, ino: Ino) -> bool {
        self.guard.nothing_shared_now() && self.meta_cache.uncapped(ino)
    }

    /// The extended attributes of `ino`, if remembered.
    pub fn xattrs_now(&self, ino: Ino) -> Option<Arc<Xattrs>> {
        if !self.guard.nothing_shared_now() {
            return None;
        }
        self.meta_cache.xattrs(ino)
    }
}
