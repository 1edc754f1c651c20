//! Pushed invalidation: the kernel forgets what it cached of inodes and
//! directory entries as soon as they change anywhere in the namespace, on
//! this node or another, so a file closed on another mount is seen here at
//! the next `stat` or `open` even though attributes and entries are cached
//! for `MountConfig::ttl`.
//!
//! A tracked task reads the node's change notices
//! (`Meta::subscribe_changes`), plans the invalidations ([`plan`], pure)
//! and sends them through fuser's `Notifier` on the blocking pool: each is
//! a write to `/dev/fuse` that the kernel may hold while it waits for page
//! and inode locks, some of them held by requests this mount is answering.
//! So it never runs on the runtime's threads nor under a lock of ours. The
//! kernel answers ENOENT for what it does not hold (fuser treats that as
//! done).
//!
//! When notices were missed (a reset from the metadata service, or this
//! task fell behind the broadcast), every entry the kernel was given and
//! [`Seen`] still remembers is invalidated, with its inode and the root.
//! [`Seen`] is bounded: an entry it forgot stays cached until its TTL.
//!
//! [`PageVersions`] decides whether an open may keep the kernel's page
//! cache: only when the pages came from the very version the new handle
//! reads.

use crate::meta_cache::MetaCache;
use fragfs::{
    meta::{Changes, Ino, Notice, ROOT},
    task::Tasks,
};
use fuser::{INodeNo, Notifier};
use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    ffi::OsStr,
    io,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};
use tokio::sync::broadcast::{self, error::RecvError};

/// Most directory entries [`Seen`] remembers.
const SEEN_ENTRIES: usize = 16_384;
/// Most inodes [`PageVersions`] remembers.
const PAGE_VERSIONS: usize = 65_536;
/// Most notices planned together.
const MAX_BATCH: usize = 256;

/// One thing the kernel is told to forget.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Inval {
    /// The entry `name` of directory `parent` (its dentry).
    Entry(Ino, String),
    /// An inode's attributes and all its cached pages.
    Inode(Ino),
}

/// The invalidations for `changes`, and for everything in `seen` when
/// notices were missed (`seen` is Some). Each once, entries first.
pub fn plan(changes: &[Arc<Changes>], seen: Option<Vec<(Ino, String, Ino)>>) -> Vec<Inval> {
    let mut out = BTreeSet::new();
    for c in changes {
        out.extend(c.entries.iter().map(|(d, n)| Inval::Entry(*d, n.clone())));
        out.extend(c.inodes.iter().map(|i| Inval::Inode(*i)));
    }
    if let Some(seen) = seen {
        out.insert(Inval::Inode(ROOT));
        for (parent, name, ino) in seen {
            out.insert(Inval::Inode(parent));
            out.insert(Inval::Inode(ino));
            out.insert(Inval::Entry(parent, name));
        }
    }
    out.into_iter().collect()
}

/// The directory entries this mount gave the kernel (lookup, create,
/// mkdir…), newest last, bounded: what a reset must invalidate. A std
/// mutex, held for one map operation.
#[derive(Default)]
pub struct Seen {
    inner: Mutex<SeenInner>,
}

#[derive(Default)]
struct SeenInner {
    map: HashMap<(Ino, String), Ino>,
    order: VecDeque<(Ino, String)>,
}

impl Seen {
    pub fn note(&self, parent: Ino, name: &str, ino: Ino) {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (parent, name.to_owned());
        if s.map.insert(key.clone(), ino).is_none() {
            s.order.push_back(key);
        }
        while s.order.len() > SEEN_ENTRIES {
            if let Some(old) = s.order.pop_front() {
                s.map.remove(&old);
            }
        }
    }

    /// Everything remembered, forgotten here: the kernel looks entries up
    /// again after they are invalidated, and they are noted again then.
    pub fn take_all(&self) -> Vec<(Ino, String, Ino)> {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        s.order.clear();
        s.map.drain().map(|((p, n), i)| (p, n, i)).collect()
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which version of a file the kernel's page cache holds, per inode, when
/// that is known for sure: set by an open that drops the cache while every
/// other open handle of the file reads the same version, cleared by any
/// open for writing, any open of another version and any invalidation. A
/// std mutex, held for one map operation.
#[derive(Default)]
pub struct PageVersions {
    map: Mutex<HashMap<Ino, u64>>,
}

impl PageVersions {
    /// A handle of `ino` was opened, reading version `reads` (None: open
    /// for writing, or no version yet); `alone`: every other open handle
    /// of `ino` is read-only and reads `reads` too. Returns whether the
    /// kernel may keep the pages it has (`FOPEN_KEEP_CACHE`).
    pub fn opened(&self, ino: Ino, reads: Option<u64>, alone: bool) -> bool {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let keep = reads.is_some() && m.get(&ino).copied() == reads;
        match reads {
            Some(v) if alone => {
                if m.len() >= PAGE_VERSIONS && !m.contains_key(&ino) {
                    // Forgetting only costs a page cache drop at an open.
                    m.clear();
                }
                m.insert(ino, v);
            }
            _ => {
                m.remove(&ino);
            }
        }
        keep
    }

    pub fn forget(&self, ino: Ino) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ino);
    }

    pub fn forget_all(&self) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// What the mount's invalidation has done.
#[derive(Debug, Default)]
pub struct Counters {
    /// Invalidations the kernel was sent.
    pub sent: AtomicU64,
    /// Times notices were missed and everything was invalidated.
    pub resets: AtomicU64,
}

impl std::fmt::Display for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} invalidation(s) sent, {} reset(s)",
            self.sent.load(Ordering::Relaxed),
            self.resets.load(Ordering::Relaxed)
        )
    }
}

/// Invalidations this mount asks for itself, beyond the namespace's
/// notices (an entry the kernel moved that the namespace did not: a save
/// by rename-over). Sent by the task like the others.
#[derive(Default)]
pub struct Asked {
    todo: Mutex<Vec<Inval>>,
    wake: tokio::sync::Notify,
}

impl Asked {
    fn take(&self) -> Vec<Inval> {
        std::mem::take(&mut *self.todo.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The state the FUSE callbacks and the invalidation task share.
pub struct Invalidation {
    pub seen: Seen,
    pub pages: PageVersions,
    pub counters: Counters,
    asked: Asked,
    /// The mount's own cache of namespace answers: forgets first.
    cache: Arc<MetaCache>,
}

impl Invalidation {
    pub fn new(cache: Arc<MetaCache>) -> Self {
        Invalidation {
            seen: Seen::default(),
            pages: PageVersions::default(),
            counters: Counters::default(),
            asked: Asked::default(),
            cache,
        }
    }

    /// Has the task send `i` soon. An entry of a directory a request of
    /// this mount is changing is dropped once that request is answered:
    /// the kernel holds the directory until then.
    pub fn ask(&self, i: Inval) {
        self.asked
            .todo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(i);
        self.asked.wake.notify_one();
    }

    /// Whether the open that made handle `fh` of `ino` may keep the
    /// kernel's page cache; `handles` are the open handles of `ino`
    /// (handle, version it reads, open for writing).
    pub fn open_keeps_cache(
        &self,
        ino: Ino,
        fh: u64,
        handles: &[(u64, Option<u64>, bool)],
    ) -> bool {
        let reads = handles
            .iter()
            .find(|h| h.0 == fh)
            .filter(|h| !h.2)
            .and_then(|h| h.1);
        let alone = handles
            .iter()
            .filter(|h| h.0 != fh)
            .all(|h| !h.2 && h.1 == reads);
        self.pages.opened(ino, reads, alone)
    }
}

/// The name the kernel knows for a stored entry name of a directory,
/// when they differ (sealed names: `fragfs::volume::names`).
pub type Shown = Arc<dyn Fn(Ino, &str) -> Option<String> + Send + Sync>;

/// Starts the task that turns `changes` into kernel invalidations.
pub fn spawn(
    tasks: &Tasks,
    changes: broadcast::Receiver<Notice>,
    notifier: Notifier,
    state: Arc<Invalidation>,
    shown: Shown,
) {
    tasks.spawn("fuse-invalidate", run(changes, notifier, state, shown));
}

/// Notices read in one go: the changes, and whether some were missed.
#[derive(Default)]
struct Heard {
    changes: Vec<Arc<Changes>>,
    missed: bool,
}

impl Heard {
    /// Takes one receive result; false when the feed is closed.
    fn take(&mut self, r: Result<Notice, RecvError>) -> bool {
        match r {
            Ok(Notice::Changed { changes, .. }) => self.changes.push(changes),
            Ok(Notice::Reset { index }) => {
                tracing::info!(
                    index,
                    "namespace changes were missed; invalidating what the kernel holds"
                );
                self.missed = true;
            }
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "fell behind the namespace changes; invalidating what the kernel holds"
                );
                self.missed = true;
            }
            Err(RecvError::Closed) => return false,
        }
        true
    }
}

async fn run(
    mut rx: broadcast::Receiver<Notice>,
    notifier: Notifier,
    state: Arc<Invalidation>,
    shown: Shown,
) {
    loop {
        let mut heard = Heard::default();
        tokio::select! {
            r = rx.recv() => {
                if !heard.take(r) {
                    return;
                }
            }
            _ = state.asked.wake.notified() => {}
        }
        while heard.changes.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(n) => {
                    heard.take(Ok(n));
                }
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    heard.take(Err(RecvError::Lagged(n)));
                }
                Err(_) => break,
            }
        }
        // The mount's cache forgets before the kernel is told: the kernel
        // asks again at once.
        if heard.missed {
            state.cache.forget_all();
        }
        for c in &heard.changes {
            state.cache.forget(c);
        }
        let seen = heard.missed.then(|| state.seen.take_all());
        if heard.missed {
            state.pages.forget_all();
            state.counters.resets.fetch_add(1, Ordering::Relaxed);
        }
        let mut todo = plan(&heard.changes, seen);
        for i in &mut todo {
            if let Inval::Entry(parent, name) = i {
                if let Some(s) = shown(*parent, name) {
                    *name = s;
                }
            }
        }
        todo.extend(state.asked.take());
        for i in &todo {
            if let Inval::Inode(ino) = i {
                state.pages.forget(*ino);
            }
        }
        let n = notifier.clone();
        let sent = tokio::task::spawn_blocking(move || send(&n, &todo)).await;
        match sent {
            Ok(Ok(count)) => {
                state.counters.sent.fetch_add(count, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "the FUSE session is gone; invalidation stops");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "invalidation failed");
                return;
            }
        }
    }
}

/// Whether `e` says the FUSE session is over.
fn session_gone(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENODEV) | Some(libc::ENOTCONN) | Some(libc::EBADF)
    )
}

/// Sends `todo` to the kernel (blocking). Returns how many were sent; an
/// error only when the session is over.
fn send(n: &Notifier, todo: &[Inval]) -> io::Result<u64> {
    let mut count = 0;
    for i in todo {
        let r = match i {
            Inval::Entry(parent, name) => n.inval_entry(INodeNo(*parent), OsStr::new(name)),
            Inval::Inode(ino) => n.inval_inode(INodeNo(*ino), 0, 0),
        };
        match r {
            Ok(()) => count += 1,
            Err(e) if session_gone(&e) => return Err(e),
            Err(e) => tracing::debug!(?i, error = %e, "the kernel refused an invalidation"),
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(inodes: &[Ino], entries: &[(Ino, &str)]) -> Arc<Changes> {
        Arc::new(Changes {
            inodes: inodes.iter().copied().collect(),
            entries: entries.iter().map(|&(d, n)| (d, n.to_owned())).collect(),
        })
    }

    #[test]
    fn t10_a_plan_names_each_change_once() {
        let p = plan(
            &[
                changes(&[1, 5], &[(1, "f")]),
                changes(&[5], &[(1, "f"), (2, "g")]),
            ],
            None,
        );
        assert_eq!(
            p,
            vec![
                Inval::Entry(1, "f".into()),
                Inval::Entry(2, "g".into()),
                Inval::Inode(1),
                Inval::Inode(5),
            ]
        );
        assert!(plan(&[], None).is_empty());
    }

    #[test]
    fn t10_missed_notices_invalidate_everything_seen() {
        let seen = Seen::default();
        seen.note(1, "d", 2);
        seen.note(2, "f", 3);
        seen.note(2, "f", 3);
        assert_eq!(seen.len(), 2);
        let p = plan(&[changes(&[9], &[])], Some(seen.take_all()));
        assert_eq!(
            p,
            vec![
                Inval::Entry(1, "d".into()),
                Inval::Entry(2, "f".into()),
                Inval::Inode(1),
                Inval::Inode(2),
                Inval::Inode(3),
                Inval::Inode(9),
            ]
        );
        assert!(seen.is_empty(), "taken");
        // Nothing seen: still the root.
        assert_eq!(plan(&[], Some(vec![])), vec![Inval::Inode(ROOT)]);
    }

    #[test]
    fn t10_seen_is_bounded_oldest_out() {
        let seen = Seen::default();
        for i in 0..(SEEN_ENTRIES as u64 + 10) {
            seen.note(1, &format!("f{i}"), i + 2);
        }
        assert_eq!(seen.len(), SEEN_ENTRIES);
        let all = seen.take_all();
        assert!(!all.iter().any(|(_, n, _)| n == "f0"), "the oldest went");
        assert!(all
            .iter()
            .any(|(_, n, _)| n == &format!("f{}", SEEN_ENTRIES + 9)));
    }

    #[test]
    fn t10_pages_are_kept_only_for_the_version_they_came_from() {
        let p = PageVersions::default();
        assert!(!p.opened(7, Some(1), true), "first open: nothing known");
        assert!(p.opened(7, Some(1), true), "same version again");
        assert!(!p.opened(7, Some(2), true), "a new version drops them");
        assert!(p.opened(7, Some(2), true));
        p.forget(7);
        assert!(!p.opened(7, Some(2), true), "invalidated");
        // Open for writing: never kept, and forgotten.
        assert!(p.opened(7, Some(2), true));
        assert!(!p.opened(7, None, false));
        assert!(!p.opened(7, Some(2), true));
        // Another version open alongside: this open drops the cache, but the
        // other handle may load its pages after that, so nothing is known.
        assert!(!p.opened(8, Some(1), true));
        assert!(!p.opened(8, Some(2), false));
        assert!(!p.opened(8, Some(2), true));
        assert!(p.opened(8, Some(2), true));
        p.forget_all();
        assert!(!p.opened(8, Some(2), true));
    }
}
