//! A file's version records: who wrote a version ([`Author`]), what it was
//! based on, what happened to it ([`Mark`]), which version owns each of its
//! fragment slots ([`OwnerRun`]), the command that commits one
//! ([`CommitCmd`]) and the namespace's record of conflicts, overrides and
//! resurrections ([`Event`]). Pure data and pure functions; part of the Raft
//! log and snapshot format (append-only enums: never reorder variants).

use super::types::{Caller, Hlc, Ino, Time};
use crate::fragment::Manifest;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who wrote a version: the node's peer id and the caller's uid (accounts
/// will plug in here).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Author {
    pub peer: String,
    pub uid: u32,
}

impl Author {
    /// The last 8 characters of the peer id (all of it when shorter): the
    /// author's part of a conflict copy's name.
    pub fn short(&self) -> &str {
        let start = self.peer.char_indices().rev().nth(7).map_or(0, |(i, _)| i);
        &self.peer[start..]
    }
}

/// `uid 1000 on 12D3KooW…` (the whole peer id).
impl fmt::Display for Author {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uid {} on {}", self.uid, self.peer)
    }
}

/// What happened when a version was committed, beyond a plain commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mark {
    /// A merge of the writer's change with version `with`, committed since
    /// the writer's base.
    Merged { with: u64 },
    /// The change could not merge with version `with`; the side that lost
    /// the name is kept as regular file `copy`, named `copy_name`.
    Conflict {
        with: u64,
        copy: Ino,
        copy_name: String,
    },
    /// Last writer wins: this version replaced `version`, which stays in
    /// history.
    Overrode { version: u64 },
    /// The file had been deleted since the writer's base; the change brought
    /// it back.
    Resurrected,
    /// The content of version `to`, committed again.
    Reverted { to: u64 },
}

impl Mark {
    /// Whether a commit with this mark is recorded in the event log.
    pub fn is_event(&self) -> bool {
        matches!(
            self,
            Mark::Conflict { .. } | Mark::Overrode { .. } | Mark::Resurrected
        )
    }
}

/// A run of fragment slots owned by one version: slot `i` is owned by the
/// version of the last run whose `first_slot` is at or before `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerRun {
    pub first_slot: u32,
    pub version: u64,
}

/// One version of a file's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// 1, 2, 3… per file, in commit order.
    pub id: u64,
    /// The version this one replaced as head (None for the first).
    pub parent: Option<u64>,
    pub manifest: Manifest,
    pub author: Author,
    pub hlc: Hlc,
    /// The version the writer started from; differs from `parent` when a
    /// merge or an override happened. The writer's word: not checked (a
    /// resurrected file was based on a version of the deleted one).
    pub based_on: Option<u64>,
    pub mark: Option<Mark>,
    /// Who owns each fragment slot, run-length encoded: at most one run per
    /// fragment, runs ordered by `first_slot`, the first at slot 0.
    pub owners: Vec<OwnerRun>,
}

impl Version {
    /// The version that last changed fragment slot `slot` (this version's
    /// own id for a slot past the runs, or when there are none).
    pub fn owner_of(&self, slot: u32) -> u64 {
        let runs = self.owners.partition_point(|r| r.first_slot <= slot);
        match runs {
            0 => self.id,
            n => self.owners[n - 1].version,
        }
    }
}

/// The owners of version `id`'s fragment slots when it replaces `head`: an
/// unchanged slot (same fragment id at the same place, same fragment size)
/// keeps the head's owner, a changed or new slot is owned by `id`.
pub fn owners_after(head: Option<&Version>, manifest: &Manifest, id: u64) -> Vec<OwnerRun> {
    let old = head.filter(|h| h.manifest.fragment_size == manifest.fragment_size);
    let mut runs: Vec<OwnerRun> = Vec::new();
    for (slot, frag) in manifest.fragments.iter().enumerate() {
        // Manifests hold far fewer than 2^32 fragments; a slot past that
        // is owned by the last run, so the bound still holds.
        let Ok(slot) = u32::try_from(slot) else { break };
        let unchanged = old.filter(|h| {
            h.manifest
                .fragments
                .get(slot as usize)
                .is_some_and(|f| f.id == frag.id)
        });
        let owner = unchanged.map_or(id, |h| h.owner_of(slot));
        if runs.last().is_none_or(|r| r.version != owner) {
            runs.push(OwnerRun {
                first_slot: slot,
                version: owner,
            });
        }
    }
    runs
}

/// Per fragment slot of version `id` among `versions` (a file's versions,
/// oldest first, ascending ids): the author and number of the version that
/// last changed it. None when there is no version `id`.
pub fn slot_owners(versions: &[Version], id: u64) -> Option<Vec<(Author, u64)>> {
    let v = find(versions, id)?;
    let slots = (0..v.manifest.fragments.len()).map(|slot| {
        let owner = v.owner_of(u32::try_from(slot).unwrap_or(u32::MAX));
        let author = find(versions, owner).map_or_else(|| v.author.clone(), |o| o.author.clone());
        (author, owner)
    });
    Some(slots.collect())
}

/// Version `id` of a file's versions (ascending ids; retention may have
/// dropped some).
pub fn find(versions: &[Version], id: u64) -> Option<&Version> {
    let i = versions.binary_search_by_key(&id, |v| v.id).ok()?;
    versions.get(i)
}

/// Commits a new head version of regular file `ino`
/// ([`super::Command::Commit`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitCmd {
    pub ino: Ino,
    /// The head this commit must replace (None: the file has no version
    /// yet); anything else fails with `Conflict { head }`.
    pub base: Option<u64>,
    /// The version the writer started from (see [`Version::based_on`]).
    pub based_on: Option<u64>,
    pub manifest: Manifest,
    pub author: Author,
    pub hlc: Hlc,
    pub caller: Caller,
    pub now: Time,
    pub mark: Option<Mark>,
    /// The conflict copy to create with the commit (with a
    /// [`Mark::Conflict`], whose `copy` and `copy_name` it fills).
    pub copy: Option<ConflictCopy>,
}

/// A new regular file `name` in directory `parent` holding version
/// `of_version` of the committed file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictCopy {
    pub parent: Ino,
    pub name: String,
    pub of_version: u64,
}

/// A commit that overrode, conflicted with or resurrected something.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, 3… in apply order, never reused.
    pub seq: u64,
    pub ino: Ino,
    /// The file's path when the commit was applied (its first link).
    pub path: String,
    pub version: u64,
    pub mark: Mark,
    pub author: Author,
    /// The commit's `now`.
    pub time: Time,
}
