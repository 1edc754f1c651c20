//! A file's versions as the CLI shows them (`info`, `history`): when each
//! was committed, by whom, on what, which fragment slots it changed, and
//! what happened to it in words. Pure functions over version records, and
//! [`Volume::history_report`].

use super::{reply, Volume, VolumeError};
use crate::meta::proofs::{Proof, Signer};
use crate::meta::{find_version, Mark, Query, Version};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One version of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoVersion {
    pub id: u64,
    /// The version this one replaced as head.
    pub parent: Option<u64>,
    /// The version its writer started from (differs from `parent` after a
    /// merge or an override).
    pub based_on: Option<u64>,
    pub size: u64,
    pub file_id: String,
    /// `uid N on PEER`.
    pub author: String,
    /// The user who signed it (None: signed by its node, or unsigned).
    #[serde(default)]
    pub signer: Option<String>,
    pub author_peer: String,
    pub author_uid: u32,
    pub wall_ms: u64,
    /// The commit time, RFC 3339 UTC to the second.
    pub time: String,
    /// What happened, in words ("merged with v3", "reverted to v2"…).
    pub mark: Option<String>,
    /// Fragment slots whose fragment differs from the parent's (every slot
    /// of a first version).
    pub changed: Vec<u64>,
}

/// Every version of a file, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryReport {
    pub path: String,
    pub versions: Vec<InfoVersion>,
    /// Whether a replica that could not confirm it is up to date answered.
    pub stale: bool,
}

/// `YYYY-MM-DDTHH:MM:SSZ` of `secs` since the Unix epoch: the time part of
/// the history tree's entry names.
pub fn rfc3339(secs: i64) -> String {
    let name = crate::version::history_name(0, secs, 0);
    name.split_once('@')
        .map_or(name.clone(), |(_, t)| t.to_string())
}

/// A mark in words.
pub fn mark_text(mark: &Mark) -> String {
    match mark {
        Mark::Merged { with } => format!("merged with v{with}"),
        Mark::Conflict {
            with, copy_name, ..
        } => format!("conflict with v{with}, other side kept as {copy_name}"),
        Mark::Overrode { version } => format!("overrode v{version}"),
        Mark::Resurrected => "resurrected".to_string(),
        Mark::Reverted { to } => format!("reverted to v{to}"),
    }
}

/// The fragment slots of `v` whose fragment differs from `parent`'s at
/// the same slot (all of them without a parent, or when the fragment size
/// changed).
pub fn changed_slots(v: &Version, parent: Option<&Version>) -> Vec<u64> {
    let parent = parent.filter(|p| p.manifest.fragment_size == v.manifest.fragment_size);
    v.manifest
        .fragments
        .iter()
        .enumerate()
        .filter(|(slot, f)| {
            parent
                .and_then(|p| p.manifest.fragments.get(*slot))
                .is_none_or(|old| old.id != f.id)
        })
        .map(|(slot, _)| slot as u64)
        .collect()
}

/// The user who signed version `id`, by its proof (None: its node, or
/// no proof).
pub fn signer_of(proofs: &BTreeMap<u64, Proof>, id: u64) -> Option<String> {
    match &proofs.get(&id)?.signer {
        Signer::User(u) => Some(u.clone()),
        Signer::Node => None,
    }
}

/// The rows of a file's `versions` (oldest first, ids 1, 2, 3…), with the
/// signing user of each from `proofs`.
pub fn version_rows(versions: &[Version], proofs: &BTreeMap<u64, Proof>) -> Vec<InfoVersion> {
    versions
        .iter()
        .map(|v| {
            let parent = v.parent.and_then(|p| find_version(versions, p));
            let secs = i64::try_from(v.hlc.wall_ms / 1000).unwrap_or(i64::MAX);
            InfoVersion {
                id: v.id,
                parent: v.parent,
                based_on: v.based_on,
                size: v.manifest.size,
                file_id: v.manifest.id().to_hex(),
                author: v.author.to_string(),
                signer: signer_of(proofs, v.id),
                author_peer: v.author.peer.clone(),
                author_uid: v.author.uid,
                wall_ms: v.hlc.wall_ms,
                time: rfc3339(secs),
                mark: v.mark.as_ref().map(mark_text),
                changed: changed_slots(v, parent),
            }
        })
        .collect()
}

impl Volume {
    /// Every version of the file at `path`, oldest first.
    pub async fn history_report(&self, path: &str) -> Result<HistoryReport, VolumeError> {
        let q = Query::History {
            path: path.to_string(),
        };
        let a = reply::answer(self.read(q).await?, reply::history)?;
        let proofs = self.proofs(a.value.0.ino).await?;
        Ok(HistoryReport {
            path: path.to_string(),
            versions: version_rows(&a.value.1, &proofs),
            stale: a.stale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Author, Hlc};

    use crate::volume::test_manifest as manifest;

    fn version(id: u64, frags: &[u8], mark: Option<Mark>) -> Version {
        Version {
            id,
            parent: id.checked_sub(1).filter(|p| *p > 0),
            manifest: manifest(frags),
            author: Author {
                peer: "12D3KooWpeer".into(),
                uid: 1000,
            },
            hlc: Hlc {
                wall_ms: 1_798_761_600_000 + 3_723_456,
                ..Hlc::default()
            },
            based_on: id.checked_sub(1).filter(|p| *p > 0),
            mark,
            owners: vec![],
        }
    }

    #[test]
    fn t10_times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_600 + 3723), "2027-01-01T01:02:03Z");
    }

    #[test]
    fn t10_marks_in_words() {
        let conflict = Mark::Conflict {
            with: 3,
            copy: 9,
            copy_name: "a.conflict-x.txt".into(),
        };
        assert_eq!(mark_text(&Mark::Merged { with: 3 }), "merged with v3");
        assert_eq!(
            mark_text(&conflict),
            "conflict with v3, other side kept as a.conflict-x.txt"
        );
        assert_eq!(mark_text(&Mark::Overrode { version: 3 }), "overrode v3");
        assert_eq!(mark_text(&Mark::Resurrected), "resurrected");
        assert_eq!(mark_text(&Mark::Reverted { to: 2 }), "reverted to v2");
    }

    #[test]
    fn t10_changed_slots_against_the_parent() {
        let versions = [
            version(1, &[1, 2, 3], None),
            version(2, &[1, 9, 3, 4], None),
            version(3, &[1], Some(Mark::Reverted { to: 1 })),
        ];
        let rows = version_rows(&versions, &BTreeMap::new());
        assert_eq!(rows[0].changed, vec![0, 1, 2]);
        assert_eq!(rows[1].changed, vec![1, 3]);
        assert_eq!(rows[2].changed, Vec::<u64>::new());
        assert_eq!(rows[2].mark.as_deref(), Some("reverted to v1"));
        assert_eq!(rows[1].time, "2027-01-01T01:02:03Z");
        assert_eq!(rows[1].author, "uid 1000 on 12D3KooWpeer");
        assert_eq!((rows[1].parent, rows[1].based_on), (Some(1), Some(1)));
    }
}
