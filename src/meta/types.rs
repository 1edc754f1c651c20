//! The namespace's data: inodes, attributes, versions, the commands that
//! change them and the errors they can fail with. Pure data; the format of
//! Raft log entries and snapshots (append-only enums: never reorder variants).

use super::namespace::LockCmd;
pub use super::versions::{
    find as find_version, owners_after, slot_owners, Author, CommitCmd, ConflictCopy, Event, Mark,
    OwnerRun, Version,
};
use crate::fragment::Manifest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An inode number. The root directory is [`ROOT`].
pub type Ino = u64;
pub const ROOT: Ino = 1;
/// Longest name of a directory entry, in bytes.
pub const NAME_MAX: usize = 255;
/// Longest symlink target, in bytes.
pub const PATH_MAX: usize = 4096;
/// Most hard links to one inode (and subdirectories of one directory + 2).
pub const LINK_MAX: u32 = 65_000;
/// Most symlinks followed while resolving one path.
pub const SYMLOOP_MAX: usize = 40;
/// Largest extended attribute value, in bytes.
pub const XATTR_SIZE_MAX: usize = 65_536;
/// Largest list of an inode's attribute names (each NUL-terminated), as
/// `listxattr(2)` can return at most.
pub const XATTR_LIST_MAX: usize = 65_536;
/// Most bytes of attribute values one inode holds.
pub const XATTR_VALUES_MAX: usize = 1 << 20;

/// A point in time: seconds and nanoseconds since the Unix epoch.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Time {
    pub secs: i64,
    pub nanos: u32,
}

impl Time {
    /// The wall clock (never read inside `namespace` apply: commands carry
    /// their own stamps).
    pub fn now() -> Time {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Time {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDev,
    BlockDev,
}

/// POSIX attributes of an inode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attr {
    pub ino: Ino,
    pub kind: Kind,
    /// Permission bits including setuid (0o4000), setgid (0o2000) and
    /// sticky (0o1000); never the file-type bits.
    pub perm: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub nlink: u32,
    pub atime: Time,
    pub mtime: Time,
    pub ctime: Time,
    /// Device number of character and block devices.
    pub rdev: u64,
}

/// A hybrid logical clock reading: wall-clock milliseconds, a logical
/// counter, and the id of the node that made it (tie breaker). Ordered in
/// that field order.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    pub wall_ms: u64,
    pub logical: u32,
    pub node: u64,
}

impl Hlc {
    /// The next reading after `self` on `node` when the wall clock says
    /// `wall_ms`: never earlier than `self`, and strictly after it.
    pub fn tick(self, wall_ms: u64, node: u64) -> Hlc {
        if wall_ms > self.wall_ms {
            Hlc {
                wall_ms,
                logical: 0,
                node,
            }
        } else {
            Hlc {
                wall_ms: self.wall_ms,
                logical: self.logical.saturating_add(1),
                node,
            }
        }
    }

    /// The later of two readings (merging a clock seen from elsewhere).
    pub fn max(self, other: Hlc) -> Hlc {
        if other > self {
            other
        } else {
            self
        }
    }
}

/// Who asks. Root (uid 0) may do anything ownership rules allow root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
}

impl Caller {
    pub const ROOT: Caller = Caller { uid: 0, gid: 0 };

    /// Whether the caller belongs to group `gid` (primary or `groups`).
    pub fn in_group(&self, gid: u32, groups: &[u32]) -> bool {
        self.gid == gid || groups.contains(&gid)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenameFlags {
    /// Fail with `Exists` if the target exists (RENAME_NOREPLACE).
    pub noreplace: bool,
    /// Atomically swap source and target, which must both exist
    /// (RENAME_EXCHANGE).
    pub exchange: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum XattrMode {
    /// Create or replace.
    Any,
    /// Fail with `Exists` if present (XATTR_CREATE).
    Create,
    /// Fail with `NoData` if absent (XATTR_REPLACE).
    Replace,
}

/// A change to the namespace. `now` is stamped by the proposer so that
/// applying a command is deterministic on every replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// A new empty regular file.
    Create {
        parent: Ino,
        name: String,
        perm: u16,
        caller: Caller,
        now: Time,
    },
    /// A regular file, fifo, socket or device node.
    Mknod {
        parent: Ino,
        name: String,
        kind: Kind,
        perm: u16,
        rdev: u64,
        caller: Caller,
        now: Time,
    },
    Mkdir {
        parent: Ino,
        name: String,
        perm: u16,
        caller: Caller,
        now: Time,
    },
    Symlink {
        parent: Ino,
        name: String,
        target: String,
        caller: Caller,
        now: Time,
    },
    /// A new hard link to `ino` (not a directory).
    Link {
        ino: Ino,
        new_parent: Ino,
        new_name: String,
        now: Time,
    },
    Unlink {
        parent: Ino,
        name: String,
        now: Time,
    },
    Rmdir {
        parent: Ino,
        name: String,
        now: Time,
    },
    Rename {
        parent: Ino,
        name: String,
        new_parent: Ino,
        new_name: String,
        flags: RenameFlags,
        now: Time,
    },
    /// Changes the given attributes. `size` truncates or extends (regular
    /// files only); `atime`/`mtime` set explicit times.
    SetAttr {
        ino: Ino,
        caller: Caller,
        perm: Option<u16>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<Time>,
        mtime: Option<Time>,
        now: Time,
    },
    SetXattr {
        ino: Ino,
        name: String,
        value: Vec<u8>,
        mode: XattrMode,
        now: Time,
    },
    RemoveXattr {
        ino: Ino,
        name: String,
        now: Time,
    },
    /// Makes `manifest` the new head version of regular file `ino`, if the
    /// head is still `base` (None: the file has no version yet). Kept for
    /// old log entries and callers: applies as a [`Command::Commit`] by
    /// `Author { peer: author, uid: caller.uid }`, based on `base`, with no
    /// mark.
    CommitVersion {
        ino: Ino,
        base: Option<u64>,
        manifest: Manifest,
        author: String,
        hlc: Hlc,
        caller: Caller,
        now: Time,
    },
    /// Several commands in one log entry, applied in order; each succeeds or
    /// fails on its own (concurrent writers batched by the leader).
    Batch(Vec<Command>),
    /// A change to the file lock table (`namespace::locks`).
    Lock(LockCmd),
    /// `cmd` (a `Create`, `Mknod`, `Mkdir` or `SetAttr`) with more of the
    /// caller's context than [`Caller`] carries; any other command is
    /// refused as `Invalid`.
    WithContext {
        ctx: Context,
        cmd: Box<Command>,
    },
    /// Makes a new head version of a regular file with what versions people
    /// see and merge need: its author, the version the writer started
    /// from, a mark, and a conflict copy created in the same step.
    Commit(CommitCmd),
    /// Records `sha3`, the SHA3-256 of the whole content, on version
    /// `version` of regular file `ino` when its manifest has none
    /// ([`crate::fragment::NO_FILE_HASH`]); the same hash again is a no-op,
    /// another hash or [`crate::fragment::NO_FILE_HASH`] is `Invalid`
    /// (`fragfs sync` sends it after reading every byte).
    RecordHash {
        ino: Ino,
        version: u64,
        sha3: [u8; 32],
    },
    /// Retention at `now` (`namespace::retain`): drops every version that
    /// no retention policy (`user.fragfs.keep`) keeps and every deleted
    /// file whose retention period ended; never a head, and never a
    /// version in `protected` (versions open handles or writes refer to).
    Retain {
        now: Time,
        protected: Vec<(Ino, u64)>,
    },
    /// Replaces the manifests of kept versions with manifests of the same
    /// bytes stored elsewhere or otherwise (`namespace::replace`): repair
    /// names new holders, re-encoding a new redundancy. An item whose
    /// version is gone, or whose manifest is no longer `old`, is skipped;
    /// an item that would change the bytes fails the whole command.
    Replace {
        items: Vec<Replacement>,
    },
    /// What `holder` (one mount) holds open (`namespace::holds`): the
    /// versions its handles read or write from, replacing what it held
    /// before, kept by retention until `until`; an empty list releases
    /// everything it held.
    Hold {
        holder: String,
        versions: Vec<(Ino, u64)>,
        until: Time,
    },
    /// A change to who belongs to the network (`namespace::members`).
    Members(crate::meta::members::MemberCmd),
    /// A user's signed act on users and groups (`namespace::accounts`).
    Accounts(crate::meta::accounts::AccountCmd),
    /// [`Command::Commit`] with the proof its writer signed
    /// (`namespace::proofs`), checked before it applies. On a private
    /// network every commit must be one of these.
    SignedCommit {
        commit: CommitCmd,
        proof: Box<crate::meta::proofs::Proof>,
    },
}

/// One version's manifest swapped for another of the same bytes
/// ([`Command::Replace`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    pub ino: Ino,
    pub version: u64,
    /// The id of the manifest being replaced (compare-and-swap).
    pub old: crate::fragment::FragmentId,
    pub manifest: Manifest,
}

/// What the mount knows of a caller beyond its uid and primary gid.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// Supplementary groups (ownership rules of `chown` and `chmod`).
    pub groups: Vec<u32>,
    /// The creator's umask, applied to a new inode only when its parent has
    /// no default ACL (otherwise the default ACL limits the mode).
    pub umask: Option<u16>,
}

/// What a successful command returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The created, linked, renamed-over or changed inode's attributes.
    Attr(Attr),
    /// The new head version and the file's attributes after the commit.
    Committed { version: u64, attr: Attr },
    /// Done, nothing to return.
    Done,
    /// One result per command of a [`Command::Batch`], in order.
    Batch(Vec<Result<Reply, FsError>>),
    /// Answer to [`Command::Retain`]: versions dropped, of live and of
    /// deleted files, and deleted files dropped whole.
    Retained { versions: u64, deleted_files: u64 },
    /// Answer to [`Command::Replace`]: items applied and items skipped
    /// (their version gone or changed since).
    Replaced { replaced: u64, skipped: u64 },
}

/// Why a command or query failed: the POSIX error a local filesystem would
/// give (the mount maps each to its errno).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum FsError {
    #[error("no such file or directory")]
    NotFound,
    #[error("file exists")]
    Exists,
    #[error("directory not empty")]
    NotEmpty,
    #[error("not a directory")]
    NotDir,
    #[error("is a directory")]
    IsDir,
    #[error("invalid argument")]
    Invalid,
    #[error("file name too long")]
    NameTooLong,
    #[error("too many links")]
    TooManyLinks,
    #[error("too many levels of symbolic links")]
    Loop,
    #[error("no such attribute")]
    NoData,
    #[error("attribute value too large")]
    TooBig,
    #[error("operation not permitted")]
    NotPermitted,
    #[error("version conflict: the head is {head:?}, not the base the commit names")]
    Conflict { head: Option<u64> },
    /// A conflicting lock is held (the lock table never waits).
    #[error("resource temporarily unavailable: a conflicting lock is held")]
    WouldBlock,
    #[error("no locks available")]
    NoLocks,
    /// Refused to someone not allowed in (a directory given to a group).
    #[error("permission denied")]
    Access,
    /// A link or rename across the edge of a directory given to a group.
    #[error("invalid cross-device link: the edge of a shared directory")]
    CrossShare,
}

/// What applying commands changed, for the caches of other nodes' mounts:
/// the inodes whose attributes, content, entries or existence changed, and
/// the directory entries `(directory, name)` that were added, removed or
/// now name another inode. A failed command changes nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    pub inodes: BTreeSet<Ino>,
    pub entries: BTreeSet<(Ino, String)>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.inodes.is_empty() && self.entries.is_empty()
    }

    /// Adds everything `other` names.
    pub fn extend(&mut self, other: Changes) {
        self.inodes.extend(other.inodes);
        self.entries.extend(other.entries);
    }

    /// Roughly how many bytes these changes take, to bound what is kept.
    pub fn weight(&self) -> usize {
        let entries: usize = self.entries.iter().map(|(_, n)| 16 + n.len()).sum();
        16 + self.inodes.len() * 8 + entries
    }
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirEntry {
    pub name: String,
    pub ino: Ino,
    pub kind: Kind,
}

#[cfg(test)]
mod tests {
    use super::Hlc;

    #[test]
    fn t10_hlc_moves_forward_even_when_the_wall_clock_does_not() {
        let a = Hlc {
            wall_ms: 100,
            logical: 0,
            node: 1,
        };
        let b = a.tick(90, 1);
        assert!(b > a);
        assert_eq!(
            b,
            Hlc {
                wall_ms: 100,
                logical: 1,
                node: 1
            }
        );
        let c = b.tick(200, 2);
        assert_eq!(
            c,
            Hlc {
                wall_ms: 200,
                logical: 0,
                node: 2
            }
        );
        // A reading from another node that is ahead wins the merge.
        let remote = Hlc {
            wall_ms: 500,
            logical: 3,
            node: 9,
        };
        let d = c.max(remote).tick(210, 2);
        assert!(d > remote);
    }
}
