//! The filesystem as typed operations: what the mount, the control socket
//! and the CLI's light mode ask of the namespace and the fragments.
//!
//! A [`Volume`] owns the metadata client ([`Meta`]), the fragment client
//! ([`Client`]), the node's hybrid logical clock ([`clock::Clock`]) and the
//! node's identity (its peer id, the author of the versions it commits).
//! Every metadata reply is matched here and only here (`reply`): a reply of
//! the wrong kind is a [`VolumeError::Protocol`].
//!
//! Files: `ns` (namespace operations), `commit` (new versions, reverts, and
//! the one loop that meets a stale base), `merge` (what a stale base becomes
//! under the file's policy), `paths` (operations by path: `mkdir -p`, commit
//! at a path, stat, history, bringing back a deleted file), `report` (the
//! listings the CLI shows), `history` (a file's versions as the CLI shows
//! them), `policy` (a file's merge policy), `redundancy` (its
//! redundancy spec), `events`
//! (the log of conflicts, overrides and resurrections), `bytes` (verified
//! reads and the network's capacity).
//!
//! Must not: know fuser or errno (the mount maps [`VolumeError`]), or the
//! control protocol.

mod bytes;
pub mod capacity;
pub mod clock;
mod commit;
pub mod events;
pub mod history;
mod lifecycle;
mod merge;
pub mod names;
mod ns;
mod paths;
pub mod policy;
mod proven;
pub mod redundancy;
pub(crate) mod reply;
pub mod report;
pub mod shares;

pub use crate::meta::Touched;
pub use commit::{Base, Committed, Durability, Stored, REFRESH_AFTER};
pub use events::EventRow;
pub use history::{HistoryReport, InfoVersion};
pub use ns::{ListedEntry, NewNode, SealedHead, SetAttrs};
pub use policy::{PolicyReport, PolicySource};
pub use redundancy::{RedundancyReport, RedundancySource};
pub use report::{InfoFragment, InfoReport, LsRow};

use crate::{
    client::{Client, ClientError},
    meta::{Command, FsError, Meta, MetaError, Query, ReadAnswer, Reply},
    net::Net,
    store::FragmentStore,
};
use clock::Clock;
use std::sync::Arc;

/// Why a volume operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// The namespace refused (the POSIX error a local filesystem gives).
    #[error(transparent)]
    Fs(FsError),
    /// The metadata service failed (no quorum, no voter, store…).
    #[error(transparent)]
    Meta(MetaError),
    /// Storing or fetching bytes failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The namespace answered with a reply of the wrong kind.
    #[error("metadata protocol: {0}")]
    Protocol(String),
    /// A version whose proof does not hold (`proven`): never served.
    #[error("version {version} of inode {ino} refused: {why}")]
    Forged {
        ino: crate::meta::Ino,
        version: u64,
        why: crate::meta::proofs::ProofError,
    },
}

impl From<MetaError> for VolumeError {
    fn from(e: MetaError) -> Self {
        match e {
            MetaError::Fs(f) => VolumeError::Fs(f),
            other => VolumeError::Meta(other),
        }
    }
}

impl From<FsError> for VolumeError {
    fn from(e: FsError) -> Self {
        VolumeError::Fs(e)
    }
}

impl VolumeError {
    /// The namespace's refusal, if that is what this is.
    pub fn fs(&self) -> Option<&FsError> {
        match self {
            VolumeError::Fs(f) => Some(f),
            _ => None,
        }
    }
}

/// The filesystem of one node. Cheap to clone.
#[derive(Clone)]
pub struct Volume {
    inner: Arc<Inner>,
    /// The users its callers act as (`trust::Acting`); nobody for the
    /// node's own volume.
    acting: crate::trust::Acting,
}

struct Inner {
    meta: Meta,
    client: Client,
    net: Net,
    store: Option<Arc<FragmentStore>>,
    clock: Arc<Clock>,
    /// The author recorded on committed versions: this node's peer id.
    author: String,
    /// Whether the network is private (unsigned versions refused).
    private: std::sync::atomic::AtomicBool,
    /// The namespace's accounts as last read (`proven`).
    accounts: std::sync::Mutex<Option<Arc<crate::meta::accounts::Accounts>>>,
    /// The keys of names in encrypted shared directories (`names`).
    names: names::NameKeys,
    /// Namespace changes this volume asked for: bumped when one is sent
    /// and again when it is answered (see [`Volume::writes`]).
    writes: std::sync::atomic::AtomicU64,
    /// Told what each of those changes may have touched, once it is
    /// answered or failed (see [`Volume::on_own_change`]).
    own_change: std::sync::RwLock<Option<OwnChange>>,
}

/// What [`Volume::on_own_change`] calls.
type OwnChange = Box<dyn Fn(&Touched) + Send + Sync>;

impl Volume {
    pub(crate) fn new(
        meta: Meta,
        client: Client,
        net: Net,
        store: Option<Arc<FragmentStore>>,
        clock: Arc<Clock>,
    ) -> Self {
        let author = net.local_peer_id().to_string();
        Volume {
            inner: Arc::new(Inner {
                meta,
                client,
                net,
                store,
                clock,
                author,
                private: false.into(),
                accounts: std::sync::Mutex::new(None),
                names: Default::default(),
                writes: Default::default(),
                own_change: Default::default(),
            }),
            acting: crate::trust::Acting::nobody(),
        }
    }

    /// This volume acting for `acting`'s users: their commits are signed
    /// with their keys (a mount's volume).
    pub fn acting_for(&self, acting: crate::trust::Acting) -> Volume {
        Volume {
            inner: self.inner.clone(),
            acting,
        }
    }

    /// The users this volume acts for.
    pub fn acting(&self) -> &crate::trust::Acting {
        &self.acting
    }

    /// The fragment client (for callers that keep their own cache or
    /// store fragments themselves before committing).
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The author this volume records on the versions it commits.
    pub fn author(&self) -> &str {
        &self.inner.author
    }

    /// This node's metadata node id.
    pub fn node_id(&self) -> u64 {
        self.inner.meta.node_id()
    }

    fn meta(&self) -> &Meta {
        &self.inner.meta
    }

    async fn read(&self, q: Query) -> Result<ReadAnswer, VolumeError> {
        Ok(self.meta().read(q).await?)
    }

    async fn write(&self, cmd: Command) -> Result<Reply, VolumeError> {
        use std::sync::atomic::Ordering::SeqCst;
        let mut touched = changes_files(&cmd).then(|| Touched::of(&cmd));
        if touched.is_some() {
            self.inner.writes.fetch_add(1, SeqCst);
        }
        let r = self.meta().write(cmd).await;
        if let Some(t) = touched.as_mut() {
            // Failed or not: a change that missed its deadline may still
            // be applied.
            if let Ok(reply) = &r {
                t.add_reply(reply);
            }
            let tell = self
                .inner
                .own_change
                .read()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(tell) = tell.as_ref() {
                tell(t);
            }
            self.inner.writes.fetch_add(1, SeqCst);
        }
        Ok(r?)
    }

    /// A number that moves whenever this volume starts or ends a change
    /// to files, directories or their attributes (not locks nor holds).
    /// An answer read while it stayed the same saw no change of this
    /// volume half done; one read while it moved may be older than a
    /// change of this volume and must not be kept.
    pub fn writes(&self) -> u64 {
        self.inner.writes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Calls `tell` with what each change this volume sends may have
    /// touched (see [`Touched`]), once it is answered or failed and before
    /// [`Volume::writes`] moves again: a cache of the namespace's answers
    /// forgets that at once, since the namespace's own change notice can
    /// come after the reply. A later call replaces an earlier one (a
    /// node mounted again).
    pub fn on_own_change(&self, tell: impl Fn(&Touched) + Send + Sync + 'static) {
        let mut slot = self
            .inner
            .own_change
            .write()
            .unwrap_or_else(|e| e.into_inner());
        *slot = Some(Box::new(tell));
    }

    /// What each applied namespace change touched, as it is applied (for
    /// a mount's kernel cache invalidation).
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<crate::meta::Notice> {
        self.meta().subscribe_changes()
    }

    /// Whether the namespace answers from an up-to-date replica (a leader
    /// is known or reachable).
    pub async fn ready(&self) -> Result<bool, VolumeError> {
        let a = self
            .read(Query::Getattr {
                ino: crate::meta::ROOT,
            })
            .await?;
        reply::attr(a.reply)?;
        Ok(!a.stale)
    }
}

/// Whether `cmd` may change what a mount caches of files, directories
/// and their attributes.
fn changes_files(cmd: &Command) -> bool {
    !matches!(cmd, Command::Lock(_) | Command::Hold { .. })
}

/// A manifest of one-byte fragments, one per byte of `ids` (each byte its
/// fragment's content): for tests that compare fragment ids.
#[cfg(test)]
pub(crate) fn test_manifest(ids: &[u8]) -> crate::fragment::Manifest {
    use crate::fragment::{FragmentEntry, FragmentId, FragmentSize, HashAlgo, NO_FILE_HASH};
    use crate::redundancy::{Redundancy, Replicas};
    crate::fragment::Manifest {
        name: "f".into(),
        size: ids.len() as u64,
        fragment_size: FragmentSize::new(1 << 20).expect("valid"),
        hash_algo: HashAlgo::Sha3_256,
        file_sha3: NO_FILE_HASH,
        redundancy: Redundancy::Replicas(Replicas::new(1).expect("valid")),
        fragments: ids
            .iter()
            .map(|b| FragmentEntry {
                id: FragmentId::of(HashAlgo::Sha3_256, &[*b]),
                len: 1,
                holders: vec![],
            })
            .collect(),
    }
}
