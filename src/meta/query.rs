//! Read-only questions to the namespace and their answers; pure.

use super::{
    namespace::{Lock, LockKind, LockOwner, Namespace},
    types::{Attr, DirEntry, Event, FsError, Ino, Time, Version},
};
use crate::fragment::FragmentId;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// Attributes of the inode a path names (symlinks followed).
    Stat {
        path: String,
    },
    /// A directory's entries with attributes and head versions; for a file,
    /// the file itself.
    List {
        path: String,
    },
    /// A file's attributes and every version.
    History {
        path: String,
    },
    /// Paths whose last component contains `text` (case-insensitive).
    Search {
        text: String,
        limit: usize,
    },
    Getattr {
        ino: Ino,
    },
    Lookup {
        parent: Ino,
        name: String,
    },
    Readdir {
        ino: Ino,
    },
    Readlink {
        ino: Ino,
    },
    Getxattr {
        ino: Ino,
        name: String,
    },
    Listxattr {
        ino: Ino,
    },
    /// Every path with its attributes.
    Walk,
    /// An inode's attributes and, for a regular file, its head version.
    Head {
        ino: Ino,
    },
    /// A directory's entries with their attributes (readdirplus).
    ReaddirPlus {
        ino: Ino,
    },
    /// The first live lock of another owner that keeps `owner` from taking
    /// `kind` on bytes `start..=end` of `ino` at `now` (`F_GETLK`).
    Lock {
        ino: Ino,
        owner: LockOwner,
        kind: LockKind,
        start: u64,
        end: u64,
        now: Time,
    },
    /// Version `id` of regular file `ino` (NotFound if it has none such).
    Version {
        ino: Ino,
        id: u64,
    },
    /// A file's attributes and every version, by inode (answered like
    /// [`Query::History`]).
    HistoryOf {
        ino: Ino,
    },
    /// Extended attribute `name` of `ino` or, failing that, of the nearest
    /// directory above it that has one (up to the root): a policy that a
    /// directory sets for everything below it.
    Inherited {
        ino: Ino,
        name: String,
    },
    /// The last `limit` recorded conflicts, overrides and resurrections
    /// whose path is `path` or lies under it (all for None), oldest first.
    Events {
        path: Option<String>,
        limit: usize,
    },
    /// One absolute path of `ino` (its first link).
    PathOf {
        ino: Ino,
    },
    /// The fragment ids kept versions refer to, a page at a time: inodes
    /// numbered above `after`, up to about `max` ids
    /// ([`Namespace::fragment_refs`]).
    FragmentRefs {
        after: Ino,
        max: u32,
    },
    /// The kept versions with their manifests (where their bytes are), a
    /// page at a time: files numbered above `after`, up to about `max`
    /// fragment entries ([`Namespace::placements`]).
    Placements {
        after: Ino,
        max: u32,
    },
    /// Who belongs to the network (`namespace::members`).
    Members,
    /// Users and groups (`namespace::accounts`).
    Accounts,
    /// The directories given to groups (`namespace::shares`).
    Shares,
    /// The shared directory `ino` lies in, if any.
    Cover {
        ino: Ino,
    },
    /// The proofs of every version of `ino` that has one, by version.
    Proofs {
        ino: Ino,
    },
    /// Every extended attribute of `ino` with its value.
    Xattrs {
        ino: Ino,
    },
    /// A directory's entries with their attributes and, when they are
    /// small (at most [`LISTED_XATTRS_MAX`] bytes together), their
    /// extended attributes: what a listing with `ls -l` asks of each.
    ReaddirAll {
        ino: Ino,
    },
}

/// The most bytes of names and values of one entry's extended attributes
/// a [`Query::ReaddirAll`] carries; an entry with more is listed without
/// them (None) and asked for them when they are read.
pub const LISTED_XATTRS_MAX: usize = 1024;

/// Extended attributes by name.
pub type Xattrs = std::collections::BTreeMap<String, Vec<u8>>;

/// The most ids one [`Query::FragmentRefs`] page aims at (about 2 MiB
/// encoded, well under a metadata frame).
pub const MAX_REFS_PAGE: u32 = 50_000;

/// The most fragment entries one [`Query::Placements`] page aims at
/// (under 3 MiB encoded with five holders an entry).
pub const MAX_PLACEMENTS_PAGE: u32 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    pub name: String,
    pub attr: Attr,
    pub head: Option<Version>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryReply {
    Attr(Attr),
    Listing(Vec<ListRow>),
    History {
        attr: Attr,
        versions: Vec<Version>,
    },
    Paths(Vec<(String, Attr)>),
    Entries(Vec<DirEntry>),
    Target(String),
    Value(Vec<u8>),
    Names(Vec<String>),
    /// Answer to [`Query::Head`]: `head` is None for a file with no version
    /// yet and for anything that is not a regular file.
    Head {
        attr: Attr,
        head: Option<Version>,
        /// What vouches for `head` (`namespace::proofs`).
        proof: Option<Box<crate::meta::proofs::Proof>>,
    },
    /// Answer to [`Query::ReaddirPlus`].
    EntriesPlus(Vec<(DirEntry, Attr)>),
    /// Answer to [`Query::Lock`]: None when nothing is in the way.
    Lock(Option<Lock>),
    /// Answer to [`Query::Version`].
    Version(Version),
    /// Answer to [`Query::Inherited`]: the inode holding the attribute and
    /// its value, or None when neither `ino` nor a directory above has it.
    Inherited(Option<(Ino, Vec<u8>)>),
    /// Answer to [`Query::Events`].
    Events(Vec<Event>),
    /// Answer to [`Query::PathOf`].
    Path(String),
    /// Answer to [`Query::FragmentRefs`]: the ids, and the inode to ask
    /// after next when more remain.
    FragmentRefs {
        ids: Vec<FragmentId>,
        next: Option<Ino>,
    },
    /// Answer to [`Query::Placements`]: the versions, and the inode to ask
    /// after next when more remain.
    Placements {
        versions: Vec<crate::meta::Placed>,
        next: Option<Ino>,
    },
    /// Answer to [`Query::Members`].
    Members(crate::meta::members::Members),
    /// Answer to [`Query::Accounts`].
    Accounts(crate::meta::accounts::Accounts),
    /// Answer to [`Query::Shares`].
    Shares(std::collections::BTreeMap<Ino, crate::meta::shares::Share>),
    /// Answer to [`Query::Cover`].
    Cover(Option<Ino>),
    /// Answer to [`Query::Proofs`].
    Proofs(std::collections::BTreeMap<u64, crate::meta::proofs::Proof>),
    /// Answer to [`Query::Xattrs`].
    Xattrs(Xattrs),
    /// Answer to [`Query::ReaddirAll`].
    EntriesAll(Vec<(DirEntry, Attr, Option<Xattrs>)>),
}

fn row(ns: &Namespace, name: String, attr: Attr) -> ListRow {
    let head = ns.head(attr.ino).ok().flatten().cloned();
    ListRow { name, attr, head }
}

/// Directory `ino`'s entries with their attributes, each made into a row
/// by `row`.
fn listing<T>(
    ns: &Namespace,
    ino: Ino,
    row: impl Fn(DirEntry, Attr) -> Result<T, FsError>,
) -> Result<Vec<T>, FsError> {
    ns.readdir(ino)?
        .into_iter()
        .map(|e| {
            let attr = ns.getattr(e.ino)?;
            row(e, attr)
        })
        .collect()
}

/// Answers `q` from `ns`.
pub fn answer(ns: &Namespace, q: &Query) -> Result<QueryReply, FsError> {
    Ok(match q {
        Query::Stat { path } => QueryReply::Attr(ns.getattr(ns.resolve(path)?)?),
        Query::List { path } => {
            let ino = ns.resolve(path)?;
            let attr = ns.getattr(ino)?;
            if attr.kind == super::types::Kind::Dir {
                let mut rows = Vec::new();
                for e in ns.readdir(ino)? {
                    rows.push(row(ns, e.name, ns.getattr(e.ino)?));
                }
                QueryReply::Listing(rows)
            } else {
                let name = path.rsplit('/').next().unwrap_or("").to_string();
                QueryReply::Listing(vec![row(ns, name, attr)])
            }
        }
        Query::History { path } => {
            let ino = ns.resolve(path)?;
            QueryReply::History {
                attr: ns.getattr(ino)?,
                versions: ns.versions(ino)?.to_vec(),
            }
        }
        Query::Search { text, limit } => {
            let needle = text.to_lowercase();
            let found = ns
                .walk()
                .into_iter()
                .filter(|(p, _)| {
                    p.rsplit('/')
                        .next()
                        .is_some_and(|n| n.to_lowercase().contains(&needle))
                })
                .take(*limit)
                .collect();
            QueryReply::Paths(found)
        }
        Query::Getattr { ino } => QueryReply::Attr(ns.getattr(*ino)?),
        Query::Lookup { parent, name } => QueryReply::Attr(ns.lookup(*parent, name)?),
        Query::Readdir { ino } => QueryReply::Entries(ns.readdir(*ino)?),
        Query::Readlink { ino } => QueryReply::Target(ns.readlink(*ino)?),
        Query::Getxattr { ino, name } => QueryReply::Value(ns.getxattr(*ino, name)?),
        Query::Listxattr { ino } => QueryReply::Names(ns.listxattr(*ino)?),
        Query::Walk => QueryReply::Paths(ns.walk()),
        Query::Head { ino } => {
            let attr = ns.getattr(*ino)?;
            let head = if attr.kind == super::types::Kind::File {
                ns.head(*ino)?.cloned()
            } else {
                None
            };
            let proof = head
                .as_ref()
                .and_then(|h| ns.proofs().get(*ino, h.id))
                .cloned()
                .map(Box::new);
            QueryReply::Head { attr, head, proof }
        }
        Query::Xattrs { ino } => QueryReply::Xattrs(ns.xattrs(*ino)?.clone()),
        Query::ReaddirAll { ino } => QueryReply::EntriesAll(listing(ns, *ino, |e, attr| {
            let x = ns.xattrs(e.ino)?;
            let weight: usize = x.iter().map(|(k, v)| k.len() + v.len()).sum();
            let x = (weight <= LISTED_XATTRS_MAX).then(|| x.clone());
            Ok((e, attr, x))
        })?),
        Query::ReaddirPlus { ino } => {
            QueryReply::EntriesPlus(listing(ns, *ino, |e, attr| Ok((e, attr)))?)
        }
        Query::Lock {
            ino,
            owner,
            kind,
            start,
            end,
            now,
        } => QueryReply::Lock(ns.locks().conflict(*ino, *owner, *kind, *start, *end, *now)),
        Query::Version { ino, id } => QueryReply::Version(ns.version(*ino, *id)?.clone()),
        Query::HistoryOf { ino } => QueryReply::History {
            attr: ns.getattr(*ino)?,
            versions: ns.versions(*ino)?.to_vec(),
        },
        Query::Inherited { ino, name } => QueryReply::Inherited(ns.inherited(*ino, name)?),
        Query::Events { path, limit } => {
            QueryReply::Events(ns.events().matching(path.as_deref(), *limit))
        }
        Query::PathOf { ino } => QueryReply::Path(ns.path_of(*ino).ok_or(FsError::NotFound)?),
        Query::FragmentRefs { after, max } => {
            // At most a page's worth, whatever the asker wants.
            let max = (*max).clamp(1, MAX_REFS_PAGE) as usize;
            let (ids, next) = ns.fragment_refs(*after, max);
            QueryReply::FragmentRefs { ids, next }
        }
        Query::Placements { after, max } => {
            let max = (*max).clamp(1, MAX_PLACEMENTS_PAGE) as usize;
            let (versions, next) = ns.placements(*after, max);
            QueryReply::Placements { versions, next }
        }
        Query::Members => QueryReply::Members(ns.members().clone()),
        Query::Accounts => QueryReply::Accounts(ns.accounts().clone()),
        Query::Shares => QueryReply::Shares(ns.shares().clone()),
        Query::Cover { ino } => {
            ns.getattr(*ino)?;
            QueryReply::Cover(ns.cover(*ino).map(|(dir, _)| dir))
        }
        Query::Proofs { ino } => {
            ns.getattr(*ino)?;
            QueryReply::Proofs(ns.proofs().of(*ino))
        }
    })
}
