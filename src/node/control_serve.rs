//! The node's side of the control socket: reads one request per
//! connection and answers it through the node's [`Volume`](crate::volume::Volume)
//! and its network, with progress events while a put or get runs.

use super::{pins::PinError, Shared};
use crate::{
    client::{ClientConfig, Progress},
    control::{read_msg, write_msg, Event, PeerRow, PutOptions, Request, StatusReport},
    fragment::{FragmentId, FragmentSize},
    lifecycle::RedundancySpec,
    meta::{Caller, Ino, Kind},
    redundancy::{Redundancy, Replicas, WriteQuorum},
    task::Tasks,
    version::Policy,
    volume::Volume,
};
use std::{
    future::Future,
    io,
    path::PathBuf,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};
use tokio::net::{UnixListener, UnixStream};

pub(crate) async fn serve(shared: Arc<Shared>, listener: UnixListener, tasks: Tasks) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let shared = shared.clone();
                tasks.spawn("control-conn", async move {
                    if let Err(e) = handle(shared, stream).await {
                        tracing::debug!(error = %e, "control connection ended");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn handle(shared: Arc<Shared>, mut s: UnixStream) -> io::Result<()> {
    let req: Request = match read_msg(&mut s).await {
        Ok(r) => r,
        Err(e) => {
            return write_msg(&mut s, &Event::Error(format!("bad control request: {e}"))).await
        }
    };
    let v = &shared.volume;
    let event = match req {
        Request::Put {
            path,
            name,
            options,
            dest,
        } => put(&shared, &mut s, path, name, options, dest).await?,
        Request::Get { id, out } => get(&shared, &mut s, id, out).await?,
        Request::Peers => Event::Peers(peer_rows(&shared).await),
        Request::Status => Event::Status(status(&shared).await),
        Request::Workers => Event::Workers(shared.workers.reports()),
        Request::Repair => Event::Repair(shared.repair.report()),
        Request::Invite { role, valid_secs } => invite(&shared, &role, valid_secs).await,
        Request::Members => members_report(&shared).await,
        Request::Account(cmd) => account(&shared, cmd).await,
        Request::Accounts => match shared.meta.read(crate::meta::Query::Accounts).await {
            Ok(crate::meta::ReadAnswer {
                reply: crate::meta::QueryReply::Accounts(a),
                ..
            }) => Event::Accounts(a),
            Ok(_) => Event::Error("unexpected answer from the metadata service".into()),
            Err(e) => Event::Error(e.to_string()),
        },
        Request::Revoke { peer } => match super::members::revoke(&shared, &peer).await {
            Ok(()) => Event::Done(format!("revoked {peer}")),
            Err(e) => Event::Error(e),
        },
        Request::Stat { path } => match v.stat(&path).await {
            Ok(a) => Event::Stat(a),
            Err(e) => Event::Error(format!("{path}: {e}")),
        },
        Request::Shares => match share_rows(v).await {
            Ok(rows) => Event::Shares(rows),
            Err(e) => Event::Error(e.to_string()),
        },
        Request::Ls { path } => match v.ls(&path).await {
            Ok((rows, stale)) => Event::Listing { rows, stale },
            Err(e) => Event::Error(format!("{path}: {e}")),
        },
        Request::Info { path } => match v.info(&path).await {
            Ok(r) => Event::Info(r),
            Err(e) => Event::Error(format!("{path}: {e}")),
        },
        Request::Search { text } => match v.search(&text).await {
            Ok((rows, stale)) => Event::Found { rows, stale },
            Err(e) => Event::Error(e.to_string()),
        },
        Request::MetaStatus => Event::MetaStatus(shared.meta.status()),
        Request::Mkdir { paths } => mkdir(&shared, &paths).await,
        Request::Tree { local } => match v.tree(local).await {
            Ok((rows, stale)) => Event::Tree { rows, stale },
            Err(e) => Event::Error(e.to_string()),
        },
        Request::MetaAdd { addr } => match addr.parse() {
            Err(_) => Event::Error(format!("{addr} is not a multiaddr")),
            Ok(a) => match shared.meta.add_voter(&a).await {
                Ok(()) => Event::Done(format!("added {addr} as a metadata voter")),
                Err(e) => Event::Error(e.to_string()),
            },
        },
        Request::MetaRemove { node_id } => match shared.meta.remove_voter(node_id).await {
            Ok(()) => Event::Done(format!("removed metadata voter {node_id}")),
            Err(e) => Event::Error(e.to_string()),
        },
        Request::Pin { path } => pin(&shared, &path).await,
        Request::Unpin { path } => unpin(&shared, &path).await,
        Request::Pins => Event::Pins(shared.pins.report(&shared).await),
        Request::Sync { path } => match super::sync::sync(&shared, &path).await {
            Ok(r) => Event::Synced(r),
            Err(e) => Event::Error(e),
        },
        Request::History { path } => match v.history_report(&path).await {
            Ok(r) => Event::History(r),
            Err(e) => Event::Error(format!("{path}: {e}")),
        },
        Request::Revert { path, version } => match v.revert(&path, version, Caller::ROOT).await {
            Ok(c) => Event::Reverted {
                path,
                version: c.version,
            },
            Err(e) => Event::Error(format!("{path}: {e}")),
        },
        Request::Policy { path, set } => policy(v, path, set).await,
        Request::Redundancy { path, set } => redundancy(v, path, set).await,
        Request::Conflicts { path, limit } => match v.events(path.as_deref(), limit).await {
            Ok((events, stale)) => Event::Conflicts {
                rows: events.into_iter().map(Into::into).collect(),
                stale,
            },
            Err(e) => Event::Error(e.to_string()),
        },
    };
    write_msg(&mut s, &event).await
}

/// Stores the file at `path`; with `dest`, commits it as the newest
/// version of that path.
async fn put(
    shared: &Shared,
    s: &mut UnixStream,
    path: PathBuf,
    name: Option<String>,
    options: PutOptions,
    dest: Option<String>,
) -> io::Result<Event> {
    let mut cfg = match client_config(shared.client.config(), &options) {
        Err(e) => return Ok(Event::Error(e)),
        Ok(cfg) => cfg,
    };
    // Without --redundancy, a file put at a path follows the spec its
    // directory sets (`user.fragfs.redundancy`), if any.
    if let (Some(d), None) = (&dest, options.redundancy) {
        match shared.volume.redundancy_set_for(d).await {
            Ok(Some(r)) => cfg = cfg.writing(r),
            Ok(None) => {}
            Err(e) => return Ok(Event::Error(format!("{d}: {e}"))),
        }
    }
    let client = shared.client.with_config(cfg);
    let progress = Progress::new();
    let p = progress.clone();
    let fut = async move { client.put_file(&path, name, p).await };
    let r = match with_progress(s, &progress, fut).await? {
        Ok(r) => r,
        Err(e) => return Ok(Event::Error(e.to_string())),
    };
    let committed = match &dest {
        Some(d) => shared
            .volume
            .commit_at_path(d, r.manifest.clone())
            .await
            .map(|c| Some(c.version)),
        None => Ok(None),
    };
    Ok(match committed {
        Ok(version) => Event::PutDone {
            id: r.id.to_hex(),
            size: r.manifest.size,
            fragments: r.manifest.fragments.len() as u64,
            min_copies: r.min_copies as u32,
            peers: progress.peer_count() as u32,
            path: dest,
            version,
        },
        Err(e) => Event::Error(format!(
            "stored as {} but not recorded at {}: {e}",
            r.id,
            dest.unwrap_or_default()
        )),
    })
}

/// Fetches file `id` (a file id or an absolute path) into `out`.
/// A path's head is fetched by the manifest the namespace records (its
/// copy on the peers may still be on its way).
async fn get(shared: &Shared, s: &mut UnixStream, id: String, out: PathBuf) -> io::Result<Event> {
    let head = match id.starts_with('/') {
        true => match shared.volume.head_manifest(&id).await {
            Ok(m) => Some(m),
            Err(e) => return Ok(Event::Error(format!("{id}: {e}"))),
        },
        false => None,
    };
    let id = match &head {
        Some(m) => m.id(),
        None => match resolve_id(shared, &id).await {
            Err(e) => return Ok(Event::Error(e)),
            Ok(id) => id,
        },
    };
    let client = shared.client.clone();
    let progress = Progress::new();
    let p = progress.clone();
    let fut = async move {
        match head {
            Some(m) => client.get_manifest_file(m, &out, p).await,
            None => client.get_file(&id, &out, p).await,
        }
    };
    Ok(match with_progress(s, &progress, fut).await? {
        Ok(r) => Event::GetDone {
            size: r.manifest.size,
            fragments: r.manifest.fragments.len() as u64,
            peers: r.peers as u32,
            retries: r.retries,
        },
        Err(e) => Event::Error(e.to_string()),
    })
}

/// `mkdir -p` of each path, stopping at the first failure.
async fn mkdir(shared: &Shared, paths: &[String]) -> Event {
    let mut made = 0;
    for p in paths {
        if let Err(e) = shared.volume.mkdir_p(p).await {
            return Event::Error(format!("{p}: {e}"));
        }
        made += 1;
    }
    Event::Done(format!(
        "{made} director{} present",
        if made == 1 { "y" } else { "ies" }
    ))
}

/// Pins the file at `path`, or every regular file under the directory
/// at `path`, and completes the new pins before answering.
async fn pin(shared: &Shared, path: &str) -> Event {
    if shared.store.is_none() {
        return Event::Error(PinError::NoStore.to_string());
    }
    let files = match files_at(shared, path).await {
        Ok(f) => f,
        Err(e) => return Event::Error(e),
    };
    let (count, inos): (usize, Vec<Ino>) = (files.len(), files.iter().map(|f| f.0).collect());
    if let Err(e) = shared.pins.add(files).await {
        return Event::Error(format!("cannot save the pins: {e}"));
    }
    match shared.pins.complete(shared, Some(&inos)).await {
        (fetched, None) => Event::Done(format!(
            "pinned {count} file(s) at {path}; {fetched} fragment(s) fetched"
        )),
        (fetched, Some(e)) => Event::Error(format!(
            "pinned {path}, but incomplete after fetching {fetched} fragment(s): {e} (retried every minute)"
        )),
    }
}

/// The regular file at `path`, or every regular file under the directory
/// at `path`, with their inodes.
async fn files_at(shared: &Shared, path: &str) -> Result<Vec<(Ino, String)>, String> {
    let v = &shared.volume;
    let attr = v.stat(path).await.map_err(|e| format!("{path}: {e}"))?;
    match attr.kind {
        Kind::File => return Ok(vec![(attr.ino, path.to_string())]),
        Kind::Dir => {}
        _ => return Err(format!("{path}: not a regular file or a directory")),
    }
    let (rows, _) = v.tree(false).await.map_err(|e| e.to_string())?;
    let root = path.trim_end_matches('/');
    let mut files = Vec::new();
    for (p, kind, _) in rows {
        if kind == "file" && super::sync::is_under(&p, if root.is_empty() { "/" } else { root }) {
            let a = v.stat(&p).await.map_err(|e| format!("{p}: {e}"))?;
            files.push((a.ino, p));
        }
    }
    if files.is_empty() {
        return Err(format!("{path}: no regular file under this directory"));
    }
    Ok(files)
}

/// Removes the pin of the file at `path`, or of every pinned file whose
/// path lies under `path`.
async fn unpin(shared: &Shared, path: &str) -> Event {
    let ino = shared.volume.stat(path).await.ok().map(|a| a.ino);
    let root = match path.trim_end_matches('/') {
        "" => "/",
        r => r,
    };
    let inos: Vec<Ino> = shared
        .pins
        .list()
        .into_iter()
        .filter(|(i, p)| Some(*i) == ino || super::sync::is_under(p, root))
        .map(|(i, _)| i)
        .collect();
    let removed = shared.pins.remove(inos).await;
    match removed {
        Ok(0) => Event::Error(format!("{path} is not pinned")),
        Ok(n) => Event::Done(format!("unpinned {n} file(s)")),
        Err(e) => Event::Error(format!("cannot save the pins: {e}")),
    }
}

/// Sets the merge policy of `path` when `set` names one, then reports the
/// effective policy.
async fn policy(v: &Volume, path: String, set: Option<String>) -> Event {
    if let Some(value) = set {
        let set = match Policy::parse(value.as_bytes()) {
            Ok(p) => v.set_policy(&path, p).await,
            Err(e) => return Event::Error(e.to_string()),
        };
        if let Err(e) = set {
            return Event::Error(format!("{path}: {e}"));
        }
    }
    match v.policy(&path).await {
        Ok(r) => Event::Policy(r),
        Err(e) => Event::Error(format!("{path}: {e}")),
    }
}

async fn redundancy(v: &Volume, path: String, set: Option<String>) -> Event {
    if let Some(value) = set {
        let set = match RedundancySpec::parse(value.as_bytes()) {
            Ok(spec) => v.set_redundancy(&path, spec).await,
            Err(e) => return Event::Error(e.to_string()),
        };
        if let Err(e) = set {
            return Event::Error(format!("{path}: {e}"));
        }
    }
    match v.redundancy(&path).await {
        Ok(r) => Event::Redundancy(r),
        Err(e) => Event::Error(format!("{path}: {e}")),
    }
}

/// A file id, or the head version of an absolute path.
async fn resolve_id(shared: &Shared, id: &str) -> Result<FragmentId, String> {
    if id.starts_with('/') {
        shared
            .volume
            .head_id(id)
            .await
            .map_err(|e| format!("{id}: {e}"))
    } else {
        id.parse::<FragmentId>().map_err(|e| format!("{id}: {e}"))
    }
}

/// Runs `fut`, sending a progress event every 200 ms while it runs.
async fn with_progress<T>(
    s: &mut UnixStream,
    progress: &Progress,
    fut: impl Future<Output = T>,
) -> io::Result<T> {
    tokio::pin!(fut);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            r = &mut fut => return Ok(r),
            _ = tick.tick() => {
                let ev = Event::Progress { done: progress.done(), total: progress.total(), peers: progress.peer_count() as u32 };
                write_msg(s, &ev).await?;
            }
        }
    }
}

fn client_config(base: &ClientConfig, o: &PutOptions) -> Result<ClientConfig, String> {
    let replicas = Replicas::new(o.replicas).map_err(|e| e.to_string())?;
    let quorum = o
        .quorum
        .map(|q| WriteQuorum::new(q, replicas))
        .transpose()
        .map_err(|e| e.to_string())?;
    let fragment_size = FragmentSize::new(o.fragment_size).map_err(|e| e.to_string())?;
    let redundancy = o.redundancy.unwrap_or(Redundancy::Replicas(replicas));
    redundancy.check().map_err(|e| e.to_string())?;
    Ok(ClientConfig {
        replicas,
        redundancy,
        quorum,
        fragment_size,
        hash: o.hash,
        ..base.clone()
    })
}

async fn peer_rows(shared: &Shared) -> Vec<PeerRow> {
    let mut rows: Vec<PeerRow> = shared
        .net
        .peers()
        .await
        .into_iter()
        .map(|p| PeerRow {
            peer_id: p.peer_id.to_string(),
            addrs: p.addrs.iter().map(|a| a.to_string()).collect(),
            agent: p.agent,
            storage: p.storage,
        })
        .collect();
    rows.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
    rows
}

async fn status(shared: &Shared) -> StatusReport {
    let peers = shared.net.peers().await;
    let usage = shared.store.as_ref().map(|s| s.usage());
    let c = &shared.net.counters;
    let scrub = shared.scrub.counts();
    let erasure = shared.client.erasure_counters();
    StatusReport {
        peer_id: shared.net.local_peer_id().to_string(),
        listen: shared
            .net
            .listen_addrs()
            .await
            .iter()
            .map(|a| a.to_string())
            .collect(),
        uptime_secs: shared.started.elapsed().as_secs(),
        peers: peers.len() as u32,
        storage_peers: peers.iter().filter(|p| p.storage).count() as u32,
        store_used: usage.map_or(0, |u| u.used),
        store_capacity: usage.map_or(0, |u| u.capacity),
        store_fragments: usage.map_or(0, |u| u.fragments),
        corrupt_found: shared
            .store
            .as_ref()
            .map_or(0, |s| s.counters.corrupt_found.load(Ordering::Relaxed)),
        requests_in: c.requests_in.load(Ordering::Relaxed),
        requests_out: c.requests_out.load(Ordering::Relaxed),
        failures_out: c.failures_out.load(Ordering::Relaxed),
        malformed_in: c.malformed_in.load(Ordering::Relaxed),
        pin_fetched_fragments: shared.pins.fetched(),
        workers: shared.workers.reports(),
        collected: store_counter(shared, |c| &c.collected),
        collected_bytes: store_counter(shared, |c| &c.collected_bytes),
        scrubbed_fragments: scrub.scrubbed,
        scrub_corrupt_found: scrub.corrupt,
        scrub_repaired: scrub.repaired,
        degraded_reads: erasure.degraded_reads.load(Ordering::Relaxed),
        failed_shards: erasure.failed_shards.load(Ordering::Relaxed),
    }
}

/// A counter of the node's store (0 without one).
fn store_counter(
    shared: &Shared,
    pick: impl Fn(&crate::store::StoreCounters) -> &std::sync::atomic::AtomicU64,
) -> u64 {
    shared
        .store
        .as_ref()
        .map_or(0, |s| pick(&s.counters).load(Ordering::Relaxed))
}

async fn invite(shared: &Shared, role: &str, valid_secs: u64) -> Event {
    let Some(role) = crate::meta::members::Role::parse(role) else {
        return Event::Error(format!("unknown role {role} (client, storage or voter)"));
    };
    let valid = std::time::Duration::from_secs(valid_secs);
    match super::members::invite(shared, role, valid).await {
        Ok(ticket) => Event::Ticket(ticket),
        Err(e) => Event::Error(e),
    }
}

async fn members_report(shared: &Shared) -> Event {
    let Some(m) = super::members::current(shared).await else {
        return Event::Error("the membership cannot be read now".into());
    };
    let connected: std::collections::HashSet<String> = shared
        .net
        .peers()
        .await
        .into_iter()
        .map(|p| p.peer_id.to_string())
        .collect();
    let me = shared.net.local_peer_id().to_string();
    let name = |b: &Vec<u8>| match crate::net::PeerId::from_bytes(b) {
        Ok(p) => p.to_string(),
        Err(_) => hex::encode(b),
    };
    let members = m
        .members()
        .iter()
        .map(|(peer, x)| {
            let peer_id = name(peer);
            crate::control::MemberRow {
                connected: connected.contains(&peer_id) || peer_id == me,
                peer_id,
                role: x.role.name().into(),
                invited_by: if x.invited_by.is_empty() {
                    String::new()
                } else {
                    name(&x.invited_by)
                },
                since: x.since.secs,
            }
        })
        .collect();
    let f = m.founding();
    Event::Members(crate::control::MembersReport {
        network: f
            .map(|f| crate::trust::ticket::network_name(&f.id))
            .unwrap_or_default(),
        open: f.is_some_and(|f| f.open),
        members,
        open_invites: m.open_invites(crate::meta::Time::now()).count() as u32,
        revoked: m
            .revoked()
            .iter()
            .map(|(p, r)| (name(p), r.at.secs))
            .collect(),
    })
}

/// Writes a user's signed act; the namespace checks the signature.
async fn account(shared: &Shared, cmd: crate::meta::accounts::AccountCmd) -> Event {
    use crate::meta::{FsError, MetaError};
    match shared.meta.write(crate::meta::Command::Accounts(cmd)).await {
        Ok(_) => Event::Done("done".into()),
        Err(MetaError::Fs(e)) => Event::Error(match e {
            FsError::NotPermitted => {
                "refused: not signed by a registered user allowed to do it".into()
            }
            FsError::Exists => "it exists already".into(),
            FsError::NotFound => "no such user, group or member".into(),
            FsError::Conflict { .. } => "the group changed meanwhile; try again".into(),
            FsError::NoLocks => "too many users, groups, members or key epochs".into(),
            FsError::Invalid => "invalid name or keys".into(),
            e => e.to_string(),
        }),
        Err(e) => Event::Error(e.to_string()),
    }
}

/// Every shared directory with its path.
async fn share_rows(
    v: &crate::volume::Volume,
) -> Result<Vec<crate::control::ShareRow>, crate::volume::VolumeError> {
    let mut rows = Vec::new();
    for (ino, s) in v.shares().await? {
        rows.push(crate::control::ShareRow {
            path: v.path_of(ino).await?,
            group: s.group,
            encrypted: s.encrypted,
            by: s.by,
        });
    }
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(rows)
}
