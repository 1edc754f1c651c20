//! The namespace's log of conflicts, overrides and resurrections, as the
//! CLI lists it (`fragfs conflicts`).

use super::{history::rfc3339, reply, Volume, VolumeError};
use crate::meta::{Event, Mark, Query};
use serde::{Deserialize, Serialize};

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    pub seq: u64,
    /// RFC 3339 UTC, to the second.
    pub time: String,
    pub path: String,
    /// The version the commit made.
    pub version: u64,
    /// `conflict`, `override`, `resurrection` (or `merge`, `revert`).
    pub kind: String,
    /// `uid N on PEER`.
    pub author: String,
    /// The other version involved (the one conflicted with or overridden).
    pub other: Option<u64>,
    /// For a conflict: the name of the copy that keeps the other side.
    pub copy: Option<String>,
}

impl From<Event> for EventRow {
    fn from(e: Event) -> Self {
        let (kind, other, copy) = match e.mark {
            Mark::Conflict {
                with, copy_name, ..
            } => ("conflict", Some(with), Some(copy_name)),
            Mark::Overrode { version } => ("override", Some(version), None),
            Mark::Resurrected => ("resurrection", None, None),
            Mark::Merged { with } => ("merge", Some(with), None),
            Mark::Reverted { to } => ("revert", Some(to), None),
        };
        EventRow {
            seq: e.seq,
            time: rfc3339(e.time.secs),
            path: e.path,
            version: e.version,
            kind: kind.to_string(),
            author: e.author.to_string(),
            other,
            copy,
        }
    }
}

impl Volume {
    /// The last `limit` recorded events whose path is `path` or lies under
    /// it (all for None), oldest first, and whether the answer may be
    /// stale.
    pub async fn events(
        &self,
        path: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Event>, bool), VolumeError> {
        let q = Query::Events {
            path: path.map(str::to_string),
            limit,
        };
        let a = reply::answer(self.read(q).await?, reply::events)?;
        Ok((a.value, a.stale))
    }
}
