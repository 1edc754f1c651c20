//! What the mount remembers of the namespace's answers, so that `ls -l`,
//! `find` and `git status` do not cross to the metadata service once per
//! file: attributes by inode, entries by (directory, stored name) and
//! extended attributes by inode.
//!
//! The rule that keeps it coherent: an answer is kept only if nothing that
//! could change it happened while it was asked (the cache's epoch and the
//! volume's write count, [`Volume::writes`], did not move), and it is
//! forgotten when
//! - a change notice names its inode or entry (the invalidation task
//!   forgets here before it tells the kernel, `crate::invalidate`);
//! - this node's volume ends a change that may touch it
//!   ([`fragfs::volume::Touched`], told before the change's reply goes
//!   on, since the notice of one's own change may come after its reply):
//!   the inodes and entries it names (of a directory whose entries
//!   changed, its attributes only), and what a replaced entry named (every
//!   inode's attributes when that entry is not remembered); an inode it
//!   created is then known to have no `security.capability` (the kernel
//!   asks before every write), until anything forgets that inode;
//! - notices were missed (a reset, or the task fell behind): everything;
//! - it is older than `max_age`, a backstop should the notice feed go
//!   quiet without a reset.
//!
//! So a remembered answer can be stale only in the window the kernel's own
//! caches have: between a change committed by another node and its notice
//! here. Opening a file still asks the namespace for its head version
//! (close-to-open), and a mount without notices (`invalidate=false`)
//! remembers nothing. A std mutex, held for one map operation.

use fragfs::{
    meta::{Attr, Changes, Ino, Xattrs},
    volume::{Touched, Volume},
};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

/// Most items each map holds; past it the map starts again empty.
const MAX_ITEMS: usize = 262_144;

/// How long an answer is remembered at most by default.
pub const MAX_AGE: Duration = Duration::from_secs(30);

/// What a cache of this mount answered without asking, and what it was
/// asked for that it did not hold.
#[derive(Debug, Default)]
pub struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl std::fmt::Display for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} metadata answer(s) from cache, {} asked",
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed)
        )
    }
}

pub struct MetaCache {
    volume: Volume,
    /// None: nothing is remembered (no change notices reach this mount).
    max_age: Option<Duration>,
    inner: Mutex<Inner>,
    pub counters: Counters,
}

#[derive(Default)]
struct Inner {
    /// Moves at every forgetting.
    epoch: u64,
    attrs: HashMap<Ino, (Attr, Instant)>,
    entries: HashMap<(Ino, String), (Ino, Instant)>,
    xattrs: HashMap<Ino, (Arc<Xattrs>, Instant)>,
    /// Inodes this node created: no `security.capability` (the namespace
    /// gives a new inode none), with the entry that created them (see
    /// [`Inner::forget_noticed`]).
    uncapped: HashMap<Ino, (Created, Instant)>,
}

/// The entry that created an inode, and whether the change notice of its
/// creation was seen.
#[derive(Clone, Debug)]
struct Created {
    entry: (Ino, String),
    noticed: bool,
}

impl Inner {
    fn clear(&mut self) {
        self.epoch += 1;
        self.attrs.clear();
        self.entries.clear();
        self.xattrs.clear();
        self.uncapped.clear();
    }

    fn forget_inode(&mut self, ino: Ino) {
        self.attrs.remove(&ino);
        self.xattrs.remove(&ino);
        self.uncapped.remove(&ino);
    }

    /// See [`MetaCache::forget`]. A new inode stays without capability
    /// through the first notice that names the entry it was created as
    /// (its own creation's: nothing else can name that inode in the same
    /// change); any other notice naming it forgets that.
    fn forget_noticed(&mut self, changes: &Changes) {
        self.epoch += 1;
        for ino in &changes.inodes {
            let spared = match self.uncapped.get_mut(ino) {
                Some((c, _)) if !c.noticed && changes.entries.contains(&c.entry) => {
                    c.noticed = true;
                    true
                }
                _ => false,
            };
            self.attrs.remove(ino);
            self.xattrs.remove(ino);
            if !spared {
                self.uncapped.remove(ino);
            }
        }
        for (dir, name) in &changes.entries {
            self.entries.remove(&(*dir, name.clone()));
        }
    }

    /// See [`MetaCache::forget_own`].
    fn forget_own(&mut self, t: &Touched) {
        self.epoch += 1;
        for ino in &t.inodes {
            self.forget_inode(*ino);
        }
        for dir in &t.dirs {
            self.attrs.remove(dir);
        }
        let mut unknown = false;
        for key in &t.entries {
            let named = self.entries.remove(key).map(|(ino, _)| ino);
            match named {
                Some(ino) if t.replaced.contains(key) => self.forget_inode(ino),
                None if t.replaced.contains(key) => unknown = true,
                _ => {}
            }
        }
        if unknown {
            self.attrs.clear();
            self.xattrs.clear();
            self.uncapped.clear();
        }
        if let Some((entry, ino)) = t.created.clone() {
            let c = Created {
                entry,
                noticed: false,
            };
            keep(&mut self.uncapped, ino, c, Instant::now());
        }
    }
}

/// When a question was asked, and under which epoch: what an answer is
/// kept with ([`MetaCache::ticket`]).
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    epoch: u64,
    writes: u64,
    at: Instant,
}

/// `map`'s value for `key` if younger than `max_age`.
fn fresh<K: std::hash::Hash + Eq, V: Clone>(
    map: &HashMap<K, (V, Instant)>,
    key: &K,
    max_age: Duration,
) -> Option<V> {
    map.get(key)
        .filter(|(_, at)| at.elapsed() < max_age)
        .map(|(v, _)| v.clone())
}

/// Inserts into `map`, which starts again empty when full.
fn keep<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, (V, Instant)>, key: K, v: V, at: Instant) {
    if map.len() >= MAX_ITEMS {
        map.clear();
    }
    map.insert(key, (v, at));
}

impl MetaCache {
    /// A cache of `volume`'s answers kept up to `max_age` (None: nothing
    /// is kept), told of the volume's own changes.
    pub fn new(volume: Volume, max_age: Option<Duration>) -> Arc<Self> {
        let cache = Arc::new(MetaCache {
            volume: volume.clone(),
            max_age,
            inner: Mutex::default(),
            counters: Counters::default(),
        });
        let weak = Arc::downgrade(&cache);
        volume.on_own_change(move |t| {
            if let Some(c) = weak.upgrade() {
                c.forget_own(t);
            }
        });
        cache
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Taken before a question is sent; its answer is kept under it.
    pub fn ticket(&self) -> Ticket {
        let g = self.lock();
        Ticket {
            epoch: g.epoch,
            writes: self.volume.writes(),
            at: Instant::now(),
        }
    }

    /// The maps, if answers asked under `t` may still be kept: no change
    /// was forgotten and no change of this volume began or ended since.
    fn keeping(&self, t: Ticket) -> Option<std::sync::MutexGuard<'_, Inner>> {
        self.max_age?;
        let g = self.lock();
        (g.epoch == t.epoch && self.volume.writes() == t.writes).then_some(g)
    }

    fn count(&self, hit: bool) {
        let c = if hit {
            &self.counters.hits
        } else {
            &self.counters.misses
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn attr(&self, ino: Ino) -> Option<Attr> {
        let max_age = self.max_age?;
        let a = fresh(&self.lock().attrs, &ino, max_age);
        self.count(a.is_some());
        a
    }

    /// The attributes of what `parent` names `name` (its stored name).
    pub fn entry(&self, parent: Ino, name: &str) -> Option<Attr> {
        let max_age = self.max_age?;
        let g = self.lock();
        let a = fresh(&g.entries, &(parent, name.to_owned()), max_age)
            .and_then(|ino| fresh(&g.attrs, &ino, max_age));
        drop(g);
        self.count(a.is_some());
        a
    }

    pub fn xattrs(&self, ino: Ino) -> Option<Arc<Xattrs>> {
        let max_age = self.max_age?;
        let x = fresh(&self.lock().xattrs, &ino, max_age);
        self.count(x.is_some());
        x
    }

    /// Whether `ino` is an inode this node created that cannot have a
    /// `security.capability` yet.
    pub fn uncapped(&self, ino: Ino) -> bool {
        let Some(max_age) = self.max_age else {
            return false;
        };
        let known = fresh(&self.lock().uncapped, &ino, max_age).is_some();
        if known {
            self.count(true);
        }
        known
    }

    pub fn keep_attr(&self, t: Ticket, a: &Attr) {
        if let Some(mut g) = self.keeping(t) {
            keep(&mut g.attrs, a.ino, a.clone(), t.at);
        }
    }

    pub fn keep_entry(&self, t: Ticket, parent: Ino, name: &str, a: &Attr) {
        if let Some(mut g) = self.keeping(t) {
            keep(&mut g.entries, (parent, name.to_owned()), a.ino, t.at);
            keep(&mut g.attrs, a.ino, a.clone(), t.at);
        }
    }

    pub fn keep_xattrs(&self, t: Ticket, ino: Ino, x: Arc<Xattrs>) {
        if let Some(mut g) = self.keeping(t) {
            keep(&mut g.xattrs, ino, x, t.at);
        }
    }

    /// Forgets what `changes` name: their inodes' attributes and extended
    /// attributes, and their entries.
    pub fn forget(&self, changes: &Changes) {
        self.lock().forget_noticed(changes);
    }

    /// Forgets what a change of this node's volume may have touched: its
    /// inodes and entries, and what each replaced entry named; every
    /// inode's attributes when such an entry is not remembered (its former
    /// inode is not known here).
    pub fn forget_own(&self, t: &Touched) {
        self.lock().forget_own(t);
    }

    pub fn forget_all(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fragfs::{
        meta::{Caller, Command, Time},
        testing::file_attr as attr,
    };

    /// Directory 2 names "a" (inode 10) and "b" (11); directory 3 is known.
    fn filled() -> Inner {
        let mut g = Inner::default();
        let now = Instant::now();
        for ino in [2, 3, 10, 11] {
            g.attrs.insert(ino, (attr(ino), now));
            g.xattrs.insert(ino, (Arc::new(Xattrs::default()), now));
        }
        g.entries.insert((2, "a".into()), (10, now));
        g.entries.insert((2, "b".into()), (11, now));
        g
    }

    fn unlink(name: &str) -> Touched {
        Touched::of(&Command::Unlink {
            parent: 2,
            name: name.into(),
            now: Time::default(),
        })
    }

    #[test]
    fn t10_an_own_create_forgets_its_directory_and_nothing_else() {
        let mut g = filled();
        let epoch = g.epoch;
        g.forget_own(&Touched::of(&Command::Create {
            parent: 3,
            name: "new".into(),
            perm: 0o644,
            caller: Caller { uid: 0, gid: 0 },
            now: Time::default(),
        }));
        assert!(!g.attrs.contains_key(&3), "the directory's times changed");
        for ino in [2, 10, 11] {
            assert!(g.attrs.contains_key(&ino), "inode {ino} is still known");
        }
        assert_eq!(g.entries.len(), 2, "other entries are kept");
        assert_ne!(g.epoch, epoch, "answers asked meanwhile are not kept");
    }

    #[test]
    fn t20_an_own_unlink_forgets_the_inode_its_entry_named() {
        let mut g = filled();
        g.forget_own(&unlink("a"));
        assert!(!g.entries.contains_key(&(2, "a".into())));
        assert!(!g.attrs.contains_key(&10), "its link count changed");
        assert!(!g.xattrs.contains_key(&10));
        assert!(!g.attrs.contains_key(&2));
        assert!(g.attrs.contains_key(&11) && g.attrs.contains_key(&3));
    }

    #[test]
    fn t25_a_new_inode_has_no_capability_until_another_change_names_it() {
        let mut g = filled();
        let mut t = Touched::of(&Command::Create {
            parent: 3,
            name: "new".into(),
            perm: 0o644,
            caller: Caller { uid: 0, gid: 0 },
            now: Time::default(),
        });
        t.add_reply(&fragfs::meta::Reply::Attr(attr(20)));
        g.forget_own(&t);
        assert!(g.uncapped.contains_key(&20), "created here: no capability");
        assert!(g.xattrs.contains_key(&3), "a directory's xattrs stay");
        let mut created = Changes::default();
        created.inodes.extend([3, 20]);
        created.entries.insert((3, "new".into()));
        g.forget_noticed(&created);
        assert!(g.uncapped.contains_key(&20), "its own creation's notice");
        let mut setcap = Changes::default();
        setcap.inodes.insert(20);
        g.forget_noticed(&setcap);
        assert!(!g.uncapped.contains_key(&20), "any other change forgets it");
        g.forget_own(&t);
        g.forget_noticed(&setcap);
        assert!(
            !g.uncapped.contains_key(&20),
            "a notice without the creating entry is not its creation's"
        );
    }

    #[test]
    fn t30_an_unlink_of_an_entry_not_remembered_forgets_every_inode() {
        let mut g = filled();
        // "c" may be another name of inode 11: its link count changed.
        g.forget_own(&unlink("c"));
        assert!(g.attrs.is_empty() && g.xattrs.is_empty());
    }
}
