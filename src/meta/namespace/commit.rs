//! Committing a new head version of a regular file: the base check, the
//! owners of its fragment slots, its mark, the conflict copy created with
//! it and the event it records. Every check comes before the first
//! mutation, so a failed commit changes nothing (a copy name that exists
//! fails the whole commit).

use super::events::NewEvent;
use super::{check_name, kill_priv, Body, Inode, Namespace};
use crate::meta::types::{Attr, Caller, FsError, Ino, Kind, Reply, Time};
use crate::meta::versions::{
    find, owners_after, Author, CommitCmd, ConflictCopy, Mark, OwnerRun, Version,
};
use std::collections::{BTreeMap, BTreeSet};

impl Namespace {
    /// The old `CommitVersion`: a plain commit by `author` on this node.
    pub(super) fn commit_version(
        &mut self,
        ino: Ino,
        base: Option<u64>,
        legacy: LegacyCommit,
    ) -> Result<Reply, FsError> {
        self.commit(CommitCmd {
            ino,
            base,
            based_on: base,
            manifest: legacy.manifest,
            author: Author {
                peer: legacy.author,
                uid: legacy.caller.uid,
            },
            hlc: legacy.hlc,
            caller: legacy.caller,
            now: legacy.now,
            mark: None,
            copy: None,
        })
    }

    /// Applies [`crate::meta::Command::Commit`].
    pub(super) fn commit(&mut self, c: CommitCmd) -> Result<Reply, FsError> {
        let versions = match &self.node(c.ino)?.body {
            Body::File { versions } => versions,
            Body::Dir { .. } => return Err(FsError::IsDir),
            _ => return Err(FsError::Invalid),
        };
        let head = versions.last().map(|v| v.id);
        if c.base != head {
            return Err(FsError::Conflict { head });
        }
        check_mark(c.mark.as_ref(), c.copy.is_some(), head)?;
        let copy = match &c.copy {
            Some(copy) => Some(self.check_copy(c.ino, copy)?),
            None => None,
        };
        let owners = owners_after(versions.last(), &c.manifest, head.map_or(1, |h| h + 1));

        let perm = match c.caller.uid {
            0 => self.node(c.ino)?.attr.perm,
            _ => kill_priv(self.node(c.ino)?.attr.perm),
        };
        let mut mark = c.mark;
        if let Some(copy) = copy {
            let name = copy.name.clone();
            let of = copy.version.id;
            let new = self.make_copy(c.ino, copy, perm, c.now);
            if let Some(p) = self.proofs.get(c.ino, of).cloned() {
                self.proofs.insert(new, 1, p);
            }
            if let Some(Mark::Conflict {
                copy, copy_name, ..
            }) = &mut mark
            {
                (*copy, *copy_name) = (new, name);
            }
        }
        let id = head.map_or(1, |h| h + 1);
        let event = mark.clone().map(|mark| NewEvent {
            ino: c.ino,
            path: self.path_of(c.ino).unwrap_or_default(),
            version: id,
            mark,
            author: c.author.clone(),
            time: c.now,
        });
        let version = Version {
            id,
            parent: head,
            manifest: c.manifest,
            author: c.author,
            hlc: c.hlc,
            based_on: c.based_on,
            mark,
            owners,
        };
        let attr = self.push_version(c.ino, version, perm, c.now);
        if let Some(event) = event {
            self.record_event(event);
        }
        Ok(Reply::Committed { version: id, attr })
    }

    /// Checks that `copy` of file `ino` can be made: a valid name free in
    /// an existing directory, of a version the file has. Returns what
    /// [`Self::make_copy`] needs.
    fn check_copy(&self, ino: Ino, copy: &ConflictCopy) -> Result<CheckedCopy, FsError> {
        check_name(&copy.name)?;
        self.check_sealed_name(copy.parent, &copy.name)?;
        if self.dir(copy.parent)?.contains_key(&copy.name) {
            return Err(FsError::Exists);
        }
        let Body::File { versions } = &self.node(ino)?.body else {
            return Err(FsError::Invalid);
        };
        let of = find(versions, copy.of_version).ok_or(FsError::Invalid)?;
        Ok(CheckedCopy {
            parent: copy.parent,
            name: copy.name.clone(),
            version: of.clone(),
        })
    }

    /// Creates the checked conflict copy of `ino`, with mode `perm`, and
    /// returns its inode number.
    fn make_copy(&mut self, ino: Ino, copy: CheckedCopy, perm: u16, now: Time) -> Ino {
        let (uid, gid) = {
            let a = &self.node_mut(ino).attr;
            (a.uid, a.gid)
        };
        let new = self.next_ino;
        self.next_ino += 1;
        let mut v = copy.version;
        let owners = match v.manifest.fragments.is_empty() {
            true => Vec::new(),
            false => vec![OwnerRun {
                first_slot: 0,
                version: 1,
            }],
        };
        let attr = Attr {
            ino: new,
            kind: Kind::File,
            perm,
            uid,
            gid,
            size: v.manifest.size,
            nlink: 1,
            atime: now,
            mtime: now,
            ctime: now,
            rdev: 0,
        };
        (v.id, v.parent, v.based_on, v.mark, v.owners) = (1, None, None, None, owners);
        self.inodes.insert(
            new,
            Inode {
                attr,
                links: BTreeSet::from([(copy.parent, copy.name.clone())]),
                xattrs: BTreeMap::new(),
                body: Body::File { versions: vec![v] },
            },
        );
        self.entries_mut(copy.parent).insert(copy.name, new);
        self.node_mut(copy.parent).touch(now);
        new
    }

    /// Makes `v` the head of file `ino` (checked to be a regular file) and
    /// returns the file's attributes.
    fn push_version(&mut self, ino: Ino, v: Version, perm: u16, now: Time) -> Attr {
        let node = self.node_mut(ino);
        node.attr.size = v.manifest.size;
        node.attr.mtime = now;
        node.attr.ctime = now;
        node.attr.perm = perm;
        if let Body::File { versions } = &mut node.body {
            versions.push(v);
        }
        node.attr.clone()
    }
}

/// A conflict copy whose name, directory and version were checked.
struct CheckedCopy {
    parent: Ino,
    name: String,
    version: Version,
}

/// The fields of the old [`crate::meta::Command::CommitVersion`] besides
/// the file and its base.
pub(super) struct LegacyCommit {
    pub manifest: crate::fragment::Manifest,
    pub author: String,
    pub hlc: crate::meta::types::Hlc,
    pub caller: Caller,
    pub now: Time,
}

/// A mark must name versions the file has (1..=head), and a conflict comes
/// with its copy and a copy with its conflict.
fn check_mark(mark: Option<&Mark>, has_copy: bool, head: Option<u64>) -> Result<(), FsError> {
    let known = |v: u64| (1..=head.unwrap_or(0)).contains(&v);
    let ok = match mark {
        Some(Mark::Merged { with }) | Some(Mark::Conflict { with, .. }) => known(*with),
        Some(Mark::Overrode { version }) => known(*version),
        Some(Mark::Reverted { to }) => known(*to),
        Some(Mark::Resurrected) | None => true,
    };
    let conflict = matches!(mark, Some(Mark::Conflict { .. }));
    if !ok || conflict != has_copy {
        return Err(FsError::Invalid);
    }
    Ok(())
}
