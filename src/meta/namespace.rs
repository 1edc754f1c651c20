//! The filesystem namespace as a deterministic state machine.
//!
//! Owns the inode table: attributes, directory entries, symlink targets,
//! extended attributes and the version chain of every regular file.
//! [`Namespace::apply`] is a pure function of the state and a [`Command`]:
//! it does no IO, reads no clock (commands carry their own `now`) and uses
//! only ordered maps, so every Raft replica that applies the same log reaches
//! the same state. A command that fails changes nothing: each one is checked
//! in full before its first mutation. The whole [`Namespace`] serialises as
//! the Raft snapshot.
//!
//! Permission checks on paths (search, write, sticky directories) belong to
//! the mount layer; only the ownership rules of `chmod`/`chown` live here.

use super::types::{
    Attr, Caller, Changes, Command, FsError, Ino, Kind, Reply, Time, Version, LINK_MAX, NAME_MAX,
    PATH_MAX, ROOT,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

mod acl;
mod changes;
mod check;
mod commit;
#[cfg(test)]
mod commit_tests;
mod events;
mod holds;
#[cfg(test)]
mod holds_tests;
mod legacy;
mod locks;
#[cfg(test)]
mod proptests;
mod query;
mod record_hash;
mod rename;
mod replace;
#[cfg(test)]
mod replace_tests;
mod retain;
#[cfg(test)]
pub(crate) mod retain_tests;
#[cfg(test)]
mod tests;
mod xattr;

pub use events::{EventLog, MAX_EVENTS};
pub use holds::{Held, Holds, MAX_HELD, MAX_HOLDERS, MAX_HOLDER_NAME};
pub use legacy::{NamespaceV1, NamespaceV2, NamespaceV3, NamespaceWithoutLocks};
pub use replace::Placed;
pub use retain::Deleted;

pub use locks::{
    Lock, LockCmd, LockKind, LockOwner, LockTable, MAX_LEASE_MS, MAX_SESSIONS, MAX_SESSION_LOCKS,
};

/// Permission bits a mode may carry (no file-type bits).
const PERM_MASK: u16 = 0o7777;
const S_ISUID: u16 = 0o4000;
const S_ISGID: u16 = 0o2000;
const S_IXGRP: u16 = 0o010;

/// The namespace: every inode, keyed by number. Older snapshot shapes are
/// read through `legacy.rs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    inodes: BTreeMap<Ino, Inode>,
    /// The number the next new inode gets; numbers are never reused.
    next_ino: Ino,
    /// Advisory file locks of every mount (`locks.rs`).
    locks: LockTable,
    /// Conflicts, overrides and resurrections (`events.rs`).
    events: EventLog,
    /// Deleted regular files, kept for their retention period
    /// (`retain.rs`).
    trash: BTreeMap<Ino, Deleted>,
    /// The versions mounts hold open (`holds.rs`).
    holds: Holds,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Inode {
    attr: Attr,
    /// The directory entries naming this inode, as (directory, name): none
    /// for the root, exactly one for any other directory (its parent), and
    /// `nlink` of them for everything else.
    links: BTreeSet<(Ino, String)>,
    xattrs: BTreeMap<String, Vec<u8>>,
    body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Body {
    /// A regular file and its versions, oldest first.
    File {
        versions: Vec<Version>,
    },
    Dir {
        entries: BTreeMap<String, Ino>,
    },
    Symlink {
        target: String,
    },
    /// Fifo, socket or device node.
    Special,
}

impl Inode {
    fn is_dir(&self) -> bool {
        matches!(self.body, Body::Dir { .. })
    }

    fn entries(&self) -> Result<&BTreeMap<String, Ino>, FsError> {
        match &self.body {
            Body::Dir { entries } => Ok(entries),
            _ => Err(FsError::NotDir),
        }
    }

    /// The directory holding this one (".."); the root is its own parent.
    /// For a non-directory: the directory of one of its entries.
    fn parent(&self) -> Ino {
        self.links.first().map_or(ROOT, |(dir, _)| *dir)
    }

    /// An entry of this directory was added, removed or replaced.
    fn touch(&mut self, now: Time) {
        self.attr.mtime = now;
        self.attr.ctime = now;
    }
}

/// Checks a directory entry name.
fn check_name(name: &str) -> Result<(), FsError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(FsError::Invalid);
    }
    if name.len() > NAME_MAX {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// Checks a symlink target: Linux refuses an empty one with ENOENT.
fn check_target(target: &str) -> Result<(), FsError> {
    if target.is_empty() {
        return Err(FsError::NotFound);
    }
    if target.len() > PATH_MAX {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// `perm` without setuid, and without setgid when group-exec is set (a
/// setgid bit without group-exec means mandatory locking, which stays).
fn kill_priv(perm: u16) -> u16 {
    let mut p = perm & !S_ISUID;
    if p & S_IXGRP != 0 {
        p &= !S_ISGID;
    }
    p
}

/// Whether mode `new` is `old` with setuid and/or setgid cleared, nothing
/// else changed.
fn only_kills_priv(old: u16, new: u16) -> bool {
    new & !old == 0 && (old ^ new) & !(S_ISUID | S_ISGID) == 0
}

/// What a new inode is, for [`Namespace::make`].
struct NewInode {
    kind: Kind,
    perm: u16,
    rdev: u64,
    body: Body,
}

impl Namespace {
    /// A namespace holding only the root directory, owned by `root_owner`.
    pub fn new(root_owner: Caller, now: Time) -> Self {
        let attr = Attr {
            ino: ROOT,
            kind: Kind::Dir,
            perm: 0o755,
            uid: root_owner.uid,
            gid: root_owner.gid,
            size: 0,
            nlink: 2,
            atime: now,
            mtime: now,
            ctime: now,
            rdev: 0,
        };
        let root = Inode {
            attr,
            links: BTreeSet::new(),
            xattrs: BTreeMap::new(),
            body: Body::Dir {
                entries: BTreeMap::new(),
            },
        };
        Namespace {
            inodes: BTreeMap::from([(ROOT, root)]),
            next_ino: ROOT + 1,
            locks: LockTable::default(),
            events: EventLog::default(),
            trash: BTreeMap::new(),
            holds: Holds::default(),
        }
    }

    /// Applies one command. On error the namespace is unchanged.
    pub fn apply(&mut self, cmd: Command) -> Result<Reply, FsError> {
        self.apply_tracked(cmd, &mut Changes::default())
    }

    /// One command that is not a batch (batches are taken apart by
    /// [`Self::apply_tracked`]).
    fn apply_one(&mut self, cmd: Command) -> Result<Reply, FsError> {
        match cmd {
            Command::Create {
                parent,
                name,
                perm,
                caller,
                now,
            } => {
                let new = NewInode {
                    kind: Kind::File,
                    perm,
                    rdev: 0,
                    body: Body::File {
                        versions: Vec::new(),
                    },
                };
                self.make(parent, name, new, caller, now)
            }
            Command::Mknod {
                parent,
                name,
                kind,
                perm,
                rdev,
                caller,
                now,
            } => {
                let (rdev, body) = match kind {
                    Kind::File => (
                        0,
                        Body::File {
                            versions: Vec::new(),
                        },
                    ),
                    Kind::Fifo | Kind::Socket => (0, Body::Special),
                    Kind::CharDev | Kind::BlockDev => (rdev, Body::Special),
                    Kind::Dir | Kind::Symlink => return Err(FsError::Invalid),
                };
                self.make(
                    parent,
                    name,
                    NewInode {
                        kind,
                        perm,
                        rdev,
                        body,
                    },
                    caller,
                    now,
                )
            }
            Command::Mkdir {
                parent,
                name,
                perm,
                caller,
                now,
            } => {
                let new = NewInode {
                    kind: Kind::Dir,
                    perm,
                    rdev: 0,
                    body: Body::Dir {
                        entries: BTreeMap::new(),
                    },
                };
                self.make(parent, name, new, caller, now)
            }
            Command::Symlink {
                parent,
                name,
                target,
                caller,
                now,
            } => {
                check_target(&target)?;
                let new = NewInode {
                    kind: Kind::Symlink,
                    perm: 0o777,
                    rdev: 0,
                    body: Body::Symlink { target },
                };
                self.make(parent, name, new, caller, now)
            }
            Command::Link {
                ino,
                new_parent,
                new_name,
                now,
            } => self.link(ino, new_parent, new_name, now),
            Command::Unlink { parent, name, now } => self.unlink(parent, &name, now),
            Command::Rmdir { parent, name, now } => self.rmdir(parent, &name, now),
            Command::Rename {
                parent,
                name,
                new_parent,
                new_name,
                flags,
                now,
            } => self.rename(parent, name, new_parent, new_name, flags, now),
            Command::SetAttr {
                ino,
                caller,
                perm,
                uid,
                gid,
                size,
                atime,
                mtime,
                now,
            } => self.set_attr(
                ino,
                caller,
                &[],
                SetAttr {
                    perm,
                    uid,
                    gid,
                    size,
                    atime,
                    mtime,
                },
                now,
            ),
            Command::SetXattr {
                ino,
                name,
                value,
                mode,
                now,
            } => self.set_xattr(ino, name, value, mode, now),
            Command::RemoveXattr { ino, name, now } => self.remove_xattr(ino, &name, now),
            Command::CommitVersion {
                ino,
                base,
                manifest,
                author,
                hlc,
                caller,
                now,
            } => self.commit_version(
                ino,
                base,
                commit::LegacyCommit {
                    manifest,
                    author,
                    hlc,
                    caller,
                    now,
                },
            ),
            // Batches do not nest: a nested batch is refused, not applied.
            Command::Batch(_) => Err(FsError::Invalid),
            Command::Lock(cmd) => self.locks.apply(cmd, self.next_ino),
            Command::WithContext { ctx, cmd } => self.with_context(ctx, *cmd),
            Command::Commit(c) => self.commit(c),
            Command::RecordHash { ino, version, sha3 } => self.record_hash(ino, version, sha3),
            Command::Retain { now, protected } => Ok(self.retain(now, &protected)),
            Command::Replace { items } => self.replace(items),
            Command::Hold {
                holder,
                versions,
                until,
            } => self.holds.apply(holder, versions, until),
        }
    }

    /// What the mounts hold open, for queries.
    pub fn holds(&self) -> &Holds {
        &self.holds
    }

    /// The lock table, for queries.
    pub fn locks(&self) -> &LockTable {
        &self.locks
    }

    fn node(&self, ino: Ino) -> Result<&Inode, FsError> {
        self.inodes.get(&ino).ok_or(FsError::NotFound)
    }

    /// The inode `ino`, which the caller has already found with [`Self::node`].
    fn node_mut(&mut self, ino: Ino) -> &mut Inode {
        self.inodes
            .get_mut(&ino)
            .expect("inode existence is checked before any mutation")
    }

    /// The entries of directory `ino`: NotFound if missing, NotDir if not a directory.
    fn dir(&self, ino: Ino) -> Result<&BTreeMap<String, Ino>, FsError> {
        self.node(ino)?.entries()
    }

    /// The entries of directory `ino`, which the caller has already checked with [`Self::dir`].
    fn entries_mut(&mut self, ino: Ino) -> &mut BTreeMap<String, Ino> {
        match &mut self.node_mut(ino).body {
            Body::Dir { entries } => entries,
            _ => panic!("inode {ino} was checked to be a directory before any mutation"),
        }
    }

    /// Whether `ino` is `ancestor` or lies somewhere below it.
    fn is_within(&self, ino: Ino, ancestor: Ino) -> bool {
        let mut cur = ino;
        // Bounded by the number of inodes, so a corrupt tree cannot hang us.
        for _ in 0..=self.inodes.len() {
            if cur == ancestor {
                return true;
            }
            if cur == ROOT {
                return false;
            }
            match self.inodes.get(&cur) {
                Some(node) => cur = node.parent(),
                None => return false,
            }
        }
        false
    }

    /// Creates a new inode named `name` in directory `parent`.
    fn make(
        &mut self,
        parent: Ino,
        name: String,
        new: NewInode,
        caller: Caller,
        now: Time,
    ) -> Result<Reply, FsError> {
        check_name(&name)?;
        let dir = self.node(parent)?;
        if dir.entries()?.contains_key(&name) {
            return Err(FsError::Exists);
        }
        let is_dir = new.kind == Kind::Dir;
        if is_dir && dir.attr.nlink >= LINK_MAX {
            return Err(FsError::TooManyLinks);
        }
        let setgid_dir = dir.attr.perm & S_ISGID != 0;
        let gid = if setgid_dir { dir.attr.gid } else { caller.gid };
        let (mut perm, xattrs) = self.inherit_acl(parent, new.kind, new.perm & PERM_MASK);
        if is_dir && setgid_dir {
            perm |= S_ISGID;
        }
        let size = match &new.body {
            Body::Symlink { target } => target.len() as u64,
            _ => 0,
        };

        let ino = self.next_ino;
        self.next_ino += 1;
        let attr = Attr {
            ino,
            kind: new.kind,
            perm,
            uid: caller.uid,
            gid,
            size,
            nlink: if is_dir { 2 } else { 1 },
            atime: now,
            mtime: now,
            ctime: now,
            rdev: new.rdev,
        };
        let links = BTreeSet::from([(parent, name.clone())]);
        self.inodes.insert(
            ino,
            Inode {
                attr: attr.clone(),
                links,
                xattrs,
                body: new.body,
            },
        );
        self.entries_mut(parent).insert(name, ino);
        let dir = self.node_mut(parent);
        if is_dir {
            dir.attr.nlink += 1;
        }
        dir.touch(now);
        Ok(Reply::Attr(attr))
    }

    fn link(
        &mut self,
        ino: Ino,
        new_parent: Ino,
        new_name: String,
        now: Time,
    ) -> Result<Reply, FsError> {
        check_name(&new_name)?;
        let node = self.node(ino)?;
        if self.dir(new_parent)?.contains_key(&new_name) {
            return Err(FsError::Exists);
        }
        if node.is_dir() {
            return Err(FsError::NotPermitted);
        }
        if node.attr.nlink >= LINK_MAX {
            return Err(FsError::TooManyLinks);
        }

        self.entries_mut(new_parent).insert(new_name.clone(), ino);
        self.node_mut(new_parent).touch(now);
        let node = self.node_mut(ino);
        node.links.insert((new_parent, new_name));
        node.attr.nlink += 1;
        node.attr.ctime = now;
        Ok(Reply::Attr(node.attr.clone()))
    }

    /// Removes the entry (`dir`, `name`) from a non-directory's links and
    /// frees the inode when no entry names it any more. The directory side
    /// of the entry is the caller's business.
    fn drop_link(&mut self, ino: Ino, dir: Ino, name: &str, now: Time) {
        let path = self.entry_path(dir, name);
        let node = self.node_mut(ino);
        node.links.remove(&(dir, name.to_owned()));
        node.attr.nlink -= 1;
        node.attr.ctime = now;
        if node.attr.nlink == 0 {
            if let Some(node) = self.inodes.remove(&ino) {
                self.keep_deleted(ino, node, dir, path, now);
            }
        }
    }

    fn unlink(&mut self, parent: Ino, name: &str, now: Time) -> Result<Reply, FsError> {
        check_name(name)?;
        let ino = *self.dir(parent)?.get(name).ok_or(FsError::NotFound)?;
        if self.node(ino)?.is_dir() {
            return Err(FsError::IsDir);
        }

        self.entries_mut(parent).remove(name);
        self.node_mut(parent).touch(now);
        self.drop_link(ino, parent, name, now);
        Ok(Reply::Done)
    }

    fn rmdir(&mut self, parent: Ino, name: &str, now: Time) -> Result<Reply, FsError> {
        check_name(name)?;
        let ino = *self.dir(parent)?.get(name).ok_or(FsError::NotFound)?;
        // The root is no directory's entry, so it cannot get here.
        match &self.node(ino)?.body {
            Body::Dir { entries } if !entries.is_empty() => return Err(FsError::NotEmpty),
            Body::Dir { .. } => {}
            _ => return Err(FsError::NotDir),
        }

        self.entries_mut(parent).remove(name);
        let dir = self.node_mut(parent);
        dir.attr.nlink -= 1;
        dir.touch(now);
        self.inodes.remove(&ino);
        Ok(Reply::Done)
    }

    /// `chown`/`chmod`/`truncate`/`utimens` of `ino` by `caller`, member
    /// of `groups` besides its primary group.
    fn set_attr(
        &mut self,
        ino: Ino,
        caller: Caller,
        groups: &[u32],
        set: SetAttr,
        now: Time,
    ) -> Result<Reply, FsError> {
        let node = self.node(ino)?;
        let old = &node.attr;
        if set.size.is_some() {
            match old.kind {
                Kind::File => {}
                Kind::Dir => return Err(FsError::IsDir),
                _ => return Err(FsError::Invalid),
            }
        }
        let root = caller.uid == 0;
        let owner = caller.uid == old.uid;
        // The owner may "change" the owner to itself (chown to the same uid),
        // and the group to the file's or its own group; root may do anything.
        let uid_ok = set.uid.is_none_or(|uid| root || (owner && uid == old.uid));
        let gid_ok = set
            .gid
            .is_none_or(|gid| root || (owner && (gid == old.gid || caller.in_group(gid, groups))));
        // Anyone may clear setuid/setgid and nothing else: the kernel asks
        // so, with the writer's credentials, before a non-owner's write.
        let perm_ok = set
            .perm
            .is_none_or(|p| root || owner || only_kills_priv(old.perm, p & PERM_MASK));
        if !(uid_ok && gid_ok && perm_ok) {
            return Err(FsError::NotPermitted);
        }

        let mut a = old.clone();
        let chown = set.uid.is_some() || set.gid.is_some();
        a.uid = set.uid.unwrap_or(a.uid);
        a.gid = set.gid.unwrap_or(a.gid);
        // Linux clears setuid on chown of a non-directory even when root does it.
        if chown && a.kind != Kind::Dir {
            a.perm = kill_priv(a.perm);
        }
        if let Some(size) = set.size {
            a.size = size;
            a.mtime = now;
            if !root {
                a.perm = kill_priv(a.perm);
            }
        }
        // An explicit mode is applied last and wins over the clearing above.
        if let Some(perm) = set.perm {
            a.perm = perm & PERM_MASK;
            if !root && !caller.in_group(a.gid, groups) {
                a.perm &= !S_ISGID;
            }
        }
        a.atime = set.atime.unwrap_or(a.atime);
        a.mtime = set.mtime.unwrap_or(a.mtime);
        if set.changes_anything() {
            a.ctime = now;
        }
        self.node_mut(ino).attr = a.clone();
        if set.perm.is_some() {
            self.chmod_acl(ino, a.perm);
        }
        Ok(Reply::Attr(a))
    }
}

/// The optional fields of [`Command::SetAttr`].
struct SetAttr {
    perm: Option<u16>,
    uid: Option<u32>,
    gid: Option<u32>,
    size: Option<u64>,
    atime: Option<Time>,
    mtime: Option<Time>,
}

impl SetAttr {
    fn changes_anything(&self) -> bool {
        self.perm.is_some()
            || self.uid.is_some()
            || self.gid.is_some()
            || self.size.is_some()
            || self.atime.is_some()
            || self.mtime.is_some()
    }
}
