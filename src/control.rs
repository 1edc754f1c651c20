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
//!
//! Only the protocol lives here (messages, framing, `bind`, the client's
//! [`call`]); the node answers requests in `node::control_serve`. Must not
//! import `node`.

use crate::{
    fragment::HashAlgo,
    frame::Framing,
    meta::MetaStatus,
    redundancy::Redundancy,
    volume::{EventRow, HistoryReport, InfoReport, LsRow, PolicyReport, RedundancyReport},
    worker::WorkerReport,
};
use futures::StreamExt;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::{
    io,
    path::{Path, PathBuf},
};
use tokio::net::{UnixListener, UnixStream};

/// 2: version records, owners, pins, sync and workers in the messages.
pub const CONTROL_VERSION: u8 = 2;
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
    /// `rs:K+M` to code fragments into shards; None for `replicas` copies.
    pub redundancy: Option<Redundancy>,
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
    /// Keep a verified copy of every fragment of the head of the file at
    /// `path` (of every regular file under it, for a directory) on this
    /// node, and of every later head.
    Pin {
        path: String,
    },
    /// Stop keeping the pins of `path` (and of everything under it).
    Unpin {
        path: String,
    },
    /// The pins and the fragments fetched for them.
    Pins,
    /// Verify every regular file under `path`, record missing whole-file
    /// hashes, and report what is short of copies or in conflict.
    Sync {
        path: String,
    },
    /// Every version of the file at `path`.
    History {
        path: String,
    },
    /// Commit the content of version `version` of `path` as a new head.
    Revert {
        path: String,
        version: u64,
    },
    /// The effective merge policy of `path`; with `set` (`merge` or
    /// `lww`), set it on `path` first.
    Policy {
        path: String,
        set: Option<String>,
    },
    /// The last `limit` conflicts, overrides and resurrections under
    /// `path` (everywhere for None), oldest first.
    Conflicts {
        path: Option<String>,
        limit: usize,
    },
    /// The node's maintenance workers.
    Workers,
    /// The effective redundancy of `path`; with `set` (`replicas:N` or
    /// `rs:K+M`), set it on `path` first.
    Redundancy {
        path: String,
        set: Option<String>,
    },
    /// What repair sees: peers up, unreachable and gone, copies short,
    /// restored and bytes moved (`fragfs repair`).
    Repair,
    /// A ticket admitting one peer of `role` (`client`, `storage` or
    /// `voter`) for `valid_secs` (`fragfs invite`).
    Invite {
        role: String,
        valid_secs: u64,
    },
    /// Who belongs to the network (`fragfs members`).
    Members,
    /// `peer` is no longer a member (`fragfs revoke`).
    Revoke {
        peer: String,
    },
    /// A user's signed act on users and groups (`fragfs user`, `fragfs
    /// group`), built where the user's key is.
    Account(crate::meta::accounts::AccountCmd),
    /// Users and groups as the namespace has them.
    Accounts,
    /// The attributes of namespace path `path` (its inode number for an
    /// act that names it).
    Stat {
        path: String,
    },
    /// The directories given to groups (`fragfs shares`).
    Shares,
}

/// A directory given to a group, as `fragfs shares` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRow {
    pub path: String,
    pub group: String,
    pub encrypted: bool,
    pub by: String,
}

/// One member as `fragfs members` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub peer_id: String,
    pub role: String,
    /// Who invited it (empty for the founder).
    pub invited_by: String,
    /// Seconds since the Unix epoch.
    pub since: i64,
    /// Connected to the answering node now.
    pub connected: bool,
}

/// `fragfs members`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersReport {
    /// The network's identity, as 16 hex digits; empty before founding.
    pub network: String,
    pub open: bool,
    pub members: Vec<MemberRow>,
    /// Invitations not yet used or expired.
    pub open_invites: u32,
    /// Revoked peers and when (seconds since the Unix epoch).
    pub revoked: Vec<(String, i64)>,
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
    /// Fragments fetched to complete pinned files since the node started.
    pub pin_fetched_fragments: u64,
    /// The node's maintenance workers.
    pub workers: Vec<WorkerReport>,
    /// Fragments and bytes the garbage collector deleted since start.
    pub collected: u64,
    pub collected_bytes: u64,
    /// Fragments the scrubber read and checked since the node started.
    pub scrubbed_fragments: u64,
    /// Corrupt copies the scrubber found (also counted in `corrupt_found`).
    pub scrub_corrupt_found: u64,
    /// Quarantined copies replaced by a verified copy from the network.
    pub scrub_repaired: u64,
    /// Reads of coded (`rs:K+M`) fragments that needed a parity shard.
    pub degraded_reads: u64,
    /// Shards a read could not have from a peer asked for them.
    pub failed_shards: u64,
}

/// One storage peer as repair sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerHealth {
    pub peer_id: String,
    /// Seconds since it was last connected or answered.
    pub unseen_secs: u64,
    /// Unseen for `--repair-after` or longer: its copies are restored
    /// elsewhere.
    pub gone: bool,
}

/// What repair sees and did (`fragfs repair`). Repair runs on the metadata
/// leader; on another node `leader` is false and the rest is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairReport {
    pub leader: bool,
    pub repair_after_secs: u64,
    /// Bytes per second repair may store (0: no limit).
    pub rate: u64,
    pub peers: Vec<PeerHealth>,
    /// Copies (full copies or shards) on gone peers still to restore, and
    /// their bytes, as of the last round.
    pub short_copies: u64,
    pub short_bytes: u64,
    /// Of those, copies whose entry cannot be rebuilt from the holders
    /// its manifests name.
    pub unrecoverable: u64,
    /// Since this node started: copies restored, bytes stored doing so,
    /// copies that failed, versions whose records now name new holders.
    pub restored_copies: u64,
    pub restored_bytes: u64,
    pub failed_copies: u64,
    pub records_updated: u64,
    /// Seconds the last round took, and the estimate of the time left for
    /// what is short (at the rate limit).
    pub last_round_secs: u64,
    pub eta_secs: Option<u64>,
}

/// One pinned file: its inode, its path when pinned, and how many of its
/// head's fragments this node holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinRow {
    pub ino: u64,
    pub path: String,
    pub fragments: u64,
    pub held: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinsReport {
    pub pins: Vec<PinRow>,
    /// Fragments fetched to complete pinned files since the node started.
    pub fetched_fragments: u64,
}

/// What `fragfs sync` found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Regular files looked at.
    pub files: u64,
    /// Bytes fetched and checked against their fragment ids.
    pub bytes_verified: u64,
    /// Whole-file hashes recorded where the head had none.
    pub hashes_recorded: u64,
    /// Files with a fragment that could not be fetched and verified, or
    /// whose whole-file hash did not match.
    pub unverified: u64,
    /// One line per problem: unverified files, files short of copies,
    /// unresolved conflicts, hashes not recorded.
    pub problems: Vec<String>,
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
    Pins(PinsReport),
    Synced(SyncReport),
    History(HistoryReport),
    /// A revert committed version `version` of `path`.
    Reverted {
        path: String,
        version: u64,
    },
    Policy(PolicyReport),
    Conflicts {
        rows: Vec<EventRow>,
        stale: bool,
    },
    Workers(Vec<WorkerReport>),
    Redundancy(RedundancyReport),
    Repair(RepairReport),
    /// A ticket (`fragfs invite`).
    Ticket(String),
    Members(MembersReport),
    Accounts(crate::meta::accounts::Accounts),
    Stat(crate::meta::Attr),
    Shares(Vec<ShareRow>),
}

impl Event {
    pub fn is_final(&self) -> bool {
        !matches!(self, Event::Progress { .. })
    }
}

pub(crate) async fn write_msg<T: Serialize>(s: &mut UnixStream, msg: &T) -> io::Result<()> {
    let body = postcard::to_stdvec(msg).map_err(io::Error::other)?;
    FRAMING.write(s, &[&[CONTROL_VERSION], &body]).await
}

/// Reads the one request of a connection.
pub(crate) async fn read_msg<T: DeserializeOwned>(s: &mut UnixStream) -> io::Result<T> {
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
