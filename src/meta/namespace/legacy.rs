//! The namespace as older snapshots encode it, read and converted to
//! today's shape. Snapshot format 5 had no shares and no proofs
//! ([`NamespaceV5`]); format 4 had no members ([`NamespaceV4`]);
//! format 3 had no holds either ([`NamespaceV3`]); format 2
//! had no trash of deleted files either
//! ([`NamespaceV2`]). Snapshot format 1 (`meta::store`) had versions without
//! `based_on`, `mark` and `owners` and an author that was only a peer id,
//! and no event log; before file locks it also had no lock table. A
//! converted version gets `Author { peer, uid: 0 }`, `based_on = parent`,
//! no mark, and owners computed by comparing each manifest with the one
//! before it, as a commit computes them.

use super::accounts::Accounts;
use super::members::Members;
use super::{Body, Deleted, EventLog, Holds, Inode, LockTable, Namespace};
use crate::fragment::Manifest;
use crate::meta::types::{Attr, Hlc, Ino};
use crate::meta::versions::{owners_after, Author, Version};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// A version as snapshot format 1 encodes it.
#[derive(Deserialize)]
struct VersionV1 {
    id: u64,
    parent: Option<u64>,
    manifest: Manifest,
    author: String,
    hlc: Hlc,
}

/// [`Body`] of snapshot format 1 (the variants in the same order).
#[derive(Deserialize)]
enum BodyV1 {
    File { versions: Vec<VersionV1> },
    Dir { entries: BTreeMap<String, Ino> },
    Symlink { target: String },
    Special,
}

#[derive(Deserialize)]
struct InodeV1 {
    attr: Attr,
    links: BTreeSet<(Ino, String)>,
    xattrs: BTreeMap<String, Vec<u8>>,
    body: BodyV1,
}

/// A namespace in snapshot format 1.
#[derive(Deserialize)]
pub struct NamespaceV1 {
    inodes: BTreeMap<Ino, InodeV1>,
    next_ino: Ino,
    locks: LockTable,
}

/// A namespace as snapshots written before file locks encode it (format 1
/// without the lock table, its last field): read as one with no locks.
#[derive(Deserialize)]
pub struct NamespaceWithoutLocks {
    inodes: BTreeMap<Ino, InodeV1>,
    next_ino: Ino,
}

/// A namespace in snapshot format 2: today's without the trash.
#[derive(Deserialize)]
pub struct NamespaceV2 {
    inodes: BTreeMap<Ino, Inode>,
    next_ino: Ino,
    locks: LockTable,
    events: EventLog,
}

impl From<NamespaceV2> for Namespace {
    fn from(old: NamespaceV2) -> Self {
        Namespace {
            inodes: old.inodes,
            next_ino: old.next_ino,
            locks: old.locks,
            events: old.events,
            trash: BTreeMap::new(),
            holds: Holds::default(),
            members: Default::default(),
            accounts: Default::default(),
            shares: BTreeMap::new(),
            proofs: Default::default(),
        }
    }
}

/// The namespace as snapshot format 3 encodes it: before holds.
#[derive(Deserialize)]
pub struct NamespaceV3 {
    inodes: BTreeMap<Ino, Inode>,
    next_ino: Ino,
    locks: LockTable,
    events: EventLog,
    trash: BTreeMap<Ino, Deleted>,
}

impl From<NamespaceV3> for Namespace {
    fn from(old: NamespaceV3) -> Self {
        Namespace {
            inodes: old.inodes,
            next_ino: old.next_ino,
            locks: old.locks,
            events: old.events,
            trash: old.trash,
            holds: Holds::default(),
            members: Default::default(),
            accounts: Default::default(),
            shares: BTreeMap::new(),
            proofs: Default::default(),
        }
    }
}

/// The namespace as snapshot format 4 encodes it: before members.
#[derive(Deserialize)]
pub struct NamespaceV4 {
    inodes: BTreeMap<Ino, Inode>,
    next_ino: Ino,
    locks: LockTable,
    events: EventLog,
    trash: BTreeMap<Ino, Deleted>,
    holds: Holds,
}

impl From<NamespaceV4> for Namespace {
    fn from(old: NamespaceV4) -> Self {
        Namespace {
            inodes: old.inodes,
            next_ino: old.next_ino,
            locks: old.locks,
            events: old.events,
            trash: old.trash,
            holds: old.holds,
            members: Default::default(),
            accounts: Default::default(),
            shares: BTreeMap::new(),
            proofs: Default::default(),
        }
    }
}

/// The namespace as snapshot format 5 encodes it: before shares and
/// proofs.
#[derive(Deserialize)]
pub struct NamespaceV5 {
    inodes: BTreeMap<Ino, Inode>,
    next_ino: Ino,
    locks: LockTable,
    events: EventLog,
    trash: BTreeMap<Ino, Deleted>,
    holds: Holds,
    members: Members,
    accounts: Accounts,
}

impl From<NamespaceV5> for Namespace {
    fn from(old: NamespaceV5) -> Self {
        Namespace {
            inodes: old.inodes,
            next_ino: old.next_ino,
            locks: old.locks,
            events: old.events,
            trash: old.trash,
            holds: old.holds,
            members: old.members,
            accounts: old.accounts,
            shares: BTreeMap::new(),
            proofs: Default::default(),
        }
    }
}

impl From<NamespaceV1> for Namespace {
    fn from(old: NamespaceV1) -> Self {
        Namespace {
            inodes: convert(old.inodes),
            next_ino: old.next_ino,
            locks: old.locks,
            events: Default::default(),
            trash: BTreeMap::new(),
            holds: Holds::default(),
            members: Default::default(),
            accounts: Default::default(),
            shares: BTreeMap::new(),
            proofs: Default::default(),
        }
    }
}

impl From<NamespaceWithoutLocks> for Namespace {
    fn from(old: NamespaceWithoutLocks) -> Self {
        NamespaceV1 {
            inodes: old.inodes,
            next_ino: old.next_ino,
            locks: LockTable::default(),
        }
        .into()
    }
}

fn convert(inodes: BTreeMap<Ino, InodeV1>) -> BTreeMap<Ino, Inode> {
    inodes
        .into_iter()
        .map(|(ino, n)| {
            let body = match n.body {
                BodyV1::File { versions } => Body::File {
                    versions: convert_versions(versions),
                },
                BodyV1::Dir { entries } => Body::Dir { entries },
                BodyV1::Symlink { target } => Body::Symlink { target },
                BodyV1::Special => Body::Special,
            };
            let inode = Inode {
                attr: n.attr,
                links: n.links,
                xattrs: n.xattrs,
                body,
            };
            (ino, inode)
        })
        .collect()
}

fn convert_versions(old: Vec<VersionV1>) -> Vec<Version> {
    let mut out: Vec<Version> = Vec::with_capacity(old.len());
    for v in old {
        let owners = owners_after(out.last(), &v.manifest, v.id);
        out.push(Version {
            id: v.id,
            parent: v.parent,
            manifest: v.manifest,
            author: Author {
                peer: v.author,
                uid: 0,
            },
            hlc: v.hlc,
            based_on: v.parent,
            mark: None,
            owners,
        });
    }
    out
}
