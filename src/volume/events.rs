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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Author, Time};

    fn event(mark: Mark) -> Event {
        Event {
            seq: 4,
            ino: 7,
            path: "/docs/a.txt".into(),
            version: 5,
            mark,
            author: Author {
                peer: "12D3KooWpeer".into(),
                uid: 1000,
            },
            time: Time {
                secs: 1_798_761_600 + 61,
                nanos: 9,
            },
        }
    }

    #[test]
    fn t10_event_rows_name_the_kind_and_the_other_side() {
        let conflict = EventRow::from(event(Mark::Conflict {
            with: 4,
            copy: 9,
            copy_name: "a.conflict-x.txt".into(),
        }));
        assert_eq!(conflict.kind, "conflict");
        assert_eq!(conflict.other, Some(4));
        assert_eq!(conflict.copy.as_deref(), Some("a.conflict-x.txt"));
        assert_eq!(conflict.time, "2027-01-01T00:01:01Z");
        assert_eq!(conflict.author, "uid 1000 on 12D3KooWpeer");
        assert_eq!((conflict.seq, conflict.version), (4, 5));
        assert_eq!(conflict.path, "/docs/a.txt");

        let overrode = EventRow::from(event(Mark::Overrode { version: 4 }));
        assert_eq!(
            (overrode.kind.as_str(), overrode.other),
            ("override", Some(4))
        );
        assert_eq!(overrode.copy, None);
        let back = EventRow::from(event(Mark::Resurrected));
        assert_eq!((back.kind.as_str(), back.other), ("resurrection", None));
    }
}
