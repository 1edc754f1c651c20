//! The control protocol between the `fragfs` CLI and a running node, over a
//! Unix socket in the node's data directory (`control.sock`, mode 0600: only
//! the node's user can drive it, and paths in requests are read and written
//! with the node's rights).
//!
//! One request per connection; the node answers with a stream of events:
//! zero or more [`Event::Progress`], then exactly one final event. Frames are
//! a 4-byte big-endian length and a body: one format-version byte
//! ([`CONTROL_VERSION`]) and the postcard encoding of the message.
//!
//! Only the protocol lives here (messages, framing, `bind`, the client's
//! [`call`]); the node answers requests in `node::control_serve`. Must not
//! import `node`.

use crate::{
    fragment::HashAlgo,
    meta::MetaStatus,
    volume::{InfoReport, LsRow},
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::{
    io,
    path::{Path, PathBuf},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{UnixListener, UnixStream},
};

pub const CONTROL_VERSION: u8 = 1;
const MAX_CONTROL_FRAME: usize = 16 << 20;

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
        rows: Vec<LsRow>,
        stale: bool,
    },
    Info(InfoReport),
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

pub(crate) async fn write_msg<T: Serialize>(s: &mut UnixStream, msg: &T) -> io::Result<()> {
    let body = postcard::to_stdvec(msg).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.extend_from_slice(&((body.len() + 1) as u32).to_be_bytes());
    frame.push(CONTROL_VERSION);
    frame.extend_from_slice(&body);
    s.write_all(&frame).await
}

pub(crate) async fn read_msg<T: DeserializeOwned>(s: &mut UnixStream) -> io::Result<T> {
    let len = s.read_u32().await? as usize;
    if len == 0 || len > MAX_CONTROL_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("control frame of {len} bytes"),
        ));
    }
    // Grows as bytes arrive: a lying length costs only what was sent.
    let mut body = Vec::with_capacity(len.min(64 * 1024));
    (&mut *s).take(len as u64).read_to_end(&mut body).await?;
    if body.len() < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if body[0] != CONTROL_VERSION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "control protocol version {} (expected {CONTROL_VERSION})",
                body[0]
            ),
        ));
    }
    postcard::from_bytes(&body[1..]).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Binds the control socket, replacing a stale one, with mode 0600.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
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
    loop {
        let ev: Event = read_msg(&mut s)
            .await
            .map_err(|e| format!("the node closed the connection: {e}"))?;
        if ev.is_final() {
            return Ok(ev);
        }
        on_event(&ev);
    }
}
