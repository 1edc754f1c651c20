//! The read-only history tree every mount serves at
//! `MOUNT/.fragfs/history/<path>/`.
//!
//! **The rule.** For a real directory at `<path>`, `.fragfs/history/<path>/`
//! lists its subdirectories and regular files, each a directory of the
//! tree. For a regular file at `<path>`, it lists one entry per version,
//! named `<number>@<UTC time, RFC 3339>` (see [`name`]), whose bytes are
//! that version's content, read through the mount's ordinary read path
//! (fragment cache, readahead, verification against fragment ids).
//! Symlinks and special files have no versions and do not appear.
//!
//! `.fragfs` is found by name in the root but never listed there (nor a
//! real entry of that name, which it shadows), so tools that walk the
//! mount do not walk it. Nothing in the tree changes through the mount:
//! every change fails with `EROFS` (the hooks in [`crate::fs`] ask
//! [`History::owns`] and [`History::refuse_change`]).
//!
//! Virtual inode numbers come from [`table`]; facts from [`source`] only;
//! attributes from [`attrs`]. The kernel caches what it is shown for
//! [`TTL`], so a new version appears in a listing within that time.
//!
//! Lock: `dirs` (std mutex) is held for one map operation.

pub mod attrs;
pub mod name;
pub mod reply;
pub mod source;
pub mod table;

use crate::{core::Listing, errno::OpError};
use fragfs::meta::{Attr, Caller, DirEntry, FsError, Ino, Kind, ROOT};
use fuser::Errno;
use source::{Source, VersionInfo};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use table::{Key, Node, Table, HISTORY_INO, META_INO, VIRTUAL};

/// The name of the tree's top directory in the mount's root.
pub const NAME: &str = ".fragfs";
/// The directory of `.fragfs` holding the histories.
pub const HISTORY: &str = "history";
/// How long the kernel may keep the tree's entries and attributes: short,
/// since new versions appear.
pub const TTL: Duration = Duration::from_secs(1);

pub struct History {
    source: Source,
    table: Table,
    /// Open directories of the tree, by handle (numbers with [`VIRTUAL`]
    /// set, apart from the mount's own handles).
    dirs: Mutex<HashMap<u64, Arc<Listing>>>,
    next_fh: AtomicU64,
}

fn fs_err(e: FsError) -> OpError {
    OpError::Meta(e.into())
}

/// Whether inode `ino` is one of the tree's.
pub fn owns(ino: u64) -> bool {
    ino & VIRTUAL != 0
}

/// Whether `name` in `parent` is, or is inside, the tree.
pub fn claims(parent: u64, name: &str) -> bool {
    owns(parent) || (parent == ROOT && name == NAME)
}

/// The errno for creating `name` in `parent` when that is the tree's
/// business: `.fragfs` in the root exists, nothing is created inside.
pub fn refuse_new(parent: u64, name: &str) -> Option<Errno> {
    match (owns(parent), parent == ROOT && name == NAME) {
        (true, _) => Some(Errno::EROFS),
        (false, true) => Some(Errno::EEXIST),
        _ => None,
    }
}

/// `EROFS` when removing or renaming `name` of `parent` touches the tree.
pub fn refuse_change(parent: u64, name: &str) -> Option<Errno> {
    claims(parent, name).then_some(Errno::EROFS)
}

/// Root directory `ino`'s `listing` without a real entry named `.fragfs`
/// (shadowed by the tree); any other listing as it is.
pub fn shadow(ino: u64, listing: Arc<Listing>) -> Arc<Listing> {
    if ino != ROOT || !listing.entries.iter().any(|(e, _)| e.name == NAME) {
        return listing;
    }
    let entries = listing
        .entries
        .iter()
        .filter(|(e, _)| e.name != NAME)
        .cloned()
        .collect();
    Arc::new(Listing {
        own: listing.own.clone(),
        entries,
    })
}

impl History {
    pub fn new(core: Arc<crate::core::Core>) -> Self {
        History {
            source: Source::new(core),
            table: Table::default(),
            dirs: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
        }
    }

    /// The node numbered `ino`; `ESTALE` when the table dropped it.
    fn node(&self, ino: u64) -> Result<Node, OpError> {
        let fixed = |key| Node {
            key,
            path: String::new(),
            attr: fixed_placeholder(),
        };
        match ino {
            META_INO => Ok(fixed(Key::Meta)),
            HISTORY_INO => Ok(fixed(Key::Dir(ROOT))),
            _ => self
                .table
                .get(ino)
                .ok_or(OpError::refused(Errno::ESTALE, "history node forgotten")),
        }
    }

    /// The entry `name` of tree directory `parent` (or `.fragfs` in the
    /// root).
    pub async fn lookup(&self, parent: u64, name: &str) -> Result<Attr, OpError> {
        if parent == ROOT && name == NAME {
            return self.meta().await;
        }
        let node = self.node(parent)?;
        match node.key {
            Key::Meta if name == HISTORY => self.dir_node(ROOT, String::new()).await,
            Key::Meta => Err(fs_err(FsError::NotFound)),
            Key::Dir(dir) => self.child(dir, &node.path, name).await,
            Key::File(file) => self.version_node(file, &node.path, name).await,
            Key::Version(..) => Err(fs_err(FsError::NotDir)),
        }
    }

    async fn meta(&self) -> Result<Attr, OpError> {
        let root = self.source.attr(ROOT).await?;
        Ok(self
            .table
            .enter(Key::Meta, String::new(), attrs::fixed_dir(&root)))
    }

    async fn dir_node(&self, dir: Ino, path: String) -> Result<Attr, OpError> {
        let real = self.source.attr(dir).await?;
        let a = match dir {
            ROOT => attrs::fixed_dir(&real),
            _ => attrs::history_dir(&real),
        };
        Ok(self.table.enter(Key::Dir(dir), path, a))
    }

    /// The history node of entry `name` of real directory `dir` (at `path`).
    async fn child(&self, dir: Ino, path: &str, name: &str) -> Result<Attr, OpError> {
        if dir == ROOT && name == NAME {
            return Err(fs_err(FsError::NotFound));
        }
        let real = self.source.child(dir, name).await?;
        self.enter_entry(path, name, &real)
            .ok_or(fs_err(FsError::NotFound))
    }

    /// Enters the history node of real entry `name` of the directory at
    /// `path`: None for what has no history (symlinks, special files).
    fn enter_entry(&self, path: &str, name: &str, real: &Attr) -> Option<Attr> {
        let key = match real.kind {
            Kind::Dir => Key::Dir(real.ino),
            Kind::File => Key::File(real.ino),
            _ => return None,
        };
        let a = attrs::history_dir(real);
        Some(self.table.enter(key, format!("{path}/{name}"), a))
    }

    /// The version entry `name` of file `file` (at `path`).
    async fn version_node(&self, file: Ino, path: &str, name: &str) -> Result<Attr, OpError> {
        let (number, secs) = name::parse_version_name(name).ok_or(fs_err(FsError::NotFound))?;
        let (real, versions) = self.source.versions(path, file).await?;
        let v = versions
            .iter()
            .find(|v| v.number == number && v.wall_ms / 1000 == secs)
            .ok_or(fs_err(FsError::NotFound))?;
        Ok(self.enter_version(file, path, &real, v))
    }

    fn enter_version(&self, file: Ino, path: &str, real: &Attr, v: &VersionInfo) -> Attr {
        let key = Key::Version(file, v.number);
        self.table
            .enter(key, path.to_string(), attrs::version(real, v))
    }

    /// The real inode tree node `ino` shows (the root for `.fragfs`), so
    /// that a shared directory's history is as closed as the directory.
    pub fn real_of(&self, ino: u64) -> Option<Ino> {
        if !owns(ino) {
            return Some(ino);
        }
        Some(match self.node(ino).ok()?.key {
            Key::Meta => ROOT,
            Key::Dir(d) | Key::File(d) | Key::Version(d, _) => d,
        })
    }

    /// The attributes of tree node `ino`.
    pub async fn getattr(&self, ino: u64) -> Result<Attr, OpError> {
        let node = self.node(ino)?;
        match node.key {
            Key::Meta => self.meta().await,
            Key::Dir(dir) => self.dir_node(dir, node.path).await,
            Key::File(file) => {
                let real = self.source.attr(file).await?;
                Ok(self
                    .table
                    .enter(node.key, node.path, attrs::history_dir(&real)))
            }
            // A version never changes.
            Key::Version(..) => Ok(node.attr),
        }
    }

    /// Opens version node `ino` for reading; `EROFS` for any write access.
    pub async fn open(&self, ino: u64, flags: i32, caller: Caller) -> Result<u64, OpError> {
        if flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0 {
            return Err(OpError::refused(Errno::EROFS, "the history is read-only"));
        }
        let node = self.node(ino)?;
        match node.key {
            Key::Version(file, number) => {
                self.source
                    .open_version(&node.path, file, number, node.attr, caller)
                    .await
            }
            _ => Err(fs_err(FsError::IsDir)),
        }
    }

    /// Reads tree directory `ino`'s listing and keeps it under a handle.
    pub async fn opendir(&self, ino: u64) -> Result<u64, OpError> {
        let own = self.getattr(ino).await?;
        let node = self.node(ino)?;
        let entries = match node.key {
            Key::Meta => {
                let a = self.dir_node(ROOT, String::new()).await?;
                vec![(dir_entry(HISTORY, &a), a)]
            }
            Key::Dir(dir) => self.dir_entries(dir, &node.path).await?,
            Key::File(file) => self.version_entries(file, &node.path).await?,
            Key::Version(..) => return Err(fs_err(FsError::NotDir)),
        };
        let fh = VIRTUAL | self.next_fh.fetch_add(1, Ordering::Relaxed);
        let listing = Arc::new(Listing { own, entries });
        self.lock_dirs().insert(fh, listing);
        Ok(fh)
    }

    async fn dir_entries(&self, dir: Ino, path: &str) -> Result<Vec<(DirEntry, Attr)>, OpError> {
        let real = self.source.entries(dir).await?;
        Ok(real
            .iter()
            .filter(|(name, _)| !(dir == ROOT && name == NAME))
            .filter_map(|(name, a)| {
                let a = self.enter_entry(path, name, a)?;
                Some((dir_entry(name, &a), a))
            })
            .collect())
    }

    async fn version_entries(
        &self,
        file: Ino,
        path: &str,
    ) -> Result<Vec<(DirEntry, Attr)>, OpError> {
        let (real, versions) = self.source.versions(path, file).await?;
        Ok(versions
            .iter()
            .map(|v| {
                let a = self.enter_version(file, path, &real, v);
                (dir_entry(&name::version_name(v.number, v.wall_ms), &a), a)
            })
            .collect())
    }

    fn lock_dirs(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Listing>>> {
        self.dirs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The listing kept by [`History::opendir`] under `fh`, if it is one.
    pub fn listing(&self, fh: u64) -> Option<Arc<Listing>> {
        if !owns(fh) {
            return None;
        }
        self.lock_dirs().get(&fh).cloned()
    }

    /// Forgets the listing under `fh`; false when `fh` is not the tree's.
    pub fn releasedir(&self, fh: u64) -> bool {
        owns(fh) && self.lock_dirs().remove(&fh).is_some()
    }
}

fn dir_entry(name: &str, a: &Attr) -> DirEntry {
    DirEntry {
        name: name.to_string(),
        ino: a.ino,
        kind: a.kind,
    }
}

/// The attributes stored with the fixed nodes, never answered (their
/// attributes are read fresh from the root's).
pub(crate) fn fixed_placeholder() -> Attr {
    let t = fragfs::meta::Time { secs: 0, nanos: 0 };
    Attr {
        ino: 0,
        kind: Kind::Dir,
        perm: 0o555,
        uid: 0,
        gid: 0,
        size: 0,
        nlink: 2,
        atime: t,
        mtime: t,
        ctime: t,
        rdev: 0,
    }
}
