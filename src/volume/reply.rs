//! The one place where metadata replies are matched: one small function per
//! kind of reply, each turning a reply of another kind into
//! [`VolumeError::Protocol`] (never a panic).

use super::ns::ListedEntry;
use super::VolumeError;
use crate::fragment::FragmentId;
use crate::meta::{
    Attr, DirEntry, Event, Ino, ListRow, Lock, Placed, QueryReply, ReadAnswer, Reply, Version,
    Xattrs,
};

pub(super) fn wrong(want: &str, got: impl std::fmt::Debug) -> VolumeError {
    let mut got = format!("{got:?}");
    got.truncate(120);
    VolumeError::Protocol(format!("expected {want}, the namespace answered {got}"))
}

/// A query answer, and whether a replica that could not confirm it is up
/// to date gave it.
pub(crate) struct Answer<T> {
    pub value: T,
    pub stale: bool,
}

/// Applies `f` to the reply of `a`, keeping `stale`.
pub(crate) fn answer<T>(
    a: ReadAnswer,
    f: impl FnOnce(QueryReply) -> Result<T, VolumeError>,
) -> Result<Answer<T>, VolumeError> {
    Ok(Answer {
        value: f(a.reply)?,
        stale: a.stale,
    })
}

pub(crate) fn attr(r: QueryReply) -> Result<Attr, VolumeError> {
    match r {
        QueryReply::Attr(a) => Ok(a),
        other => Err(wrong("attributes", other)),
    }
}

pub(crate) fn listing(r: QueryReply) -> Result<Vec<ListRow>, VolumeError> {
    match r {
        QueryReply::Listing(rows) => Ok(rows),
        other => Err(wrong("a listing", other)),
    }
}

pub(crate) fn history(r: QueryReply) -> Result<(Attr, Vec<Version>), VolumeError> {
    match r {
        QueryReply::History { attr, versions } => Ok((attr, versions)),
        other => Err(wrong("a history", other)),
    }
}

pub(crate) fn paths(r: QueryReply) -> Result<Vec<(String, Attr)>, VolumeError> {
    match r {
        QueryReply::Paths(p) => Ok(p),
        other => Err(wrong("paths", other)),
    }
}

pub(crate) fn entries(r: QueryReply) -> Result<Vec<DirEntry>, VolumeError> {
    match r {
        QueryReply::Entries(e) => Ok(e),
        other => Err(wrong("directory entries", other)),
    }
}

pub(crate) fn target(r: QueryReply) -> Result<String, VolumeError> {
    match r {
        QueryReply::Target(t) => Ok(t),
        other => Err(wrong("a link target", other)),
    }
}

/// A head version and the proof the namespace holds for it.
pub(crate) type ProvenHead = (
    Attr,
    Option<(Version, Option<Box<crate::meta::proofs::Proof>>)>,
);

pub(crate) fn head(r: QueryReply) -> Result<ProvenHead, VolumeError> {
    match r {
        QueryReply::Head { attr, head, proof } => Ok((attr, head.map(|h| (h, proof)))),
        other => Err(wrong("a head version", other)),
    }
}

pub(crate) fn entries_all(r: QueryReply) -> Result<Vec<ListedEntry>, VolumeError> {
    match r {
        QueryReply::EntriesAll(e) => Ok(e),
        other => Err(wrong("entries with attributes and xattrs", other)),
    }
}

pub(crate) fn xattrs(r: QueryReply) -> Result<Xattrs, VolumeError> {
    match r {
        QueryReply::Xattrs(x) => Ok(x),
        other => Err(wrong("extended attributes", other)),
    }
}

pub(crate) fn lock(r: QueryReply) -> Result<Option<Lock>, VolumeError> {
    match r {
        QueryReply::Lock(l) => Ok(l),
        other => Err(wrong("a lock", other)),
    }
}

pub(crate) fn inherited(r: QueryReply) -> Result<Option<(Ino, Vec<u8>)>, VolumeError> {
    match r {
        QueryReply::Inherited(i) => Ok(i),
        other => Err(wrong("an inherited attribute", other)),
    }
}

pub(crate) fn events(r: QueryReply) -> Result<Vec<Event>, VolumeError> {
    match r {
        QueryReply::Events(e) => Ok(e),
        other => Err(wrong("events", other)),
    }
}

pub(crate) fn path(r: QueryReply) -> Result<String, VolumeError> {
    match r {
        QueryReply::Path(p) => Ok(p),
        other => Err(wrong("a path", other)),
    }
}

/// A command's reply: the attributes of the inode it changed.
pub(crate) fn changed(r: Reply) -> Result<Attr, VolumeError> {
    match r {
        Reply::Attr(a) => Ok(a),
        other => Err(wrong("attributes", other)),
    }
}

/// A commit's reply: the new version and the file's attributes.
pub(crate) fn committed(r: Reply) -> Result<(u64, Attr), VolumeError> {
    match r {
        Reply::Committed { version, attr } => Ok((version, attr)),
        other => Err(wrong("a committed version", other)),
    }
}

/// The answer to `Query::FragmentRefs`: a page of ids, and where the next
/// page starts.
pub(crate) fn fragment_refs(r: QueryReply) -> Result<(Vec<FragmentId>, Option<Ino>), VolumeError> {
    match r {
        QueryReply::FragmentRefs { ids, next } => Ok((ids, next)),
        other => Err(wrong("fragment references", other)),
    }
}

/// The answer to `Command::Retain`: versions and deleted files dropped.
pub(crate) fn retained(r: Reply) -> Result<(u64, u64), VolumeError> {
    match r {
        Reply::Retained {
            versions,
            deleted_files,
        } => Ok((versions, deleted_files)),
        other => Err(wrong("a retention result", other)),
    }
}

/// The answer to `Query::Placements`: a page of versions with their
/// manifests, and where the next page starts.
pub(crate) fn placements(r: QueryReply) -> Result<(Vec<Placed>, Option<Ino>), VolumeError> {
    match r {
        QueryReply::Placements { versions, next } => Ok((versions, next)),
        other => Err(wrong("placements", other)),
    }
}

/// The answer to `Command::Replace`: items replaced and skipped.
pub(crate) fn replaced(r: Reply) -> Result<(u64, u64), VolumeError> {
    match r {
        Reply::Replaced { replaced, skipped } => Ok((replaced, skipped)),
        other => Err(wrong("a replacement result", other)),
    }
}

/// A command that returns nothing. (Some commands answer attributes even
/// when the caller has no use for them: any success is accepted.)
pub(crate) fn done(r: Reply) -> Result<(), VolumeError> {
    match r {
        Reply::Batch(_) => Err(wrong("done", r)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::ROOT;

    fn is_protocol<T: std::fmt::Debug>(r: Result<T, VolumeError>) -> bool {
        matches!(r, Err(VolumeError::Protocol(_)))
    }

    #[test]
    fn t10_a_reply_of_the_wrong_kind_is_a_protocol_error() {
        let q = || QueryReply::Target("x".into());
        assert!(is_protocol(attr(q())));
        assert!(is_protocol(listing(q())));
        assert!(is_protocol(history(q())));
        assert!(is_protocol(paths(q())));
        assert!(is_protocol(entries(q())));
        assert!(is_protocol(xattrs(q())));
        assert!(is_protocol(head(q())));
        assert!(is_protocol(entries_all(q())));
        assert!(is_protocol(lock(q())));
        assert!(is_protocol(inherited(q())));
        assert!(is_protocol(events(q())));
        assert!(is_protocol(path(q())));
        assert!(is_protocol(target(QueryReply::Names(vec![]))));
        assert!(is_protocol(changed(Reply::Done)));
        assert!(is_protocol(committed(Reply::Done)));
        assert!(is_protocol(done(Reply::Batch(vec![]))));
    }

    #[test]
    fn t10_a_reply_of_the_right_kind_is_its_value() {
        assert_eq!(
            target(QueryReply::Target("t".into())).ok(),
            Some("t".into())
        );
        let x: Xattrs = [("user.a".to_string(), vec![1, 2])].into();
        assert_eq!(xattrs(QueryReply::Xattrs(x.clone())).ok(), Some(x));
        assert_eq!(
            entries_all(QueryReply::EntriesAll(vec![])).ok(),
            Some(vec![])
        );
        assert_eq!(lock(QueryReply::Lock(None)).ok(), Some(None));
        assert_eq!(inherited(QueryReply::Inherited(None)).ok(), Some(None));
        assert_eq!(events(QueryReply::Events(vec![])).ok(), Some(vec![]));
        assert_eq!(path(QueryReply::Path("/a".into())).ok(), Some("/a".into()));
        assert!(done(Reply::Done).is_ok());
        let _ = ROOT;
    }
}
