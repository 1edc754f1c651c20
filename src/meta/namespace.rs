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

pub mod accounts;
#[cfg(test)]
mod accounts_tests;
mod acl;
mod changes;
mod check;
mod commit;
#[cfg(test)]
mod commit_tests;
mod entries;
mod events;
mod holds;
#[cfg(test)]
mod holds_tests;
mod legacy;
mod locks;
pub mod members;
#[cfg(test)]
mod members_tests;
pub mod proofs;
#[cfg(test)]
mod proofs_tests;
#[cfg(test)]
mod proptests;
mod query;
mod record_hash;
mod rename;
mod setattr;
pub mod shares;
use setattr::SetAttr;
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
pub use legacy::{
    NamespaceV1, NamespaceV2, NamespaceV3, NamespaceV4, NamespaceV5, NamespaceWithoutLocks,
};
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
    /// Who belongs to the network (`members.rs`).
    members: members::Members,
    /// Users and groups (`accounts.rs`).
    accounts: accounts::Accounts,
    /// Directories given to groups (`shares.rs`).
    shares: BTreeMap<Ino, shares::Share>,
    /// What vouches for each version (`proofs.rs`).
    proofs: proofs::Proofs,
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
            members: members::Members::default(),
            accounts: accounts::Accounts::default(),
            shares: BTreeMap::new(),
            proofs: proofs::Proofs::default(),
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
            Command::CommitVersion { .. } if self.members.is_private() => Err(FsError::Access),
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
            Command::Commit(c) => {
                self.check_unsigned(c.ino)?;
                self.commit(c)
            }
            Command::SignedCommit { commit, proof } => self.signed_commit(commit, *proof),
            Command::RecordHash { ino, version, sha3 } => self.record_hash(ino, version, sha3),
            Command::Retain { now, protected } => Ok(self.retain(now, &protected)),
            Command::Replace { items } => self.replace(items),
            Command::Hold {
                holder,
                versions,
                until,
            } => self.holds.apply(holder, versions, until),
            Command::Members(cmd) => self.members.apply(cmd),
            Command::Accounts(cmd) if matches!(cmd.act, accounts::Act::Share { .. }) => {
                self.share(cmd)
            }
            Command::Accounts(cmd) => self.accounts.apply(cmd),
        }
    }

    /// Users and groups, for queries.
    pub fn accounts(&self) -> &accounts::Accounts {
        &self.accounts
    }

    /// Who belongs to the network, for queries.
    pub fn members(&self) -> &members::Members {
        &self.members
    }

    /// What vouches for each version, for queries.
    pub fn proofs(&self) -> &proofs::Proofs {
        &self.proofs
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
}
