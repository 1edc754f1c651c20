//! The metadata service a node runs: the Raft member (on a voter), the
//! handler for metadata RPCs, and the client API (`write`, `read`,
//! membership) that forwards to the leader.
//!
//! Writes go through the leader and fail with [`MetaError::NoQuorum`] after
//! the write deadline when no quorum is reachable. Reads are linearizable
//! (the leader confirms its leadership first); when that cannot be done in
//! time, a voter answers from its own replica and marks the answer stale.
//!
//! Every node publishes what the namespace's changes touched
//! ([`Meta::subscribe_changes`]): a voter from its own state machine, a
//! non-voter from a voter's change feed, long-polled by `meta::follow`.

pub mod admit;
mod join;
mod status;

use super::{
    feed::{ChangeFeed, Notice, LONG_POLL},
    follow,
    namespace::Namespace,
    network::NetworkFactory,
    query::{answer, Query, QueryReply},
    raft_types::{ApplyResult, NodeId, Raft},
    rpc::{self, ChangesAnswer, MetaRequest, MetaResponse, ServiceError},
    snapshot_gate::{self, SnapshotGate},
    store::{self, LogStore, StateMachine},
    types::{Command, FsError, Reply},
};
use crate::{
    net::{self, Multiaddr, Net, NetError, PeerId},
    task::Tasks,
};
use openraft::{
    error::{CheckIsLeaderError, ClientWriteError, RaftError},
    BasicNode, ChangeMembers, SnapshotPolicy,
};
use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Weak,
    },
    time::Duration,
};
use tokio::sync::{broadcast, mpsc, oneshot};

#[derive(Clone, Debug)]
pub struct MetaConfig {
    /// Run a Raft member here.
    pub voter: bool,
    /// Deadline of a write (and of confirming leadership for a read).
    pub write_timeout: Duration,
    /// Take a snapshot (and compact the log) after this many entries.
    pub snapshot_every: u64,
    /// Log entries kept behind a snapshot for slow followers.
    pub keep_logs: u64,
    pub heartbeat: Duration,
    pub election_min: Duration,
}

impl Default for MetaConfig {
    fn default() -> Self {
        MetaConfig {
            voter: false,
            write_timeout: Duration::from_secs(5),
            snapshot_every: 10_000,
            keep_logs: 1_000,
            heartbeat: Duration::from_millis(250),
            election_min: Duration::from_millis(1000),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The request was carried out and the namespace said no.
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(
        "no metadata quorum reachable within {0:?}; try again when more metadata voters are up"
    )]
    NoQuorum(Duration),
    #[error("no metadata voter is reachable")]
    NoVoter,
    #[error("cannot open the metadata store: {0}")]
    Store(String),
    #[error("metadata service: {0}")]
    Other(String),
}

impl From<ServiceError> for MetaError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NoQuorum(ms) => MetaError::NoQuorum(Duration::from_millis(ms)),
            ServiceError::NotVoter => MetaError::NoVoter,
            ServiceError::Other(s) => MetaError::Other(s),
        }
    }
}

impl MetaError {
    fn to_service(&self) -> ServiceError {
        match self {
            MetaError::NoQuorum(d) => ServiceError::NoQuorum(d.as_millis() as u64),
            MetaError::NoVoter => ServiceError::NotVoter,
            other => ServiceError::Other(other.to_string()),
        }
    }
}

/// An answer to a read, and whether it came from a replica that could not
/// confirm it is up to date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadAnswer {
    pub reply: QueryReply,
    pub stale: bool,
}

/// What `fragfs meta status` shows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetaStatus {
    pub node_id: u64,
    pub voter: bool,
    pub state: String,
    pub leader: Option<u64>,
    pub term: u64,
    pub last_applied: Option<u64>,
    pub last_log: Option<u64>,
    pub snapshot: Option<u64>,
    /// Log entries up to here were compacted away.
    pub purged: Option<u64>,
    pub voters: Vec<(u64, String)>,
    pub learners: Vec<(u64, String)>,
    pub inodes: u64,
}

/// The node id a peer has in the metadata cluster (from its peer id, so it
/// survives restarts).
pub fn node_id_of(peer: &PeerId) -> NodeId {
    let h = fragfs_hash::sha3_256(&peer.to_bytes());
    u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
}

/// A write waiting for its batch, and where its result goes.
type Pending = (Command, oneshot::Sender<Result<ApplyResult, MetaError>>);

/// Most commands in one batched log entry.
const MAX_BATCH: usize = 256;

struct Inner {
    net: Net,
    node_id: NodeId,
    raft: Option<Raft>,
    sm: Option<StateMachine>,
    /// The database on a voter, weakly: shutdown waits until every holder
    /// (Raft's workers, blocking store calls) has let go of it, so the file
    /// lock is free when `shutdown` returns.
    db: Option<Weak<redb::Database>>,
    cfg: MetaConfig,
    /// Writes on a voter go through the batcher: commands that arrive while
    /// a batch is being committed share the next log entry (group commit).
    batch_tx: Option<mpsc::Sender<Pending>>,
    /// Read barriers: every read registers a ticket; one leadership
    /// confirmation that starts after a ticket was taken serves it, so
    /// concurrent reads share one quorum round trip.
    read_tickets: AtomicU64,
    read_confirmed: AtomicU64,
    /// Serialises confirmations (a tokio mutex: held across the await).
    read_lock: tokio::sync::Mutex<()>,
    /// What applied entries changed (see `feed`).
    feed: Arc<ChangeFeed>,
    /// Snapshot chunks admitted only in order (see `snapshot_gate`).
    snapshot_gate: SnapshotGate,
}

/// Watches the metadata database of a stopped service until its file lock
/// is released.
pub struct DbClosed(Option<Weak<redb::Database>>);

impl DbClosed {
    /// Waits until nothing holds the database any more, at most `deadline`.
    /// Returns whether it was closed in time.
    pub async fn wait(&self, deadline: Duration) -> bool {
        let Some(weak) = &self.0 else { return true };
        let until = tokio::time::Instant::now() + deadline;
        while weak.strong_count() > 0 {
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Meta {
    inner: Arc<Inner>,
}

impl Meta {
    /// Starts the service; on a voter opens `DATA/meta/raft.redb` and the
    /// Raft member. Spawns the RPC handler on `tasks`.
    pub async fn start(
        net: Net,
        data_dir: &Path,
        cfg: MetaConfig,
        inbox: mpsc::Receiver<net::MetaInbound>,
        tasks: &Tasks,
    ) -> Result<Meta, MetaError> {
        let node_id = node_id_of(&net.local_peer_id());
        let feed = ChangeFeed::new();
        let (raft, sm, weak_db) = if cfg.voter {
            let db = store::open_db(&data_dir.join("meta").join("raft.redb"))
                .map_err(MetaError::Store)?;
            let weak_db = Arc::downgrade(&db);
            let log = LogStore::new(db.clone());
            let sm = StateMachine::open(db, feed.clone())
                .await
                .map_err(|e| MetaError::Store(e.to_string()))?;
            let rc = openraft::Config {
                cluster_name: "fragfs".into(),
                heartbeat_interval: cfg.heartbeat.as_millis() as u64,
                election_timeout_min: cfg.election_min.as_millis() as u64,
                election_timeout_max: cfg.election_min.as_millis() as u64 * 2,
                snapshot_policy: SnapshotPolicy::LogsSinceLast(cfg.snapshot_every),
                max_in_snapshot_log_to_keep: cfg.keep_logs,
                purge_batch_size: 64,
                install_snapshot_timeout: 10_000,
                ..Default::default()
            }
            .validate()
            .map_err(|e| MetaError::Other(e.to_string()))?;
            let raft = Raft::new(
                node_id,
                Arc::new(rc),
                NetworkFactory { net: net.clone() },
                log,
                sm.clone(),
            )
            .await
            .map_err(|e| MetaError::Other(e.to_string()))?;
            (Some(raft), Some(sm), Some(weak_db))
        } else {
            (None, None, None)
        };
        let (batch_tx, batch_rx) = mpsc::channel(4 * MAX_BATCH);
        let voter = raft.is_some();
        let batch_tx = voter.then_some(batch_tx);
        let meta = Meta {
            inner: Arc::new(Inner {
                net,
                node_id,
                raft,
                sm,
                db: weak_db,
                cfg,
                batch_tx,
                read_tickets: AtomicU64::new(0),
                read_confirmed: AtomicU64::new(0),
                read_lock: tokio::sync::Mutex::new(()),
                feed,
                snapshot_gate: SnapshotGate::default(),
            }),
        };
        tasks.spawn("meta-rpc", meta.clone().serve(inbox, tasks.clone()));
        if voter {
            tasks.spawn("meta-batcher", meta.clone().batcher(batch_rx));
        } else {
            tasks.spawn("meta-follow-changes", follow::follow(meta.clone()));
        }
        Ok(meta)
    }

    pub fn node_id(&self) -> NodeId {
        self.inner.node_id
    }

    pub fn is_voter(&self) -> bool {
        self.inner.raft.is_some()
    }

    /// Makes this voter a one-member cluster if it has never been part of
    /// one. `addr` is how other nodes will reach it.
    pub async fn initialize_alone(&self, addr: &Multiaddr) -> Result<bool, MetaError> {
        let Some(raft) = &self.inner.raft else {
            return Err(MetaError::NoVoter);
        };
        if raft
            .is_initialized()
            .await
            .map_err(|e| MetaError::Other(e.to_string()))?
        {
            return Ok(false);
        }
        let members = BTreeMap::from([(
            self.inner.node_id,
            BasicNode {
                addr: addr.to_string(),
            },
        )]);
        raft.initialize(members)
            .await
            .map_err(|e| MetaError::Other(e.to_string()))?;
        Ok(true)
    }

    /// Stops the Raft member.
    pub async fn shutdown(&self) {
        if let Some(raft) = &self.inner.raft {
            let _ = raft.shutdown().await;
        }
    }

    /// A handle that tells when the metadata database is closed (every
    /// holder dropped); `None` on a non-voter.
    pub fn db_closed(&self) -> DbClosed {
        DbClosed(self.inner.db.clone())
    }

    async fn serve(self, mut inbox: mpsc::Receiver<net::MetaInbound>, tasks: Tasks) {
        while let Some(req) = inbox.recv().await {
            let me = self.clone();
            tasks.spawn("meta-request", async move {
                let resp = match rpc::decode::<MetaRequest>(&req.body) {
                    Ok(r) => match me.refusal(&req.peer, &r) {
                        Some(why) => {
                            tracing::warn!(peer = %req.peer, "refused a metadata request from a stranger");
                            MetaResponse::Refused(why)
                        }
                        None => match r {
                            MetaRequest::Join { peer, signature } => {
                                me.admit(req.peer, peer, signature).await
                            }
                            r => me.handle(r).await,
                        },
                    },
                    Err(e) => {
                        tracing::warn!(peer = %req.peer, error = %e, "rejected a malformed metadata request");
                        MetaResponse::Malformed(e)
                    }
                };
                req.reply.send(rpc::encode(&resp)).await;
            });
        }
    }

    async fn handle(&self, req: MetaRequest) -> MetaResponse {
        let Some(raft) = &self.inner.raft else {
            let e = ServiceError::NotVoter;
            return match req {
                MetaRequest::Read(_) => MetaResponse::Read(Err(e)),
                MetaRequest::AddVoter { .. } | MetaRequest::RemoveVoter { .. } => {
                    MetaResponse::Membership(Err(e))
                }
                MetaRequest::Changes { .. } => MetaResponse::Changes(Err(e)),
                MetaRequest::Join { .. } => MetaResponse::Joined(Err(e.to_string())),
                _ => MetaResponse::Write(Err(e)),
            };
        };
        match req {
            MetaRequest::AppendEntries(r) => {
                MetaResponse::AppendEntries(raft.append_entries(r).await)
            }
            MetaRequest::Vote(r) => MetaResponse::Vote(raft.vote(r).await),
            MetaRequest::InstallSnapshot(r) => MetaResponse::InstallSnapshot(
                match snapshot_gate::admit(&self.inner.snapshot_gate, &r) {
                    Ok(()) => raft.install_snapshot(r).await,
                    Err(e) => Err(e),
                },
            ),
            MetaRequest::Write(cmd) => {
                MetaResponse::Write(self.write_result(cmd).await.map_err(|e| e.to_service()))
            }
            MetaRequest::Read(q) => MetaResponse::Read(
                self.read_here(q, false)
                    .await
                    .map(|a| (Ok(a.reply), a.stale))
                    .or_else(|e| match e {
                        MetaError::Fs(fs) => Ok((Err(fs), false)),
                        other => Err(other.to_service()),
                    }),
            ),
            MetaRequest::AddVoter { addr } => MetaResponse::Membership(
                self.add_voter_str(&addr).await.map_err(|e| e.to_service()),
            ),
            MetaRequest::RemoveVoter { node_id } => MetaResponse::Membership(
                self.remove_voter(node_id).await.map_err(|e| e.to_service()),
            ),
            MetaRequest::Join { .. } => {
                MetaResponse::Joined(Err("a join is answered before this".into()))
            }
            MetaRequest::Changes { since } => MetaResponse::Changes(
                self.inner
                    .feed
                    .wait_after(since, LONG_POLL)
                    .await
                    .ok_or_else(|| ServiceError::Other("too many change polls held".into())),
            ),
        }
    }

    /// What the namespace's changes touch, from now on: one notice per
    /// applied log entry that changed something, in log order, or a reset
    /// when what changed is not known. A receiver that falls behind gets
    /// `RecvError::Lagged` and should treat it as a reset.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<Notice> {
        self.inner.feed.subscribe()
    }

    pub(super) fn feed(&self) -> &Arc<ChangeFeed> {
        &self.inner.feed
    }

    /// Connected metadata voters.
    pub(super) async fn voter_peers(&self) -> Vec<PeerId> {
        self.inner
            .net
            .meta_peers()
            .await
            .into_iter()
            .map(|p| p.peer_id)
            .collect()
    }

    /// Long-polls voter `peer` for the changes after `since`.
    pub(super) async fn ask_changes(
        &self,
        peer: PeerId,
        since: Option<u64>,
    ) -> Result<ChangesAnswer, MetaError> {
        let req = MetaRequest::Changes { since };
        match self
            .forward_to(peer, None, &req, LONG_POLL + Duration::from_secs(5))
            .await?
        {
            MetaResponse::Changes(r) => r.map_err(Into::into),
            MetaResponse::Malformed(e) => Err(MetaError::Other(format!("refused: {e}"))),
            _ => Err(MetaError::Other("unexpected answer".into())),
        }
    }

    async fn forward(
        &self,
        addr: &str,
        req: &MetaRequest,
        deadline: Duration,
    ) -> Result<MetaResponse, MetaError> {
        let ma: Multiaddr = addr
            .parse()
            .map_err(|_| MetaError::Other(format!("bad node address {addr}")))?;
        let peer = net::peer_in(&ma)
            .ok_or_else(|| MetaError::Other(format!("address {addr} names no peer")))?;
        self.forward_to(peer, Some(ma), req, deadline).await
    }

    async fn forward_to(
        &self,
        peer: PeerId,
        addr: Option<Multiaddr>,
        req: &MetaRequest,
        deadline: Duration,
    ) -> Result<MetaResponse, MetaError> {
        let body = rpc::encode(req);
        match self
            .inner
            .net
            .meta_request(peer, addr, body, deadline)
            .await
        {
            Ok(b) => rpc::decode(&b).map_err(MetaError::Other),
            Err(NetError::Timeout(..)) => Err(MetaError::NoQuorum(deadline)),
            Err(e) => Err(MetaError::Other(e.to_string())),
        }
    }

    /// Applies `cmd` through the leader: the reply, or the namespace's error.
    pub async fn write(&self, cmd: Command) -> Result<Reply, MetaError> {
        Ok(self.write_result(cmd).await??)
    }

    async fn write_result(&self, cmd: Command) -> Result<ApplyResult, MetaError> {
        let deadline = self.inner.cfg.write_timeout;
        let Some(tx) = self
            .inner
            .batch_tx
            .as_ref()
            .filter(|_| !matches!(cmd, Command::Batch(_)))
        else {
            return self.write_direct(cmd).await;
        };
        let (rtx, rrx) = oneshot::channel();
        if tx.send((cmd, rtx)).await.is_err() {
            return Err(MetaError::Other("the metadata service is stopping".into()));
        }
        match tokio::time::timeout(deadline + Duration::from_secs(1), rrx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(MetaError::Other("the metadata service is stopping".into())),
            Err(_) => Err(MetaError::NoQuorum(deadline)),
        }
    }

    /// Group commit: takes every write queued while the previous batch was
    /// being committed and commits them as one log entry.
    async fn batcher(self, mut rx: mpsc::Receiver<Pending>) {
        while let Some(first) = rx.recv().await {
            let mut items = vec![first];
            while items.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(item) => items.push(item),
                    Err(_) => break,
                }
            }
            if items.len() == 1 {
                let (cmd, tx) = items.remove(0);
                let _ = tx.send(self.write_direct(cmd).await);
                continue;
            }
            let (cmds, txs): (Vec<Command>, Vec<_>) = items.into_iter().unzip();
            match self.write_direct(Command::Batch(cmds)).await {
                Ok(Ok(Reply::Batch(results))) if results.len() == txs.len() => {
                    for (tx, r) in txs.into_iter().zip(results) {
                        let _ = tx.send(Ok(r));
                    }
                }
                Ok(other) => {
                    let e = format!("a batch was answered with {other:?}");
                    for tx in txs {
                        let _ = tx.send(Err(MetaError::Other(e.clone())));
                    }
                }
                Err(e) => {
                    let e = e.to_service();
                    for tx in txs {
                        let _ = tx.send(Err(MetaError::from(e.clone())));
                    }
                }
            }
        }
    }

    async fn write_direct(&self, cmd: Command) -> Result<ApplyResult, MetaError> {
        let deadline = self.inner.cfg.write_timeout;
        match tokio::time::timeout(deadline, self.write_loop(cmd, deadline)).await {
            Ok(r) => r,
            Err(_) => Err(MetaError::NoQuorum(deadline)),
        }
    }

    async fn write_loop(&self, cmd: Command, deadline: Duration) -> Result<ApplyResult, MetaError> {
        loop {
            let outcome = match &self.inner.raft {
                Some(raft) => match raft.client_write(cmd.clone()).await {
                    Ok(resp) => return Ok(resp.data),
                    Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                        match f.leader_node {
                            Some(node) if f.leader_id != Some(self.inner.node_id) => {
                                self.forward(&node.addr, &MetaRequest::Write(cmd.clone()), deadline)
                                    .await
                            }
                            _ => Err(MetaError::NoQuorum(deadline)),
                        }
                    }
                    Err(e) => return Err(MetaError::Other(e.to_string())),
                },
                None => {
                    self.to_any_voter(&MetaRequest::Write(cmd.clone()), deadline)
                        .await
                }
            };
            match outcome {
                Ok(MetaResponse::Write(Ok(r))) => return Ok(r),
                Ok(MetaResponse::Write(Err(ServiceError::Other(e)))) => {
                    return Err(MetaError::Other(e))
                }
                Ok(_) | Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn to_any_voter(
        &self,
        req: &MetaRequest,
        deadline: Duration,
    ) -> Result<MetaResponse, MetaError> {
        let peers = self.inner.net.meta_peers().await;
        let mut last = MetaError::NoVoter;
        for p in peers {
            match self.forward_to(p.peer_id, None, req, deadline).await {
                Ok(r) => return Ok(r),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Answers `q`: linearizably when a leader confirms it, else (on a
    /// voter) from the local replica, marked stale.
    pub async fn read(&self, q: Query) -> Result<ReadAnswer, MetaError> {
        self.read_here(q, true).await
    }

    /// [`Meta::read`]; a voter that is not (yet) a member and knows no
    /// leader asks the connected voters when `ask_peers` (see `join`).
    async fn read_here(&self, q: Query, ask_peers: bool) -> Result<ReadAnswer, MetaError> {
        let deadline = self.inner.cfg.write_timeout;
        let Some(raft) = &self.inner.raft else {
            return self.read_via_voters(&q).await;
        };
        let confirmed = tokio::time::timeout(deadline, self.read_barrier(raft)).await;
        match confirmed {
            Ok(Ok(())) => return self.local(&q, false),
            Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)))) => {
                if let Some(node) = f.leader_node {
                    if let Ok(MetaResponse::Read(Ok((r, stale)))) = self
                        .forward(&node.addr, &MetaRequest::Read(q.clone()), deadline)
                        .await
                    {
                        return r
                            .map(|reply| ReadAnswer { reply, stale })
                            .map_err(MetaError::Fs);
                    }
                }
            }
            _ => {}
        }
        if ask_peers && !self.is_member_voter() {
            if let Some(a) = self.read_through_peers(&q).await {
                return Ok(a);
            }
        }
        self.local(&q, true)
    }

    /// Returns once a leadership confirmation that started after this call
    /// has succeeded: after it, the local state machine holds every write
    /// committed before the call (openraft waits for it to be applied).
    async fn read_barrier(
        &self,
        raft: &Raft,
    ) -> Result<(), RaftError<NodeId, CheckIsLeaderError<NodeId, BasicNode>>> {
        let inner = &self.inner;
        let ticket = inner.read_tickets.fetch_add(1, Ordering::SeqCst) + 1;
        let _turn = inner.read_lock.lock().await;
        if inner.read_confirmed.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let covers = inner.read_tickets.load(Ordering::SeqCst);
        raft.ensure_linearizable().await?;
        inner.read_confirmed.fetch_max(covers, Ordering::SeqCst);
        Ok(())
    }

    fn local(&self, q: &Query, stale: bool) -> Result<ReadAnswer, MetaError> {
        let sm = self.inner.sm.as_ref().ok_or(MetaError::NoVoter)?;
        let st = sm.state.read().unwrap_or_else(|e| e.into_inner());
        Ok(ReadAnswer {
            reply: answer(&st.ns, q)?,
            stale,
        })
    }

    /// A copy of the local replica's namespace (voters only), for tests and
    /// diagnostics.
    pub fn local_namespace(&self) -> Option<Namespace> {
        self.inner.sm.as_ref().map(|sm| {
            sm.state
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .ns
                .clone()
        })
    }

    pub async fn add_voter(&self, addr: &Multiaddr) -> Result<(), MetaError> {
        self.add_voter_str(&addr.to_string()).await
    }

    async fn add_voter_str(&self, addr: &str) -> Result<(), MetaError> {
        let ma: Multiaddr = addr
            .parse()
            .map_err(|_| MetaError::Other(format!("bad address {addr}")))?;
        let peer = net::peer_in(&ma)
            .ok_or_else(|| MetaError::Other(format!("{addr} must end with /p2p/<peer id>")))?;
        let id = node_id_of(&peer);
        let Some(raft) = &self.inner.raft else {
            return self
                .membership_via_voter(MetaRequest::AddVoter {
                    addr: addr.to_string(),
                })
                .await;
        };
        // The node may be adding itself at the same time (see `join`): a
        // change in progress is waited for, an existing voter is done.
        let until = tokio::time::Instant::now() + self.inner.cfg.write_timeout * 6;
        loop {
            if self.has_voter(raft, id) {
                return Ok(());
            }
            match self.add_voter_once(raft, id, addr).await {
                Err(MetaError::Other(e))
                    if e.contains("undergoing a configuration change")
                        && tokio::time::Instant::now() < until =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }

    fn has_voter(&self, raft: &Raft, id: NodeId) -> bool {
        let m = raft.metrics().borrow().clone();
        let voter = m
            .membership_config
            .membership()
            .voter_ids()
            .any(|v| v == id);
        voter
    }

    async fn add_voter_once(&self, raft: &Raft, id: NodeId, addr: &str) -> Result<(), MetaError> {
        let node = BasicNode {
            addr: addr.to_string(),
        };
        match raft.add_learner(id, node, true).await {
            Ok(_) => {}
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                return match f.leader_node {
                    Some(l) => {
                        self.membership_at(
                            &l.addr,
                            MetaRequest::AddVoter {
                                addr: addr.to_string(),
                            },
                        )
                        .await
                    }
                    None => Err(MetaError::NoQuorum(self.inner.cfg.write_timeout)),
                };
            }
            Err(e) => return Err(MetaError::Other(e.to_string())),
        }
        raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
            .await
            .map(|_| ())
            .map_err(|e| MetaError::Other(e.to_string()))
    }

    pub async fn remove_voter(&self, node_id: NodeId) -> Result<(), MetaError> {
        let Some(raft) = &self.inner.raft else {
            return self
                .membership_via_voter(MetaRequest::RemoveVoter { node_id })
                .await;
        };
        // A node just started may not have seen its membership yet.
        self.wait_for_leader(self.inner.cfg.write_timeout).await;
        self.check_is_voter(raft, node_id)?;
        match raft
            .change_membership(
                ChangeMembers::RemoveVoters(BTreeSet::from([node_id])),
                false,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => match f.leader_node {
                Some(l) => {
                    self.membership_at(&l.addr, MetaRequest::RemoveVoter { node_id })
                        .await
                }
                None => Err(MetaError::NoQuorum(self.inner.cfg.write_timeout)),
            },
            Err(e) => Err(MetaError::Other(e.to_string())),
        }
    }

    /// Refuses to remove `node_id` when it is not a voter in the membership
    /// this node knows (a node that knows none lets the leader decide).
    fn check_is_voter(&self, raft: &Raft, node_id: NodeId) -> Result<(), MetaError> {
        let m = raft.metrics().borrow().clone();
        let voters: Vec<String> = m
            .membership_config
            .membership()
            .voter_ids()
            .map(|v| v.to_string())
            .collect();
        if voters.is_empty() || voters.contains(&node_id.to_string()) {
            return Ok(());
        }
        Err(MetaError::Other(format!(
            "node {node_id} is not a metadata voter (voters: {})",
            voters.join(", ")
        )))
    }

    async fn membership_at(&self, addr: &str, req: MetaRequest) -> Result<(), MetaError> {
        match self
            .forward(addr, &req, self.inner.cfg.write_timeout * 6)
            .await?
        {
            MetaResponse::Membership(r) => r.map_err(Into::into),
            _ => Err(MetaError::Other("unexpected answer".into())),
        }
    }

    async fn membership_via_voter(&self, req: MetaRequest) -> Result<(), MetaError> {
        match self
            .to_any_voter(&req, self.inner.cfg.write_timeout * 6)
            .await?
        {
            MetaResponse::Membership(r) => r.map_err(Into::into),
            _ => Err(MetaError::Other("unexpected answer".into())),
        }
    }
}
