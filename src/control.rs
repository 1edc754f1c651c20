//! The control protocol between the `fragfs` CLI and a running node, over a
//! Unix socket in the node's data directory (`control.sock`, mode 0600: only
//! the node's user can drive it, and paths in requests are read and written
//! with the node's rights).
//!
//! One request per connection; the node answers with a stream of events:
//! zero or more [`Event::Progress`], then exactly one final event. Messages
//! travel as [`crate::frame`]s of at most 16 MiB whose body is one
//! format-version byte ([`CONTROL_VERSION`]) and the postcard encoding of
//! the message.

use crate::{
    client::{ClientConfig, Progress},
    fragment::{FragmentId, FragmentSize, HashAlgo},
    frame::Framing,
    meta::MetaStatus,
    node::{files, Shared},
    redundancy::{Replicas, WriteQuorum},
    task::Tasks,
};
use futures::StreamExt;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::{
    future::Future,
    io,
    path::{Path, PathBuf},
    sync::{atomic::Ordering, Arc},
    time::Duration,
};
use tokio::net::{UnixListener, UnixStream};

pub const CONTROL_VERSION: u8 = 1;
/// The framing of control messages.
pub const FRAMING: Framing = Framing::new("control", 16 << 20);

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutOptions {
    pub replicas: u8,
    pub quorum: Option<u8>,
    pub fragment_size: u32,
    pub hash: HashAlgo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Store the file at `path`; with `dest`, as the newest version of
    /// that path in the namespace.
    Put {
        path: PathBuf,
        name: Option<String>,
        options: PutOptions,
        dest: Option<String>,
    },
    /// `id` is a file id or an absolute path in the namespace.
    Get {
        id: String,
        out: PathBuf,
    },
    Peers,
    Status,
    Ls {
        path: String,
    },
    Info {
        path: String,
    },
    Search {
        text: String,
    },
    MetaStatus,
    /// Create directories (and missing parents).
    Mkdir {
        paths: Vec<String>,
    },
    /// Every path under the root with kind and size; `local` answers from
    /// this node's replica without asking the leader.
    Tree {
        local: bool,
    },
    MetaAdd {
        addr: String,
    },
    MetaRemove {
        node_id: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRow {
    pub peer_id: String,
    pub addrs: Vec<String>,
    pub agent: String,
    pub storage: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub peer_id: String,
    pub listen: Vec<String>,
    pub uptime_secs: u64,
    pub peers: u32,
    pub storage_peers: u32,
    pub store_used: u64,
    pub store_capacity: u64,
    pub store_fragments: u64,
    pub corrupt_found: u64,
    pub requests_in: u64,
    pub requests_out: u64,
    pub failures_out: u64,
    pub malformed_in: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Progress {
        done: u64,
        total: u64,
        peers: u32,
    },
    PutDone {
        id: String,
        size: u64,
        fragments: u64,
        min_copies: u32,
        peers: u32,
        path: Option<String>,
        version: Option<u64>,
    },
    GetDone {
        size: u64,
        fragments: u64,
        peers: u32,
        retries: u64,
    },
    Peers(Vec<PeerRow>),
    Status(StatusReport),
    Listing {
        rows: Vec<files::LsRow>,
        stale: bool,
    },
    Info(files::InfoReport),
    Found {
        rows: Vec<(String, String, u64)>,
        stale: bool,
    },
    Tree {
        rows: Vec<(String, String, u64)>,
        stale: bool,
    },
    MetaStatus(MetaStatus),
    Done(String),
    Error(String),
}

impl Event {
    pub fn is_final(&self) -> bool {
        !matches!(self, Event::Progress { .. })
    }
}

async fn write_msg<T: Serialize>(s: &mut UnixStream, msg: &T) -> io::Result<()> {
    let body = postcard::to_stdvec(msg).map_err(io::Error::other)?;
    FRAMING.write(s, &[&[CONTROL_VERSION], &body]).await
}

/// Reads the one request of a connection.
async fn read_msg<T: DeserializeOwned>(s: &mut UnixStream) -> io::Result<T> {
    decode_msg(&FRAMING.read_one(s).await?)
}

fn decode_msg<T: DeserializeOwned>(body: &[u8]) -> io::Result<T> {
    let (&version, msg) = body.split_first().ok_or(io::ErrorKind::InvalidData)?;
    if version != CONTROL_VERSION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("control protocol version {version} (expected {CONTROL_VERSION})"),
        ));
    }
    postcard::from_bytes(msg).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Binds the control socket, replacing a stale one, with mode 0600.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

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
    let event = match req {
        Request::Put {
            path,
            name,
            options,
            dest,
        } => match client_config(&shared.client.config().clone(), &options) {
            Err(e) => Event::Error(e),
            Ok(cfg) => {
                let client = shared.client.with_config(cfg);
                let progress = Progress::new();
                let p = progress.clone();
                let fut = async move { client.put_file(&path, name, p).await };
                match with_progress(&mut s, &progress, fut).await? {
                    Ok(r) => {
                        let committed = match &dest {
                            Some(d) => files::commit_at_path(&shared, d, r.manifest.clone())
                                .await
                                .map(Some),
                            None => Ok(None),
                        };
                        match committed {
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
                        }
                    }
                    Err(e) => Event::Error(e.to_string()),
                }
            }
        },
        Request::Get { id, out } => match resolve_id(&shared, &id).await {
            Err(e) => Event::Error(e),
            Ok(id) => {
                let client = shared.client.clone();
                let progress = Progress::new();
                let p = progress.clone();
                let fut = async move { client.get_file(&id, &out, p).await };
                match with_progress(&mut s, &progress, fut).await? {
                    Ok(r) => Event::GetDone {
                        size: r.manifest.size,
                        fragments: r.manifest.fragments.len() as u64,
                        peers: r.peers as u32,
                        retries: r.retries,
                    },
                    Err(e) => Event::Error(e.to_string()),
                }
            }
        },
        Request::Peers => Event::Peers(peer_rows(&shared).await),
        Request::Status => Event::Status(status(&shared).await),
        Request::Ls { path } => match files::ls(&shared, &path).await {
            Ok((rows, stale)) => Event::Listing { rows, stale },
            Err(e) => Event::Error(format!("{path}: {e}")),
        },
        Request::Info { path } => match files::info(&shared, &path).await {
            Ok(r) => Event::Info(r),
            Err(e) => Event::Error(format!("{path}: {e}")),
        },
        Request::Search { text } => match files::search(&shared, &text).await {
            Ok((rows, stale)) => Event::Found { rows, stale },
            Err(e) => Event::Error(e.to_string()),
        },
        Request::MetaStatus => Event::MetaStatus(shared.meta.status()),
        Request::Mkdir { paths } => {
            let mut made = 0;
            let mut err = None;
            for p in &paths {
                match files::mkdir_p(&shared, p).await {
                    Ok(_) => made += 1,
                    Err(e) => {
                        err = Some(format!("{p}: {e}"));
                        break;
                    }
                }
            }
            match err {
                Some(e) => Event::Error(e),
                None => Event::Done(format!(
                    "{made} director{} present",
                    if made == 1 { "y" } else { "ies" }
                )),
            }
        }
        Request::Tree { local } => match files::tree(&shared, local).await {
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
    };
    write_msg(&mut s, &event).await
}

/// A file id, or the head version of an absolute path.
async fn resolve_id(shared: &Shared, id: &str) -> Result<FragmentId, String> {
    if id.starts_with('/') {
        files::head_id(shared, id)
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
    Ok(ClientConfig {
        replicas,
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
    }
}

/// The CLI side: sends one request and feeds every event to `on_event`
/// until the final one, which it returns.
pub async fn call(
    data_dir: &Path,
    req: &Request,
    mut on_event: impl FnMut(&Event),
) -> Result<Event, String> {
    let path = socket_path(data_dir);
    let mut s = UnixStream::connect(&path).await.map_err(|e| {
        format!(
            "no node is running on {} ({e}); start one with `fragfs node --data {}`",
            data_dir.display(),
            data_dir.display()
        )
    })?;
    write_msg(&mut s, req)
        .await
        .map_err(|e| format!("cannot talk to the node: {e}"))?;
    let mut events = FRAMING.reader(s);
    loop {
        let ev: Event = match events.next().await {
            Some(Ok(body)) => decode_msg(&body),
            Some(Err(e)) => Err(e),
            None => Err(io::ErrorKind::UnexpectedEof.into()),
        }
        .map_err(|e| format!("the node closed the connection: {e}"))?;
        if ev.is_final() {
            return Ok(ev);
        }
        on_event(&ev);
    }
}
