//! The client: storing whole files on the network and getting them back.
//!
//! It hides where bytes come from (the local store or remote peers), spreads
//! fragment transfers over many peers with bounded concurrency, verifies every
//! fragment against its id and the whole file against its SHA3-256, and on a
//! bad, missing or slow copy retries another holder.
//!
//! **Architecture invariant:** the client never trusts a peer: every byte it
//! returns has been checked against a hash it already knew.

mod erasure;
mod get;
mod put;
mod refresh;
mod repair;
mod sealed;
mod shards;
mod slices;

pub use erasure::ErasureCounters;
pub use get::GetReport;
pub use put::PutReport;
pub use refresh::touch_with_shards;

use crate::{
    fragment::{FragmentId, FragmentSize, HashAlgo, ManifestError},
    net::{Net, NetError, PeerId},
    redundancy::{Redundancy, Replicas, WriteQuorum},
    store::{FragmentStore, StoreError},
};
use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Full copies of each fragment under replicas, and of every manifest.
    pub replicas: Replicas,
    /// How fragments are made redundant: `rs:K+M` codes them into shards;
    /// `Replicas` (the default) leaves it to [`ClientConfig::replicas`].
    /// See [`ClientConfig::scheme`].
    pub redundancy: Redundancy,
    /// Copies each fragment must reach for a put to succeed; `None` = all.
    pub quorum: Option<WriteQuorum>,
    pub fragment_size: FragmentSize,
    pub hash: HashAlgo,
    /// Fragments in flight at once, per transfer.
    pub concurrency: usize,
    /// Deadline of one request to one peer.
    pub attempt_timeout: Duration,
    /// When a holder has not answered after this long, ask the next one too.
    pub hedge_after: Duration,
    /// Deadline for obtaining one fragment from any holder.
    pub fragment_deadline: Duration,
    /// Deadline of a DHT provider lookup.
    pub lookup_timeout: Duration,
    /// Whether a put waits until every copy is on its holder's disk. When
    /// off, holders keep the bytes without waiting for the disk and
    /// [`Client::sync_holders`] makes them durable (a mount: close stores,
    /// fsync syncs).
    pub durable_puts: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            replicas: Replicas::DEFAULT,
            redundancy: Redundancy::default(),
            quorum: None,
            fragment_size: FragmentSize::DEFAULT,
            hash: HashAlgo::Sha3_256,
            concurrency: 16,
            attempt_timeout: Duration::from_secs(20),
            hedge_after: Duration::from_secs(2),
            fragment_deadline: Duration::from_secs(90),
            lookup_timeout: Duration::from_secs(10),
            durable_puts: true,
        }
    }
}

impl ClientConfig {
    pub fn write_quorum(&self) -> WriteQuorum {
        self.quorum.unwrap_or(WriteQuorum::all(self.replicas))
    }

    /// The redundancy fragments are written with (and manifests record):
    /// `redundancy` when it is Reed–Solomon, else `replicas` full copies.
    pub fn scheme(&self) -> Redundancy {
        match self.redundancy {
            Redundancy::Replicas(_) => Redundancy::Replicas(self.replicas),
            rs @ Redundancy::ReedSolomon { .. } => rs,
        }
    }

    /// These settings writing fragments with `scheme` instead: `rs:K+M`
    /// shards, or that many full copies (a write quorum above the count
    /// becomes all copies). Manifests keep the configured replicas under
    /// `rs`.
    pub fn writing(&self, scheme: Redundancy) -> ClientConfig {
        let mut cfg = self.clone();
        match scheme {
            Redundancy::Replicas(r) => {
                cfg.replicas = r;
                cfg.redundancy = Redundancy::Replicas(r);
                cfg.quorum = self.quorum.filter(|q| q.get() <= r.get());
            }
            rs @ Redundancy::ReedSolomon { .. } => cfg.redundancy = rs,
        }
        cfg
    }

    /// The distinct peers a put needs: enough for every shard of a coded
    /// fragment, and for the write quorum of full copies.
    pub fn peers_needed(&self) -> usize {
        let copies = self.write_quorum().get();
        match self.scheme() {
            Redundancy::Replicas(_) => copies,
            rs => rs.peers_needed().max(copies),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("only {have} storage peer(s) reachable; {need} needed for the write quorum")]
    NotEnoughPeers { have: usize, need: usize },
    #[error("fragment {index} ({id}) reached {copies} of {need} required copies: {errors}")]
    Quorum {
        index: u64,
        id: FragmentId,
        copies: usize,
        need: usize,
        errors: String,
    },
    #[error("fragment {id} is unavailable: tried {tried} holder(s), last error: {last}")]
    Unavailable {
        id: FragmentId,
        tried: usize,
        last: String,
    },
    #[error("{0} is not a file manifest: {1}")]
    NotAManifest(FragmentId, ManifestError),
    #[error("whole-file SHA3-256 mismatch: expected {expected}, got {got}")]
    FileHash { expected: String, got: String },
    #[error("local store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("fragments could not be made durable on {peer}: {reason}")]
    Sync { peer: String, reason: String },
    #[error("fragment {id} is held by none of its holders any more (collected or lost)")]
    Gone { id: FragmentId },
    #[error("internal error: {0}")]
    Bug(String),
    #[error("stripe {id} is unusable: {reason}")]
    BadStripe { id: FragmentId, reason: String },
    /// A sealed fragment that does not open under the file's key.
    #[error("sealed content: {0}")]
    Sealed(String),
}

/// Live progress of one transfer, read by progress bars and `fragfs status`.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
    pub retries: AtomicU64,
    pub corrupt: AtomicU64,
    /// Peers that took part. A std mutex: held for one insert or len.
    peers: Mutex<HashSet<PeerId>>,
}

impl Progress {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn add_peer(&self, p: PeerId) {
        self.peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(p);
    }
    pub fn peer_count(&self) -> usize {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// Cheap to clone: a handle to the network and, on a storage node, the local
/// store.
#[derive(Clone)]
pub struct Client {
    net: Net,
    store: Option<Arc<FragmentStore>>,
    cfg: ClientConfig,
    /// Shared by every copy of the client (and [`Client::with_config`]).
    erasure: Arc<erasure::ErasureState>,
    /// The content key fragments are sealed with (`sealed`).
    seal: Option<Arc<fragfs_seal::ContentKey>>,
}

impl Client {
    pub fn new(net: Net, store: Option<Arc<FragmentStore>>, cfg: ClientConfig) -> Self {
        Client {
            net,
            store,
            cfg,
            erasure: Arc::default(),
            seal: None,
        }
    }

    /// Degraded reads and failed shards of coded fragments so far.
    pub fn erasure_counters(&self) -> &ErasureCounters {
        &self.erasure.counters
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// The same client with other settings.
    pub fn with_config(&self, cfg: ClientConfig) -> Self {
        Client {
            cfg,
            ..self.clone()
        }
    }

    pub fn net(&self) -> &Net {
        &self.net
    }
}

/// Runs a CPU-heavy closure (hashing) on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ClientError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClientError::Bug(format!("blocking task failed: {e}")))
}
