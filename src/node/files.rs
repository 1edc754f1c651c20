//! Files with paths: storing a file's manifest as a new version of a path in
//! the namespace, and the listings the CLI shows (`ls`, `info`, `search`).
//! The bytes are stored first; the version is committed second.

use super::Shared;
use crate::{
    fragment::{FragmentId, Manifest},
    meta::{
        Attr, Caller, Command, FsError, Hlc, Ino, Kind, MetaError, Query, QueryReply, Reply, Time,
        Version, ROOT,
    },
    net,
};
use serde::{Deserialize, Serialize};
use std::{collections::HashSet, time::SystemTime};

pub fn now() -> Time {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Time {
        secs: d.as_secs() as i64,
        nanos: d.subsec_nanos(),
    }
}

/// This node's hybrid logical clock: the next reading, after both the last
/// one it gave and `seen` (the head version's reading), so a new version is
/// always later than the one it replaces even if wall clocks disagree.
fn hlc(shared: &Shared, seen: Option<Hlc>) -> Hlc {
    let t = now();
    let wall = t.secs as u64 * 1000 + t.nanos as u64 / 1_000_000;
    let mut last = shared.hlc.lock().unwrap_or_else(|e| e.into_inner());
    let base = seen.map_or(*last, |s| last.max(s));
    *last = base.tick(wall, shared.meta.node_id());
    *last
}

/// Splits an absolute path into its parent and last component.
fn split(path: &str) -> Result<(&str, &str), MetaError> {
    let p = path.trim_end_matches('/');
    if !p.starts_with('/') || p.is_empty() {
        return Err(MetaError::Fs(FsError::Invalid));
    }
    let i = p.rfind('/').unwrap_or(0);
    let parent = if i == 0 { "/" } else { &p[..i] };
    Ok((parent, &p[i + 1..]))
}

async fn stat(shared: &Shared, path: &str) -> Result<Attr, MetaError> {
    match shared
        .meta
        .read(Query::Stat {
            path: path.to_string(),
        })
        .await?
        .reply
    {
        QueryReply::Attr(a) => Ok(a),
        _ => Err(MetaError::Other("unexpected answer".into())),
    }
}

/// `mkdir -p`: the inode of directory `path`, creating what is missing.
async fn make_dirs(shared: &Shared, path: &str, caller: Caller) -> Result<u64, MetaError> {
    let mut ino = ROOT;
    let mut so_far = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        so_far.push('/');
        so_far.push_str(part);
        let cmd = Command::Mkdir {
            parent: ino,
            name: part.to_string(),
            perm: 0o755,
            caller,
            now: now(),
        };
        ino = match shared.meta.write(cmd).await {
            Ok(Reply::Attr(a)) => a.ino,
            Err(MetaError::Fs(FsError::Exists)) => {
                let a = stat(shared, &so_far).await?;
                if a.kind != Kind::Dir {
                    return Err(MetaError::Fs(FsError::NotDir));
                }
                a.ino
            }
            Ok(_) => return Err(MetaError::Other("unexpected answer".into())),
            Err(e) => return Err(e),
        };
    }
    Ok(ino)
}

/// `mkdir -p PATH` as root.
pub async fn mkdir_p(shared: &Shared, path: &str) -> Result<u64, MetaError> {
    if !path.starts_with('/') {
        return Err(MetaError::Fs(FsError::Invalid));
    }
    make_dirs(shared, path, Caller::ROOT).await
}

/// Every path with kind and size: through the leader, or with `local` from
/// this node's own replica (a voter's view, for comparing replicas).
pub async fn tree(
    shared: &Shared,
    local: bool,
) -> Result<(Vec<(String, String, u64)>, bool), MetaError> {
    let rows = |paths: Vec<(String, Attr)>| {
        paths
            .into_iter()
            .map(|(p, a)| (p, kind_name(a.kind).to_string(), a.size))
            .collect()
    };
    if local {
        let ns = shared.meta.local_namespace().ok_or(MetaError::NoVoter)?;
        return Ok((rows(ns.walk()), true));
    }
    let a = shared.meta.read(Query::Walk).await?;
    let QueryReply::Paths(p) = a.reply else {
        return Err(MetaError::Other("unexpected answer".into()));
    };
    Ok((rows(p), a.stale))
}

/// Makes `manifest` the newest version of the file at `path`, creating the
/// file and its parent directories as needed. Returns the version number.
pub async fn commit_at_path(
    shared: &Shared,
    path: &str,
    manifest: Manifest,
) -> Result<u64, MetaError> {
    let (parent, name) = split(path)?;
    let caller = Caller::ROOT;
    let dir = make_dirs(shared, parent, caller).await?;
    let author = format!("{}", shared.net.local_peer_id());
    // A concurrent writer may commit between our read of the head and our
    // commit: read the head again and retry (every version is kept).
    for _ in 0..5 {
        // One read gives the file and its head version; a directory or a
        // special file answers IsDir or Invalid.
        let existing = shared
            .meta
            .read(Query::History {
                path: path.to_string(),
            })
            .await
            .map(|a| a.reply);
        let (ino, base, seen) = match existing {
            Ok(QueryReply::History { attr, versions }) => {
                let head = versions.last();
                (attr.ino, head.map(|v| v.id), head.map(|v| v.hlc))
            }
            Ok(_) => return Err(MetaError::Other("unexpected answer".into())),
            Err(MetaError::Fs(FsError::NotFound)) => {
                let cmd = Command::Create {
                    parent: dir,
                    name: name.to_string(),
                    perm: 0o644,
                    caller,
                    now: now(),
                };
                match shared.meta.write(cmd).await {
                    Ok(Reply::Attr(a)) => (a.ino, None, None),
                    Err(MetaError::Fs(FsError::Exists)) => continue,
                    Ok(_) => return Err(MetaError::Other("unexpected answer".into())),
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let cmd = Command::CommitVersion {
            ino,
            base,
            manifest: manifest.clone(),
            author: author.clone(),
            hlc: hlc(shared, seen),
            caller,
            now: now(),
        };
        match shared.meta.write(cmd).await {
            Ok(Reply::Committed { version, .. }) => return Ok(version),
            Err(MetaError::Fs(FsError::Conflict { .. })) => continue,
            Ok(_) => return Err(MetaError::Other("unexpected answer".into())),
            Err(e) => return Err(e),
        }
    }
    Err(MetaError::Fs(FsError::Conflict { head: None }))
}

/// The attributes of inode `ino` and, for a regular file, its head version
/// (None before the first commit).
pub async fn head_of(shared: &Shared, ino: Ino) -> Result<(Attr, Option<Version>), MetaError> {
    match shared.meta.read(Query::Head { ino }).await?.reply {
        QueryReply::Head { attr, head } => Ok((attr, head)),
        _ => Err(MetaError::Other("unexpected answer".into())),
    }
}

/// Makes `manifest` the new head version of regular file `ino`, written on
/// top of `base` (the head the writer started from: its id and clock
/// reading). If another version was committed since, the new one goes on top
/// of that one instead (the last writer wins; every version is kept).
/// Returns the new version number, its clock reading and the file's
/// attributes.
pub async fn commit_ino(
    shared: &Shared,
    ino: Ino,
    base: Option<(u64, Hlc)>,
    manifest: Manifest,
    caller: Caller,
) -> Result<(u64, Hlc, Attr), MetaError> {
    let author = format!("{}", shared.net.local_peer_id());
    let mut base = base;
    for _ in 0..5 {
        let reading = hlc(shared, base.map(|b| b.1));
        let cmd = Command::CommitVersion {
            ino,
            base: base.map(|b| b.0),
            manifest: manifest.clone(),
            author: author.clone(),
            hlc: reading,
            caller,
            now: now(),
        };
        match shared.meta.write(cmd).await {
            Ok(Reply::Committed { version, attr }) => return Ok((version, reading, attr)),
            Err(MetaError::Fs(FsError::Conflict { .. })) => {
                base = head_of(shared, ino).await?.1.map(|v| (v.id, v.hlc))
            }
            Ok(_) => return Err(MetaError::Other("unexpected answer".into())),
            Err(e) => return Err(e),
        }
    }
    Err(MetaError::Fs(FsError::Conflict {
        head: base.map(|b| b.0),
    }))
}

/// The file id (manifest id) of the head version at `path`.
pub async fn head_id(shared: &Shared, path: &str) -> Result<FragmentId, MetaError> {
    match shared
        .meta
        .read(Query::History {
            path: path.to_string(),
        })
        .await?
        .reply
    {
        QueryReply::History { attr, versions } => match versions.last() {
            Some(v) => Ok(v.manifest.id()),
            None if attr.kind == Kind::Dir => Err(MetaError::Fs(FsError::IsDir)),
            None => Err(MetaError::Other(format!("{path} has no content yet"))),
        },
        _ => Err(MetaError::Other("unexpected answer".into())),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LsRow {
    pub name: String,
    pub kind: String,
    pub perm: u16,
    pub size: u64,
    pub mtime: i64,
    pub versions: u64,
    /// Fewest reachable copies of any fragment / replicas wanted.
    pub status: String,
    /// Distinct peers holding fragments of the head version.
    pub peers: u32,
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::File => "file",
        Kind::Dir => "dir",
        Kind::Symlink => "symlink",
        Kind::Fifo => "fifo",
        Kind::Socket => "socket",
        Kind::CharDev => "chardev",
        Kind::BlockDev => "blockdev",
    }
}

/// Peers whose copies count as reachable: connected storage peers and this
/// node when it stores.
async fn reachable(shared: &Shared) -> HashSet<crate::redundancy::NodeId> {
    let mut set: HashSet<_> = shared
        .net
        .storage_peers()
        .await
        .iter()
        .map(|p| net::node_id(&p.peer_id))
        .collect();
    if shared.store.is_some() {
        set.insert(net::node_id(&shared.net.local_peer_id()));
    }
    set
}

fn health(head: &Version, up: &HashSet<crate::redundancy::NodeId>) -> (String, u32) {
    let m = &head.manifest;
    let want = match m.redundancy {
        crate::redundancy::Redundancy::Replicas(r) => r.get(),
    };
    let least = m
        .fragments
        .iter()
        .map(|f| f.holders.iter().filter(|h| up.contains(h)).count())
        .min()
        .unwrap_or(want);
    let status = if least >= want {
        format!("ok {least}/{want}")
    } else if least == 0 {
        format!("unavailable 0/{want}")
    } else {
        format!("degraded {least}/{want}")
    };
    (status, m.holders().len() as u32)
}

pub async fn ls(shared: &Shared, path: &str) -> Result<(Vec<LsRow>, bool), MetaError> {
    let a = shared
        .meta
        .read(Query::List {
            path: path.to_string(),
        })
        .await?;
    let QueryReply::Listing(rows) = a.reply else {
        return Err(MetaError::Other("unexpected answer".into()));
    };
    let up = reachable(shared).await;
    let out = rows
        .into_iter()
        .map(|r| {
            let (status, peers) = match &r.head {
                Some(h) => health(h, &up),
                None if r.attr.kind == Kind::File => ("empty".to_string(), 0),
                None => ("-".to_string(), 0),
            };
            LsRow {
                name: r.name,
                kind: kind_name(r.attr.kind).into(),
                perm: r.attr.perm,
                size: r.attr.size,
                mtime: r.attr.mtime.secs,
                versions: r.head.map_or(0, |h| h.id),
                status,
                peers,
            }
        })
        .collect();
    Ok((out, a.stale))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoVersion {
    pub id: u64,
    pub parent: Option<u64>,
    pub size: u64,
    pub file_id: String,
    pub author: String,
    pub wall_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoFragment {
    pub index: u64,
    pub id: String,
    pub len: u32,
    /// (peer id, reachable now)
    pub holders: Vec<(String, bool)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoReport {
    pub path: String,
    pub kind: String,
    pub size: u64,
    pub perm: u16,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub status: String,
    pub fragment_size: u32,
    pub hash: String,
    pub fragments: Vec<InfoFragment>,
    pub versions: Vec<InfoVersion>,
    pub stale: bool,
}

pub async fn info(shared: &Shared, path: &str) -> Result<InfoReport, MetaError> {
    let a = shared
        .meta
        .read(Query::History {
            path: path.to_string(),
        })
        .await?;
    let QueryReply::History { attr, versions } = a.reply else {
        return Err(MetaError::Other("unexpected answer".into()));
    };
    let up = reachable(shared).await;
    let head = versions.last();
    let (status, _) = head
        .map(|h| health(h, &up))
        .unwrap_or_else(|| ("-".into(), 0));
    let fragments = head
        .map(|h| {
            h.manifest
                .fragments
                .iter()
                .enumerate()
                .map(|(i, f)| InfoFragment {
                    index: i as u64,
                    id: f.id.to_hex(),
                    len: f.len,
                    holders: f
                        .holders
                        .iter()
                        .map(|n| {
                            (
                                net::peer_of(n)
                                    .map(|p| p.to_string())
                                    .unwrap_or_else(|| "?".into()),
                                up.contains(n),
                            )
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(InfoReport {
        path: path.to_string(),
        kind: kind_name(attr.kind).into(),
        size: attr.size,
        perm: attr.perm,
        uid: attr.uid,
        gid: attr.gid,
        nlink: attr.nlink,
        status,
        fragment_size: head.map_or(0, |h| h.manifest.fragment_size.get()),
        hash: head.map_or(String::new(), |h| h.manifest.hash_algo.to_string()),
        fragments,
        versions: versions
            .iter()
            .map(|v| InfoVersion {
                id: v.id,
                parent: v.parent,
                size: v.manifest.size,
                file_id: v.manifest.id().to_hex(),
                author: v.author.peer.clone(),
                wall_ms: v.hlc.wall_ms,
            })
            .collect(),
        stale: a.stale,
    })
}

pub async fn search(
    shared: &Shared,
    text: &str,
) -> Result<(Vec<(String, String, u64)>, bool), MetaError> {
    let a = shared
        .meta
        .read(Query::Search {
            text: text.to_string(),
            limit: 1000,
        })
        .await?;
    let QueryReply::Paths(found) = a.reply else {
        return Err(MetaError::Other("unexpected answer".into()));
    };
    Ok((
        found
            .into_iter()
            .map(|(p, attr)| (p, kind_name(attr.kind).to_string(), attr.size))
            .collect(),
        a.stale,
    ))
}
