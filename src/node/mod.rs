//! The long-running peer: a fragment store, the network, the handler that
//! answers other peers' fragment requests, and the control socket the CLI
//! talks to.
//!
//! Data directory layout: `identity.key` (ed25519, mode 0600), `store/`
//! (see `store/DESIGN.md`), `control.sock` (the control socket, mode 0600),
//! `pins` (the pinned files, see `pins`), `network` (the network this node
//! belongs to, see `members`).
//!
//! Modules: `serve` (other peers' fragment requests), `control_serve` (the
//! CLI's requests), `pins` (files kept whole on this node and the task that
//! completes them), `sync` (`fragfs sync`: verify, record hashes, report),
//! `scrub` (re-verifying the store in the background, repairing corrupt
//! copies).

mod control_serve;
pub mod gc;
mod in_use;
mod liveness;
pub mod localnet;
pub mod members;
mod pins;
mod reencode;
mod repair;
mod scrub;
mod serve;
mod switches;
mod sync;

pub use crate::volume::capacity;
use crate::{
    client::{Client, ClientConfig},
    control,
    meta::{Meta, MetaConfig, MetaError},
    net::{self, Multiaddr, Net, NetConfig, NetError, PeerId},
    store::{FragmentStore, StoreConfig, StoreError},
    task::Tasks,
    volume::{clock::Clock, Volume},
};
pub use in_use::{data_dir_holder, Holder};
pub use repair::{parse_after as parse_repair_after, RepairConfig};
pub use scrub::{ScrubConfig, ScrubCounts};
use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub data_dir: PathBuf,
    pub net: NetConfig,
    /// Most bytes of fragments this node keeps.
    pub capacity: u64,
    /// A storage node keeps fragments for others; a light client does not.
    pub storage: bool,
    /// Serve the control socket in the data directory.
    pub control: bool,
    pub client: ClientConfig,
    pub meta: MetaConfig,
    /// How long a fragment no kept version refers to stays before the
    /// collector deletes it (`gc`; at least [`gc::MIN_GC_GRACE`]).
    pub gc_grace: Duration,
    /// The background re-verification of the store (storage nodes only).
    pub scrub: ScrubConfig,
    /// Restoring what lost peers held (on the metadata leader).
    pub repair: RepairConfig,
    /// Join the network this ticket names (at the first start only: a
    /// node remembers its network in `DATA/network`).
    pub join: Option<crate::trust::Ticket>,
    /// A network this node founds lets anyone connect (a lab network);
    /// otherwise members only.
    pub open: bool,
}

impl NodeConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        NodeConfig {
            data_dir: data_dir.into(),
            net: NetConfig::default(),
            capacity: 100 * (1 << 30),
            storage: true,
            control: true,
            client: ClientConfig::default(),
            meta: MetaConfig::default(),
            gc_grace: gc::DEFAULT_GC_GRACE,
            scrub: ScrubConfig::default(),
            repair: RepairConfig::default(),
            join: None,
            open: false,
        }
    }

    /// A node on 127.0.0.1 with a random TCP port and no mDNS, for tests and
    /// local demos.
    pub fn loopback(data_dir: impl Into<PathBuf>) -> Self {
        let mut c = Self::new(data_dir);
        c.net.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("valid")];
        c.net.mdns = false;
        c.open = true;
        c
    }

    pub fn control_socket(&self) -> PathBuf {
        control::socket_path(&self.data_dir)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("{0}")]
    AlreadyRunning(Holder),
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error("fewer than {0} storage peers found")]
    Lonely(usize),
    #[error("cannot join the network: {0}")]
    Join(String),
    #[error("control socket {path}: {source}")]
    Control {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the node's tasks share. Crate-private: embedders use [`Volume`].
pub(crate) struct Shared {
    pub(crate) net: Net,
    pub(crate) store: Option<Arc<FragmentStore>>,
    pub(crate) client: Client,
    pub(crate) meta: Meta,
    pub(crate) cfg: NodeConfig,
    pub(crate) started: Instant,
    /// The filesystem on this node (the control socket's requests use it).
    pub(crate) volume: Volume,
    /// Test-only switches (feature `test-utils`).
    pub(crate) switches: switches::Switches,
    /// The files this node keeps whole.
    pub(crate) pins: pins::Pins,
    /// The node's maintenance workers (`fragfs workers`).
    pub(crate) workers: crate::worker::Workers,
    /// The scrubber's counters and repair queue.
    pub(crate) scrub: scrub::Scrub,
    /// What repair sees and did (`fragfs repair`).
    pub(crate) repair: repair::RepairState,
    /// Whose fragment requests are answered (`members`).
    pub(crate) gatekeeper: members::Gatekeeper,
}

/// A running peer. Stop it with [`Node::shutdown`].
pub struct Node {
    shared: Arc<Shared>,
    tasks: Tasks,
}

impl Node {
    pub async fn start(cfg: NodeConfig) -> Result<Node, NodeError> {
        let mut cfg = cfg;
        let dir = &cfg.data_dir.clone();
        std::fs::create_dir_all(dir).map_err(|source| NodeError::DataDir {
            path: dir.clone(),
            source,
        })?;
        let sock = cfg.control_socket();
        if let Some(holder) = cfg.control.then(|| data_dir_holder(dir)).flatten() {
            return Err(NodeError::AlreadyRunning(holder));
        }
        let keypair = net::load_or_create_identity(&dir.join("identity.key"))?;
        let network = network_of(&mut cfg, &keypair).await?;
        let store = if cfg.storage {
            let sc = StoreConfig {
                dir: dir.join("store"),
                capacity: cfg.capacity,
            };
            Some(Arc::new(
                tokio::task::spawn_blocking(move || FragmentStore::open(sc))
                    .await
                    .map_err(|e| NodeError::DataDir {
                        path: dir.clone(),
                        source: std::io::Error::other(e),
                    })??,
            ))
        } else {
            None
        };
        let pins = pins::Pins::load(dir).map_err(|source| NodeError::DataDir {
            path: dir.join("pins"),
            source,
        })?;
        let tasks = Tasks::new();
        let mut net_cfg = cfg.net.clone();
        net_cfg.serve = cfg.storage;
        net_cfg.meta = cfg.meta.voter;
        net_cfg.gate = network.as_ref().and_then(|f| f.gate());
        let (net, inbox) = Net::start(keypair, net_cfg, &tasks).await?;
        let inbound = inbox.fragments;
        let meta = Meta::start(net.clone(), dir, cfg.meta.clone(), inbox.meta, &tasks).await?;
        let founder = cfg.meta.voter && cfg.net.bootstrap.is_empty();
        if founder {
            // A voter with nobody to join starts (or resumes) its own cluster.
            let addrs = net.listen_addrs().await;
            if let Some(addr) = net::advertised(&addrs) {
                if meta.initialize_alone(&addr).await? {
                    tracing::info!(
                        node_id = meta.node_id(),
                        "initialised a one-member metadata cluster"
                    );
                }
            }
        }
        let client = Client::new(net.clone(), store.clone(), cfg.client.clone());
        let clock = Arc::new(Clock::new(meta.node_id()));
        let volume = Volume::new(
            meta.clone(),
            client.clone(),
            net.clone(),
            store.clone(),
            clock,
        );
        volume.set_private(network.as_ref().is_some_and(|f| !f.open));
        let shared = Arc::new(Shared {
            net,
            store,
            client,
            meta,
            cfg: cfg.clone(),
            started: Instant::now(),
            volume,
            switches: Default::default(),
            pins,
            workers: crate::worker::Workers::new(),
            scrub: Default::default(),
            repair: Default::default(),
            gatekeeper: members::Gatekeeper::new(network.as_ref()),
        });
        if founder {
            if let Some(file) = &network {
                members::found(&shared, file).await?;
            }
        }
        let (s, n) = (shared.clone(), network.clone());
        tasks.spawn("members-gate", members::keep(s, n));
        tasks.spawn(
            "serve-fragments",
            serve::serve(shared.clone(), inbound, tasks.clone()),
        );
        if shared.store.is_some() {
            let (s, w) = (shared.clone(), &shared.workers);
            w.spawn(&tasks, "republish", "fragments", None, |w| {
                serve::announce_held(s, w)
            });
            let s = shared.clone();
            w.spawn(&tasks, "pins", "fragments", None, |w| pins::watch(s, w));
            let s = shared.clone();
            w.spawn(&tasks, "gc", "bytes", None, |w| gc::collect(s, w));
            let scrub = &shared.cfg.scrub;
            if scrub.enabled() {
                let s = shared.clone();
                w.spawn(&tasks, "scrub", "bytes", Some(scrub.rate), |w| {
                    scrub::run(s, w)
                });
            }
        }
        // Acts only while this node leads the metadata cluster.
        let (s, w) = (shared.clone(), &shared.workers);
        w.spawn(&tasks, "retention", "versions", None, |w| {
            gc::retention(s, w)
        });
        let s = shared.clone();
        let rate = Some(cfg.repair.rate).filter(|r| *r > 0);
        w.spawn(&tasks, "repair", "bytes", rate, |w| repair::run(s, w));
        let s = shared.clone();
        w.spawn(&tasks, "reencode", "bytes", rate, |w| reencode::run(s, w));
        if cfg.control {
            let listener = control::bind(&sock).map_err(|source| NodeError::Control {
                path: sock.clone(),
                source,
            })?;
            tasks.spawn(
                "control",
                control_serve::serve(shared.clone(), listener, tasks.clone()),
            );
        }
        tracing::info!(peer_id = %shared.net.local_peer_id(), data = %dir.display(), "node started");
        Ok(Node { shared, tasks })
    }

    /// `fragfs invite`: a one-line ticket admitting one peer of `role`.
    pub async fn invite(
        &self,
        role: crate::meta::members::Role,
        valid: Duration,
    ) -> Result<String, String> {
        members::invite(&self.shared, role, valid).await
    }

    /// `fragfs revoke`: `peer` (a peer id) is no longer a member.
    pub async fn revoke(&self, peer: &str) -> Result<(), String> {
        members::revoke(&self.shared, peer).await
    }

    /// The membership as the namespace has it now.
    pub async fn members(&self) -> Option<crate::meta::members::Members> {
        members::current(&self.shared).await
    }

    pub fn peer_id(&self) -> PeerId {
        self.shared.net.local_peer_id()
    }

    /// Listen addresses ending in `/p2p/<peer id>`.
    pub async fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.shared.net.listen_addrs().await
    }

    pub fn client(&self) -> Client {
        self.shared.client.clone()
    }

    pub fn meta(&self) -> &Meta {
        &self.shared.meta
    }

    /// The filesystem on this node: typed namespace and version
    /// operations (what the mount and the control socket use).
    pub fn volume(&self) -> Volume {
        self.shared.volume.clone()
    }

    pub fn net(&self) -> &Net {
        &self.shared.net
    }

    /// The node's tasks: what is spawned here stops with the node.
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    /// This node's store plus every connected storage peer's (see
    /// [`capacity`]), asking each for at most `deadline`.
    pub async fn network_usage(&self, deadline: Duration) -> capacity::NetworkUsage {
        self.shared.volume.network_usage(deadline).await
    }

    /// Runs one garbage collection round now (as the `gc` worker does
    /// every interval); returns the bytes freed.
    pub async fn collect_garbage(&self) -> Result<u64, String> {
        gc::round(&self.shared, None).await
    }

    pub fn store(&self) -> Option<&Arc<FragmentStore>> {
        self.shared.store.as_ref()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.shared.cfg.data_dir
    }

    /// Waits until at least `n` storage peers are connected and identified,
    /// for at most `deadline`. Returns whether they were.
    pub async fn wait_for_storage_peers(&self, n: usize, deadline: Duration) -> bool {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if self.shared.net.storage_peers().await.len() >= n {
                return true;
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Test-only switch (feature `test-utils`): when on, this node answers
    /// every fragment request with bytes that do not match the id (a lying
    /// peer).
    #[cfg(feature = "test-utils")]
    pub fn set_lying(&self, on: bool) {
        use std::sync::atomic::Ordering;
        self.shared.switches.lie.store(on, Ordering::Relaxed);
    }

    /// Test-only switch (feature `test-utils`): when non-zero, this node
    /// waits this long before answering each `get` (a slow or stuck peer).
    #[cfg(feature = "test-utils")]
    pub fn set_stall(&self, d: Duration) {
        use std::sync::atomic::Ordering;
        self.shared
            .switches
            .stall_ms
            .store(d.as_millis() as u64, Ordering::Relaxed);
    }

    /// What repair sees and did (`fragfs repair`).
    pub fn repair_report(&self) -> crate::control::RepairReport {
        self.shared.repair.report()
    }

    /// The maintenance workers as `fragfs workers` shows them.
    pub fn worker_reports(&self) -> Vec<crate::worker::WorkerReport> {
        self.shared.workers.reports()
    }

    /// What the scrubber did since the node started.
    pub fn scrub_counts(&self) -> ScrubCounts {
        self.shared.scrub.counts()
    }

    /// Fragments fetched to complete pinned files since the node started.
    pub fn pin_fetched_fragments(&self) -> u64 {
        self.shared.pins.fetched()
    }

    /// Stops every task, closes the network and the control socket. Returns
    /// whether every task ended within the deadline.
    pub async fn shutdown(self) -> bool {
        let db = self.shared.meta.db_closed();
        self.shared.meta.shutdown().await;
        self.shared.net.shutdown().await;
        let clean = self.tasks.shutdown(Duration::from_secs(5)).await;
        if self.shared.cfg.control {
            let _ = std::fs::remove_file(self.shared.cfg.control_socket());
        }
        drop(self);
        // Raft's workers and blocking store calls may outlive the tasks by
        // a moment; the database lock must be free before a restart.
        let closed = db.wait(Duration::from_secs(5)).await;
        if !closed {
            tracing::warn!("the metadata database was still held 5 s after shutdown");
        }
        clean && closed
    }

    /// Tasks still alive (zero after a clean shutdown).
    pub fn live_tasks(&self) -> usize {
        self.tasks.live()
    }
}

/// The network this node belongs to: the one `DATA/network` names, else
/// the one its ticket admits it to (asked now, then remembered), else a
/// new one when it founds (a voter with nobody to join); None for a node
/// started with `--peer` only, which can reach an open network alone.
/// The role the network gave it bounds what it runs as.
async fn network_of(
    cfg: &mut NodeConfig,
    keypair: &net::Keypair,
) -> Result<Option<members::NetworkFile>, NodeError> {
    let dir = cfg.data_dir.clone();
    let mut file = members::NetworkFile::load(&dir)?;
    if file.is_none() {
        if let Some(ticket) = &cfg.join {
            let joined = members::join(keypair, ticket).await?;
            cfg.net
                .bootstrap
                .extend(joined.bootstrap(keypair.public().to_peer_id()));
            file = Some(joined);
        } else if cfg.meta.voter && cfg.net.bootstrap.is_empty() {
            let me = keypair.public().to_peer_id();
            file = Some(members::founder_file(me, cfg.open));
        }
        if let Some(f) = &file {
            f.save(&dir).map_err(|source| NodeError::DataDir {
                path: dir.join("network"),
                source,
            })?;
        }
    }
    if let Some(f) = &file {
        if cfg.net.bootstrap.is_empty() {
            cfg.net.bootstrap = f.bootstrap(keypair.public().to_peer_id());
        }
    }
    if let Some(f) = file.as_ref().filter(|f| !f.open) {
        use crate::meta::members::Role;
        cfg.storage &= f.role >= Role::Storage;
        cfg.meta.voter &= f.role >= Role::Voter;
    }
    Ok(file)
}
