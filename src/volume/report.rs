//! The listings the CLI shows (`ls`, `info`, `search`, `tree`): namespace
//! answers joined with which holders are reachable now.

use super::{
    history::{signer_of, version_rows, InfoVersion},
    reply, Volume, VolumeError,
};
use crate::{
    meta::proofs::Proof,
    meta::{slot_owners, Attr, Author, Kind, MetaError, Query, Version},
    net,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// Rows of `(path, kind, size)`.
pub type PathRows = Vec<(String, String, u64)>;

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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoFragment {
    pub index: u64,
    pub id: String,
    pub len: u32,
    /// (peer id, reachable now)
    pub holders: Vec<(String, bool)>,
    /// The peer of the author of the version that last changed this slot.
    pub owner: String,
    pub owner_uid: u32,
    /// The number of that version.
    pub owner_version: u64,
    /// The user who signed that version (None: its node).
    #[serde(default)]
    pub owner_user: Option<String>,
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
    /// The head's whole-file SHA3-256 in hex; empty when none is recorded
    /// (`fragfs sync` records it).
    pub file_sha3: String,
    /// The head's scheme (`replicas:N` or `rs:K+M`); empty without a head.
    pub redundancy: String,
}

/// `(fewest reachable copies of any fragment, copies wanted)` of `head`.
fn copies(head: &Version, up: &HashSet<crate::redundancy::NodeId>) -> (usize, usize) {
    let m = &head.manifest;
    // Copies of a replicated fragment, shards of a coded one.
    let want = m.redundancy.peers_needed();
    let least = m
        .fragments
        .iter()
        .map(|f| f.holders.iter().filter(|h| up.contains(h)).count())
        .min()
        .unwrap_or(want);
    (least, want)
}

fn health(head: &Version, up: &HashSet<crate::redundancy::NodeId>) -> (String, u32) {
    let m = &head.manifest;
    let (least, want) = copies(head, up);
    let status = if least >= want {
        format!("ok {least}/{want}")
    } else if least == 0 {
        format!("unavailable 0/{want}")
    } else {
        format!("degraded {least}/{want}")
    };
    (status, m.holders().len() as u32)
}

/// The fragments of `head` (the newest of `versions`) with their holders
/// and the author and number of the version that last changed each.
fn fragment_rows(
    versions: &[Version],
    proofs: &BTreeMap<u64, Proof>,
    head: &Version,
    up: &HashSet<crate::redundancy::NodeId>,
) -> Vec<InfoFragment> {
    let owners = slot_owners(versions, head.id).unwrap_or_default();
    head.manifest
        .fragments
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (author, version) = owners
                .get(i)
                .cloned()
                .unwrap_or_else(|| (head.author.clone(), head.id));
            let Author { peer, uid } = author;
            InfoFragment {
                index: i as u64,
                id: f.id.to_hex(),
                len: f.len,
                holders: f
                    .holders
                    .iter()
                    .map(|n| {
                        let peer = net::peer_of(n).map_or_else(|| "?".into(), |p| p.to_string());
                        (peer, up.contains(n))
                    })
                    .collect(),
                owner: peer,
                owner_uid: uid,
                owner_version: version,
                owner_user: signer_of(proofs, version),
            }
        })
        .collect()
}

fn path_rows(paths: Vec<(String, Attr)>) -> PathRows {
    paths
        .into_iter()
        .map(|(p, a)| (p, kind_name(a.kind).to_string(), a.size))
        .collect()
}

impl Volume {
    /// Peers whose copies count as reachable: connected storage peers and
    /// this node when it stores.
    async fn reachable(&self) -> HashSet<crate::redundancy::NodeId> {
        let net = &self.inner.net;
        let mut set: HashSet<_> = net
            .storage_peers()
            .await
            .iter()
            .map(|p| net::node_id(&p.peer_id))
            .collect();
        if self.inner.store.is_some() {
            set.insert(net::node_id(&net.local_peer_id()));
        }
        set
    }

    /// `(fewest reachable copies of any fragment, copies wanted)` of a
    /// version: its placed holders that are reachable now.
    pub async fn reachable_copies(&self, v: &Version) -> (usize, usize) {
        copies(v, &self.reachable().await)
    }

    /// A directory's rows (or a file's own), and whether the answer may be
    /// stale.
    pub async fn ls(&self, path: &str) -> Result<(Vec<LsRow>, bool), VolumeError> {
        let q = Query::List {
            path: path.to_string(),
        };
        let a = reply::answer(self.read(q).await?, reply::listing)?;
        let up = self.reachable().await;
        let out = a
            .value
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

    /// A file's attributes, fragments with their holders, and versions.
    pub async fn info(&self, path: &str) -> Result<InfoReport, VolumeError> {
        let q = Query::History {
            path: path.to_string(),
        };
        let a = reply::answer(self.read(q).await?, reply::history)?;
        let ((attr, versions), stale) = (a.value, a.stale);
        let proofs = self.proofs(attr.ino).await?;
        let up = self.reachable().await;
        let head = versions.last();
        let (status, _) = head
            .map(|h| health(h, &up))
            .unwrap_or_else(|| ("-".into(), 0));
        let fragments = head
            .map(|h| fragment_rows(&versions, &proofs, h, &up))
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
            versions: version_rows(&versions, &proofs),
            stale,
            file_sha3: head
                .filter(|h| h.manifest.has_file_hash())
                .map_or(String::new(), |h| hex::encode(h.manifest.file_sha3)),
            redundancy: head.map_or(String::new(), |h| {
                super::redundancy::spec_of(h.manifest.redundancy).to_string()
            }),
        })
    }

    /// Paths whose last component contains `text` (case-insensitive).
    pub async fn search(&self, text: &str) -> Result<(PathRows, bool), VolumeError> {
        let q = Query::Search {
            text: text.to_string(),
            limit: 1000,
        };
        let a = reply::answer(self.read(q).await?, reply::paths)?;
        Ok((path_rows(a.value), a.stale))
    }

    /// Every path with kind and size: through the leader, or with `local`
    /// from this node's own replica (a voter's view, for comparing
    /// replicas).
    pub async fn tree(&self, local: bool) -> Result<(PathRows, bool), VolumeError> {
        if local {
            let ns = self.meta().local_namespace().ok_or(MetaError::NoVoter)?;
            return Ok((path_rows(ns.walk()), true));
        }
        let a = reply::answer(self.read(Query::Walk).await?, reply::paths)?;
        Ok((path_rows(a.value), a.stale))
    }
}
