//! Where kept versions' bytes are, and changing that without changing the
//! bytes.
//!
//! [`Namespace::placements`] pages through every kept version (of live
//! and of deleted files) with its manifest, whose entries name their
//! holders: what repair reads to find the fragments a lost peer held.
//!
//! [`Command::Replace`](crate::meta::Command::Replace) swaps a version's
//! manifest for one describing the same bytes
//! ([`Manifest::same_content`]): new holders after a repair, another
//! redundancy after re-encoding. Each item names the id of the manifest
//! it replaces; an item whose version is gone (retention) or whose
//! manifest changed since (a recorded hash, another replacement) is
//! skipped, so a replacement computed from an old read never undoes a
//! newer change. Attributes, owners, marks and version numbers stay.

use super::{Body, Namespace};
use crate::fragment::Manifest;
use crate::meta::types::{FsError, Ino, Replacement, Reply, Version};
use serde::{Deserialize, Serialize};

/// One kept version and where its bytes are ([`Namespace::placements`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    pub ino: Ino,
    pub version: u64,
    pub manifest: Manifest,
}

impl Namespace {
    /// The regular files (live or deleted) numbered above `after` with
    /// their kept versions, in inode order.
    pub(super) fn kept_files(&self, after: Ino) -> impl Iterator<Item = (Ino, &[Version])> {
        let start = after.saturating_add(1);
        let mut live = self
            .inodes
            .range(start..)
            .filter_map(|(ino, n)| match &n.body {
                Body::File { versions } => Some((*ino, versions.as_slice())),
                _ => None,
            })
            .peekable();
        let mut gone = self
            .trash
            .range(start..)
            .map(|(ino, d)| (*ino, d.versions.as_slice()))
            .peekable();
        // Both in inode order (an inode is live or deleted, never both).
        std::iter::from_fn(move || match (live.peek(), gone.peek()) {
            (Some(l), Some(g)) if g.0 < l.0 => gone.next(),
            (Some(_), _) => live.next(),
            (None, _) => gone.next(),
        })
    }

    /// The kept versions of the files numbered above `after`, with their
    /// manifests, stopping after the file that brings the number of
    /// fragment entries to `max` or more; with the last inode visited
    /// when more remain.
    pub fn placements(&self, after: Ino, max: usize) -> (Vec<Placed>, Option<Ino>) {
        let mut out = Vec::new();
        let mut entries = 0;
        let mut files = self.kept_files(after).peekable();
        while let Some((ino, versions)) = files.next() {
            for v in versions {
                entries += v.manifest.fragments.len().max(1);
                out.push(Placed {
                    ino,
                    version: v.id,
                    manifest: v.manifest.clone(),
                });
            }
            if entries >= max && files.peek().is_some() {
                return (out, Some(ino));
            }
        }
        (out, None)
    }

    /// Applies [`Command::Replace`](crate::meta::Command::Replace): checks
    /// every item first (a well-formed manifest of the same bytes as the
    /// one it replaces), then swaps, in order, those whose version still
    /// has manifest `old`.
    pub(super) fn replace(&mut self, items: Vec<Replacement>) -> Result<Reply, FsError> {
        for item in &items {
            item.manifest.check().map_err(|_| FsError::Invalid)?;
            let current = self.kept_version(item.ino, item.version);
            let due = current.filter(|v| v.manifest.id() == item.old);
            if due.is_some_and(|v| !v.manifest.same_content(&item.manifest)) {
                return Err(FsError::Invalid);
            }
        }
        let (mut replaced, mut skipped) = (0, 0);
        for item in items {
            match self.kept_version_mut(item.ino, item.version) {
                Some(v) if v.manifest.id() == item.old => {
                    let ids_changed = !v.manifest.same_bytes(&item.manifest);
                    v.manifest = item.manifest;
                    if ids_changed {
                        self.proofs.reencoded(item.ino, item.version);
                    }
                    replaced += 1;
                }
                _ => skipped += 1,
            }
        }
        Ok(Reply::Replaced { replaced, skipped })
    }

    /// Version `id` of file `ino`, live or deleted.
    fn kept_version(&self, ino: Ino, id: u64) -> Option<&Version> {
        let versions = match self.inodes.get(&ino).map(|n| &n.body) {
            Some(Body::File { versions }) => versions.as_slice(),
            Some(_) => return None,
            None => self.trash.get(&ino)?.versions.as_slice(),
        };
        crate::meta::versions::find(versions, id)
    }

    fn kept_version_mut(&mut self, ino: Ino, id: u64) -> Option<&mut Version> {
        let versions = match self.inodes.get_mut(&ino).map(|n| &mut n.body) {
            Some(Body::File { versions }) => versions,
            Some(_) => return None,
            None => &mut self.trash.get_mut(&ino)?.versions,
        };
        versions.iter_mut().find(|v| v.id == id)
    }
}
