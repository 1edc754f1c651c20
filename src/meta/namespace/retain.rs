//! Retention: what the namespace keeps of old versions and of deleted
//! files, and the fragments everything it keeps refers to.
//!
//! A regular file whose last link goes is not forgotten at once: its
//! versions move to the trash ([`Deleted`]) with its path, its directory
//! and the time, and stay there for the retention period of that
//! directory. [`Command::Retain`](crate::meta::Command::Retain) applies the
//! retention policies (`user.fragfs.keep`, inherited like the merge policy,
//! [`KeepPolicy::DEFAULT`] where none is set or the value does not parse)
//! at the command's own `now`: it drops the versions no policy keeps (never
//! a head, nor one superseded less than `lifecycle::keep::SETTLE_MS` ago)
//! and the deleted files whose period ended, except what the command names
//! as protected and what a mount holds open (`holds.rs`). Pure like the rest of the namespace: the
//! same log gives every replica the same result.
//!
//! [`Namespace::fragment_refs`] lists, a page of inodes at a time, every
//! fragment id a kept version refers to (its fragments and its manifest's
//! own id): what the garbage collectors of the stores must not delete.

use super::{Body, Inode, Namespace};
use crate::fragment::FragmentId;
use crate::lifecycle::keep::{deleted_file_expired, retained, KeepPolicy, VersionInfo};
use crate::meta::types::{Ino, Reply, Time, Version};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A deleted regular file, kept for its retention period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    /// Its path when its last link went.
    pub path: String,
    /// The directory that held that link (its retention policy applies).
    pub parent: Ino,
    /// When its last link went.
    pub at: Time,
    /// Its versions, oldest first.
    pub versions: Vec<Version>,
}

/// Milliseconds since the Unix epoch of `t` (0 before it).
fn ms(t: Time) -> u64 {
    u64::try_from(t.secs)
        .unwrap_or(0)
        .saturating_mul(1000)
        .saturating_add(u64::from(t.nanos / 1_000_000))
}

fn infos(versions: &[Version]) -> Vec<VersionInfo> {
    versions
        .iter()
        .map(|v| VersionInfo {
            id: v.id,
            wall_ms: v.hlc.wall_ms,
        })
        .collect()
}

impl Namespace {
    /// The path entry `name` of directory `dir` has (or had).
    pub(super) fn entry_path(&self, dir: Ino, name: &str) -> String {
        match self.path_of(dir) {
            Some(p) if p != "/" => format!("{p}/{name}"),
            _ => format!("/{name}"),
        }
    }

    /// Keeps the versions of `node`, an inode whose last link (in `parent`,
    /// at `path`) just went; anything but a file with versions is dropped.
    pub(super) fn keep_deleted(
        &mut self,
        ino: Ino,
        node: Inode,
        parent: Ino,
        path: String,
        now: Time,
    ) {
        if let Body::File { versions } = node.body {
            if !versions.is_empty() {
                let gone = Deleted {
                    path,
                    parent,
                    at: now,
                    versions,
                };
                self.trash.insert(ino, gone);
            }
        }
    }

    /// The deleted files still kept, by inode.
    pub fn trash(&self) -> &BTreeMap<Ino, Deleted> {
        &self.trash
    }

    /// The retention policy in effect at `ino` (the default when it is
    /// gone, has none above it, or its value does not parse).
    fn keep_policy(&self, ino: Ino) -> KeepPolicy {
        self.inherited(ino, KeepPolicy::XATTR)
            .ok()
            .flatten()
            .and_then(|(_, raw)| KeepPolicy::parse(&raw).ok())
            .unwrap_or(KeepPolicy::DEFAULT)
    }

    /// [`Command::Retain`](crate::meta::Command::Retain).
    pub(super) fn retain(&mut self, now: Time, protected: &[(Ino, u64)]) -> Reply {
        let now_ms = ms(now);
        let mut guarded: BTreeMap<Ino, BTreeSet<u64>> = BTreeMap::new();
        for (ino, v) in protected.iter().copied().chain(self.holds.held_at(now)) {
            guarded.entry(ino).or_default().insert(v);
        }
        self.holds.expire(now);
        let none = BTreeSet::new();
        let mut kept: Vec<(Ino, BTreeSet<u64>)> = Vec::new();
        for (ino, node) in &self.inodes {
            if let Body::File { versions } = &node.body {
                if versions.len() > 1 {
                    let policy = self.keep_policy(*ino);
                    let protect = guarded.get(ino).unwrap_or(&none);
                    kept.push((*ino, retained(&infos(versions), &policy, now_ms, protect)));
                }
            }
        }
        let mut dropped = 0u64;
        for (ino, keep) in kept {
            if let Some(Inode {
                body: Body::File { versions },
                ..
            }) = self.inodes.get_mut(&ino)
            {
                let before = versions.len();
                versions.retain(|v| keep.contains(&v.id));
                dropped += (before - versions.len()) as u64;
            }
        }
        let expired: Vec<Ino> = self
            .trash
            .iter()
            .filter(|(ino, d)| {
                !guarded.contains_key(ino)
                    && deleted_file_expired(ms(d.at), &self.keep_policy(d.parent), now_ms)
            })
            .map(|(ino, _)| *ino)
            .collect();
        for ino in &expired {
            if let Some(d) = self.trash.remove(ino) {
                dropped += d.versions.len() as u64;
            }
        }
        self.forget_proofs();
        Reply::Retained {
            versions: dropped,
            deleted_files: expired.len() as u64,
        }
    }

    /// The fragment ids that the kept versions of the inodes (live or
    /// deleted) numbered above `after` refer to, their manifests' ids
    /// included, stopping after the inode that brings the count to `max`
    /// or more; with the last inode visited when more remain.
    pub fn fragment_refs(&self, after: Ino, max: usize) -> (Vec<FragmentId>, Option<Ino>) {
        let mut ids = BTreeSet::new();
        let mut files = self.kept_files(after).peekable();
        while let Some((ino, versions)) = files.next() {
            for v in versions {
                ids.insert(v.manifest.id());
                ids.extend(v.manifest.fragments.iter().map(|f| f.id));
            }
            if ids.len() >= max && files.peek().is_some() {
                return (ids.into_iter().collect(), Some(ino));
            }
        }
        (ids.into_iter().collect(), None)
    }
}
