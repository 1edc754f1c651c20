//! Raft storage on redb: the log, the vote and the committed index in one
//! database under `DATA/meta/raft.redb`, the state machine in memory, rebuilt
//! from the last snapshot (kept in the same database) plus the log after it.
//! See `meta/STATE.md` for what survives a crash and in which order.
//!
//! redb transactions block; they run on the blocking pool. A log append
//! reports itself flushed only after its transaction committed (redb commits
//! are durable: fsynced).

// openraft's StorageError is large by design; it is what the traits return.
#![allow(clippy::result_large_err)]

use super::{
    feed::ChangeFeed,
    namespace::{
        Namespace, NamespaceV1, NamespaceV2, NamespaceV3, NamespaceV4, NamespaceV5,
        NamespaceWithoutLocks,
    },
    raft_types::{Entry, LogId, NodeId, SnapshotMeta, StorageError, StoredMembership, TypeConfig},
    types::{Caller, Changes, FsError, Reply, Time},
};
use openraft::{
    storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot},
    AnyError, EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftLogReader,
    RaftSnapshotBuilder, StorageIOError, Vote,
};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::{
    fmt::Debug,
    io::Cursor,
    ops::{Bound, RangeBounds},
    path::Path,
    sync::{Arc, RwLock},
};

const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state");
const KEY_VOTE: &str = "vote";
const KEY_COMMITTED: &str = "committed";
const KEY_PURGED: &str = "last_purged";
const KEY_SNAPSHOT: &str = "snapshot";

/// Version byte in front of every value this module writes but a
/// snapshot's state.
const FORMAT: u8 = 1;

/// Version byte in front of a snapshot's state ([`StateData`]): 6 since
/// the namespace keeps shared directories and version proofs; 5 since
/// the namespace keeps the network's members; 4 since it keeps the
/// mounts' holds; 3 since it keeps deleted files
/// (its trash); 2 since versions carry their author's uid, base, mark and
/// slot owners and the namespace its event log. Formats 1 to 5 still
/// decode (`decode_state`).
const STATE_FORMAT: u8 = 6;
/// The snapshot format before shares and proofs.
const STATE_FORMAT_V5: u8 = 5;
/// The snapshot format before members.
const STATE_FORMAT_V4: u8 = 4;
/// The snapshot format before holds.
const STATE_FORMAT_V3: u8 = 3;
/// The snapshot format before the trash of deleted files.
const STATE_FORMAT_V2: u8 = 2;

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![FORMAT];
    out.extend(postcard::to_stdvec(v).expect("serialising plain data cannot fail"));
    out
}

fn decode<T: for<'a> Deserialize<'a>>(b: &[u8]) -> Result<T, String> {
    match b.split_first() {
        Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
        Some((v, _)) => Err(format!("unknown metadata format version {v}")),
        None => Err("empty record".into()),
    }
}

fn io_err(
    subject: ErrorSubject<NodeId>,
    verb: ErrorVerb,
    e: impl std::fmt::Display,
) -> StorageError {
    StorageError::IO {
        source: StorageIOError::new(subject, verb, AnyError::error(e.to_string())),
    }
}

fn read_err(e: impl std::fmt::Display) -> StorageError {
    io_err(ErrorSubject::Store, ErrorVerb::Read, e)
}

fn write_err(e: impl std::fmt::Display) -> StorageError {
    io_err(ErrorSubject::Store, ErrorVerb::Write, e)
}

/// Opens (creating) the metadata database.
pub fn open_db(path: &Path) -> Result<Arc<redb::Database>, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let db = redb::Database::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let tx = db.begin_write().map_err(|e| e.to_string())?;
    tx.open_table(LOG).map_err(|e| e.to_string())?;
    tx.open_table(STATE).map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(Arc::new(db))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(f).await.map_err(write_err)?
}

fn get_state<T: for<'a> Deserialize<'a>>(
    db: &redb::Database,
    key: &str,
) -> Result<Option<T>, StorageError> {
    let tx = db.begin_read().map_err(read_err)?;
    let t = tx.open_table(STATE).map_err(read_err)?;
    match t.get(key).map_err(read_err)? {
        Some(v) => decode(v.value()).map(Some).map_err(read_err),
        None => Ok(None),
    }
}

fn put_state<T: Serialize>(db: &redb::Database, key: &str, v: &T) -> Result<(), StorageError> {
    put_state_with(db, key, v, redb::Durability::Immediate)
}

fn put_state_with<T: Serialize>(
    db: &redb::Database,
    key: &str,
    v: &T,
    durability: redb::Durability,
) -> Result<(), StorageError> {
    let mut tx = db.begin_write().map_err(write_err)?;
    tx.set_durability(durability).map_err(write_err)?;
    {
        let mut t = tx.open_table(STATE).map_err(write_err)?;
        t.insert(key, encode(v).as_slice()).map_err(write_err)?;
    }
    tx.commit().map_err(write_err)
}

/// The Raft log and vote.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<redb::Database>,
}

impl LogStore {
    pub fn new(db: Arc<redb::Database>) -> Self {
        LogStore { db }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let db = self.db.clone();
        let start = match range.start_bound() {
            Bound::Included(&s) => Bound::Included(s),
            Bound::Excluded(&s) => Bound::Excluded(s),
            Bound::Unbounded => Bound::Unbounded,
        };
        let end = match range.end_bound() {
            Bound::Included(&s) => Bound::Included(s),
            Bound::Excluded(&s) => Bound::Excluded(s),
            Bound::Unbounded => Bound::Unbounded,
        };
        blocking(move || {
            let tx = db.begin_read().map_err(read_err)?;
            let t = tx.open_table(LOG).map_err(read_err)?;
            let mut out = Vec::new();
            for item in t.range::<u64>((start, end)).map_err(read_err)? {
                let (_, v) = item.map_err(read_err)?;
                out.push(decode::<Entry>(v.value()).map_err(read_err)?);
            }
            Ok(out)
        })
        .await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let db = self.db.clone();
        blocking(move || {
            let purged: Option<LogId> = get_state(&db, KEY_PURGED)?;
            let tx = db.begin_read().map_err(read_err)?;
            let t = tx.open_table(LOG).map_err(read_err)?;
            let last = match t.last().map_err(read_err)? {
                Some((_, v)) => Some(decode::<Entry>(v.value()).map_err(read_err)?.log_id),
                None => purged,
            };
            Ok(LogState {
                last_purged_log_id: purged,
                last_log_id: last,
            })
        })
        .await
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        let (db, vote) = (self.db.clone(), *vote);
        blocking(move || put_state(&db, KEY_VOTE, &vote)).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        let db = self.db.clone();
        blocking(move || get_state(&db, KEY_VOTE)).await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let db = self.db.clone();
        // Not fsynced on its own: it reaches the disk with the next log
        // append. Losing the latest value in a crash only means re-applying
        // a few entries at the next start (the leader re-sends the commit
        // index), and it saves one fsync per metadata write.
        blocking(move || put_state_with(&db, KEY_COMMITTED, &committed, redb::Durability::None))
            .await
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        let db = self.db.clone();
        blocking(move || Ok(get_state::<Option<LogId>>(&db, KEY_COMMITTED)?.flatten())).await
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let db = self.db.clone();
        let entries: Vec<(u64, Vec<u8>)> = entries
            .into_iter()
            .map(|e| (e.log_id.index, encode(&e)))
            .collect();
        let res = blocking(move || {
            let tx = db.begin_write().map_err(write_err)?;
            {
                let mut t = tx.open_table(LOG).map_err(write_err)?;
                for (i, bytes) in &entries {
                    t.insert(*i, bytes.as_slice()).map_err(write_err)?;
                }
            }
            // Durable commit (fsync) before the flush is reported.
            tx.commit().map_err(write_err)
        })
        .await;
        match &res {
            Ok(()) => callback.log_io_completed(Ok(())),
            Err(e) => callback.log_io_completed(Err(std::io::Error::other(e.to_string()))),
        }
        res
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let db = self.db.clone();
        blocking(move || {
            let tx = db.begin_write().map_err(write_err)?;
            {
                let mut t = tx.open_table(LOG).map_err(write_err)?;
                t.retain_in::<u64, _>(log_id.index.., |_, _| false)
                    .map_err(write_err)?;
            }
            tx.commit().map_err(write_err)
        })
        .await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let db = self.db.clone();
        blocking(move || {
            let tx = db.begin_write().map_err(write_err)?;
            {
                let mut st = tx.open_table(STATE).map_err(write_err)?;
                st.insert(KEY_PURGED, encode(&Some(log_id)).as_slice())
                    .map_err(write_err)?;
                let mut t = tx.open_table(LOG).map_err(write_err)?;
                t.retain_in::<u64, _>(..=log_id.index, |_, _| false)
                    .map_err(write_err)?;
            }
            tx.commit().map_err(write_err)
        })
        .await
    }
}

/// The replicated state: the namespace and what Raft needs to know about
/// how far it got.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StateData {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    pub ns: Namespace,
}

/// [`StateData`] in an older format, its namespace of shape `N`.
#[derive(Deserialize)]
struct OldStateData<N> {
    last_applied: Option<LogId>,
    membership: StoredMembership,
    ns: N,
}

impl<N: Into<Namespace>> OldStateData<N> {
    fn convert(self) -> StateData {
        StateData {
            last_applied: self.last_applied,
            membership: self.membership,
            ns: self.ns.into(),
        }
    }
}

/// A snapshot's state as it is written ([`STATE_FORMAT`]).
fn encode_state(st: &StateData) -> Vec<u8> {
    let mut out = vec![STATE_FORMAT];
    out.extend(postcard::to_stdvec(st).expect("serialising plain data cannot fail"));
    out
}

/// Decodes a snapshot's state. Format 1 is converted (`namespace/legacy.rs`):
/// first as written after file locks came, then as written before (the
/// same without the lock table, its last field).
fn decode_state(b: &[u8]) -> Result<StateData, String> {
    match b.split_first() {
        Some((&STATE_FORMAT, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
        Some((&STATE_FORMAT_V5, rest)) => postcard::from_bytes::<OldStateData<NamespaceV5>>(rest)
            .map(OldStateData::convert)
            .map_err(|e| e.to_string()),
        Some((&STATE_FORMAT_V4, rest)) => postcard::from_bytes::<OldStateData<NamespaceV4>>(rest)
            .map(OldStateData::convert)
            .map_err(|e| e.to_string()),
        Some((&STATE_FORMAT_V3, rest)) => postcard::from_bytes::<OldStateData<NamespaceV3>>(rest)
            .map(OldStateData::convert)
            .map_err(|e| e.to_string()),
        Some((&STATE_FORMAT_V2, rest)) => postcard::from_bytes::<OldStateData<NamespaceV2>>(rest)
            .map(OldStateData::convert)
            .map_err(|e| e.to_string()),
        Some((&FORMAT, _)) => decode::<OldStateData<NamespaceV1>>(b)
            .map(OldStateData::convert)
            .or_else(|e| {
                decode::<OldStateData<NamespaceWithoutLocks>>(b)
                    .map(OldStateData::convert)
                    .map_err(|_| e)
            }),
        Some((v, _)) => Err(format!("unknown snapshot format version {v}")),
        None => Err("empty snapshot".into()),
    }
}

impl StateData {
    pub fn new() -> Self {
        StateData {
            last_applied: None,
            membership: StoredMembership::default(),
            ns: Namespace::new(Caller::ROOT, Time::default()),
        }
    }
}

impl Default for StateData {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

/// The state machine. Readers share `state` (a std `RwLock`: held only for
/// in-memory reads or one apply batch, never across an await). What each
/// applied entry changed goes to `feed`, after the lock is released.
#[derive(Clone)]
pub struct StateMachine {
    pub state: Arc<RwLock<StateData>>,
    db: Arc<redb::Database>,
    feed: Arc<ChangeFeed>,
}

impl StateMachine {
    /// Loads the last snapshot, if any.
    pub(super) async fn open(
        db: Arc<redb::Database>,
        feed: Arc<ChangeFeed>,
    ) -> Result<Self, StorageError> {
        let d = db.clone();
        let snap: Option<StoredSnapshot> = blocking(move || get_state(&d, KEY_SNAPSHOT)).await?;
        let state = match snap {
            Some(s) => decode_state(&s.data).map_err(read_err)?,
            None => StateData::new(),
        };
        feed.start_at(state.last_applied.map_or(0, |l| l.index));
        Ok(StateMachine {
            state: Arc::new(RwLock::new(state)),
            db,
            feed,
        })
    }

    fn snapshot_now(&self) -> (SnapshotMeta, Vec<u8>) {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        let data = encode_state(&st);
        let id = match st.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.index, data.len()),
            None => format!("0-0-{}", data.len()),
        };
        let meta = SnapshotMeta {
            last_log_id: st.last_applied,
            last_membership: st.membership.clone(),
            snapshot_id: id,
        };
        (meta, data)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let (meta, data) = self.snapshot_now();
        let db = self.db.clone();
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data: data.clone(),
        };
        blocking(move || put_state(&db, KEY_SNAPSHOT, &stored)).await?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        Ok((st.last_applied, st.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Result<Reply, FsError>>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        let mut changed = Vec::new();
        {
            let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
            for e in entries {
                st.last_applied = Some(e.log_id);
                let mut changes = Changes::default();
                match e.payload {
                    EntryPayload::Blank => out.push(Ok(Reply::Done)),
                    EntryPayload::Normal(cmd) => out.push(st.ns.apply_tracked(cmd, &mut changes)),
                    EntryPayload::Membership(m) => {
                        st.membership = StoredMembership::new(Some(e.log_id), m);
                        out.push(Ok(Reply::Done));
                    }
                }
                changed.push((e.log_id.index, changes));
            }
        }
        for (index, changes) in changed {
            self.feed.record(index, changes);
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let new: StateData = decode_state(&data).map_err(|e| {
            io_err(
                ErrorSubject::Snapshot(Some(meta.signature())),
                ErrorVerb::Read,
                e,
            )
        })?;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        let db = self.db.clone();
        blocking(move || put_state(&db, KEY_SNAPSHOT, &stored)).await?;
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = new;
        self.feed.reset(meta.last_log_id.map_or(0, |l| l.index));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let db = self.db.clone();
        let s: Option<StoredSnapshot> = blocking(move || get_state(&db, KEY_SNAPSHOT)).await?;
        Ok(s.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}

#[cfg(test)]
mod tests;
