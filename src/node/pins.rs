//! Pins: files this node keeps a full, verified copy of, whatever the
//! placement says. A pin names a regular file by inode (its path is kept
//! for display). The pin set lives in `DATA/pins`: one format-version byte
//! ([`PINS_VERSION`]) then the postcard encoding of `(inode, path)` pairs,
//! replaced atomically (temporary file, fsync, rename, fsync of the
//! directory) on every change.
//!
//! Completing a pin ([`Pins::complete`]) fetches the fragments of the head
//! version that the store lacks, through the client's verified fetch,
//! stores them and announces this node as a provider in the DHT. The
//! `pins` task ([`watch`]) completes a pinned file when an applied change
//! touches it, every pin after the change feed lost track, and every pin
//! once a minute (fetches that failed are retried then).
//!
//! A fragment coded with `rs:K+M` is kept whole under its own id (the
//! stripe's data id) beside its stripe; reads of it then stay local.
//!
//! Must not: decide placement or delete fragments (an unpinned file's
//! fragments stay in the store and stay announced).

use super::Shared;
use crate::{
    client::{ClientError, Progress},
    control::{PinRow, PinsReport},
    fragment::FragmentEntry,
    meta::{FsError, Ino, Notice},
    redundancy::Redundancy,
    store::{FragmentStore, StoreError},
    volume::VolumeError,
};
use std::{
    collections::BTreeMap,
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio::sync::{
    broadcast::{self, error::RecvError},
    Notify,
};

/// Version byte of the `pins` file.
pub const PINS_VERSION: u8 = 1;
/// The largest `pins` file read (far more than any real pin set).
const MAX_PINS_FILE: u64 = 16 << 20;
/// How often every pin is completed again, whatever changed.
const RECHECK: Duration = Duration::from_secs(60);

/// Why completing a pin failed.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("local store: {0}")]
    Store(#[from] StoreError),
    #[error("this node stores nothing; pins need a storage node")]
    NoStore,
}

/// The pin set and its counter. Locks: `set` is a std mutex held only to
/// read or change the map (never across IO or `.await`); `completing` is a
/// tokio mutex held across the fetches of one completion, so the control
/// socket and the `pins` task never fetch the same fragment twice. Order:
/// `completing` before `set`.
pub(crate) struct Pins {
    file: PathBuf,
    set: Mutex<BTreeMap<Ino, String>>,
    completing: tokio::sync::Mutex<()>,
    fetched: AtomicU64,
    /// Signalled when pins are added (the task starts listening).
    added: Notify,
}

impl Pins {
    /// Reads `DIR/pins` (no file: no pins).
    pub(crate) fn load(dir: &Path) -> io::Result<Pins> {
        let file = dir.join("pins");
        let set = match std::fs::File::open(&file) {
            Ok(f) => {
                let mut bytes = Vec::new();
                f.take(MAX_PINS_FILE + 1).read_to_end(&mut bytes)?;
                decode(&bytes).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {e}", file.display()),
                    )
                })?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(Pins {
            file,
            set: Mutex::new(set),
            completing: tokio::sync::Mutex::new(()),
            fetched: AtomicU64::new(0),
            added: Notify::new(),
        })
    }

    fn set(&self) -> std::sync::MutexGuard<'_, BTreeMap<Ino, String>> {
        self.set.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pinned inodes and their paths.
    pub(crate) fn list(&self) -> BTreeMap<Ino, String> {
        self.set().clone()
    }

    /// Fragments fetched for pins since the node started.
    pub(crate) fn fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    /// Adds pins and saves the set (on failure the set is unchanged).
    pub(crate) async fn add(&self, files: Vec<(Ino, String)>) -> io::Result<()> {
        self.change(|set| set.extend(files)).await?;
        self.added.notify_one();
        Ok(())
    }

    /// Removes the pins of `inos` and saves the set; returns how many it
    /// removed.
    pub(crate) async fn remove(&self, inos: Vec<Ino>) -> io::Result<usize> {
        let mut removed = 0;
        self.change(|set| {
            let before = set.len();
            set.retain(|ino, _| !inos.contains(ino));
            removed = before - set.len();
        })
        .await?;
        Ok(removed)
    }

    async fn change(&self, f: impl FnOnce(&mut BTreeMap<Ino, String>)) -> io::Result<()> {
        let _one = self.completing.lock().await;
        let mut next = self.set().clone();
        f(&mut next);
        let (file, bytes) = (self.file.clone(), encode(&next));
        tokio::task::spawn_blocking(move || write_atomically(&file, &bytes))
            .await
            .map_err(io::Error::other)??;
        *self.set() = next;
        Ok(())
    }

    /// Completes the pins of `inos` (every pin when None): fetches, stores
    /// and announces the fragments of each head the store lacks. Returns
    /// the fragments fetched and the first error (the other files are
    /// still completed).
    pub(crate) async fn complete(
        &self,
        shared: &Shared,
        inos: Option<&[Ino]>,
    ) -> (u64, Option<PinError>) {
        let _one = self.completing.lock().await;
        let pinned = self.list();
        let todo: Vec<Ino> = match inos {
            Some(inos) => inos
                .iter()
                .filter(|i| pinned.contains_key(i))
                .copied()
                .collect(),
            None => pinned.keys().copied().collect(),
        };
        let (mut fetched, mut first) = (0, None);
        for ino in todo {
            match self.complete_one(shared, ino).await {
                Ok(n) => fetched += n,
                Err(e) => {
                    tracing::warn!(ino, path = %pinned[&ino], error = %e, "pinned file incomplete");
                    first.get_or_insert(e);
                }
            }
        }
        (fetched, first)
    }

    async fn complete_one(&self, shared: &Shared, ino: Ino) -> Result<u64, PinError> {
        let store = shared.store.clone().ok_or(PinError::NoStore)?;
        let head = match shared.volume.head(ino).await {
            Ok((_, Some(head))) => head,
            // Nothing to keep yet, or any more (the pin stays until unpinned).
            Ok((_, None)) => return Ok(0),
            Err(e) if e.fs() == Some(&FsError::NotFound) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut fetched = 0;
        let redundancy = head.manifest.redundancy;
        for (i, f) in head.manifest.fragments.iter().enumerate() {
            if let Redundancy::ReedSolomon { .. } = redundancy {
                if !pin_coded(shared, &store, redundancy, f, i).await? {
                    continue;
                }
            } else {
                if store.has(&f.id) {
                    continue;
                }
                let data = shared
                    .client
                    .fetch_fragment(&f.id, &f.holders, i, &Progress::default())
                    .await?;
                put(&store, f.id, data).await?;
            }
            shared.net.provide(&f.id).await;
            self.fetched.fetch_add(1, Ordering::Relaxed);
            fetched += 1;
            tracing::debug!(ino, fragment = %f.id, "fetched for a pin");
        }
        Ok(fetched)
    }

    /// Each pin with how many of its head's fragments the store holds.
    pub(crate) async fn report(&self, shared: &Shared) -> PinsReport {
        let mut pins = Vec::new();
        for (ino, path) in self.list() {
            let (mut fragments, mut held) = (0, 0);
            if let Ok((_, Some(head))) = shared.volume.head(ino).await {
                fragments = head.manifest.fragments.len() as u64;
                held = head
                    .manifest
                    .fragments
                    .iter()
                    .filter(|f| shared.store.as_ref().is_some_and(|s| s.has(&f.id)))
                    .count() as u64;
            }
            pins.push(PinRow {
                ino,
                path,
                fragments,
                held,
            });
        }
        PinsReport {
            pins,
            fetched_fragments: self.fetched(),
        }
    }
}

/// Keeps coded fragment `f` (number `i`) whole under its own id, beside
/// its stripe (which names it); false when both were here already.
async fn pin_coded(
    shared: &Shared,
    store: &Arc<FragmentStore>,
    redundancy: Redundancy,
    f: &FragmentEntry,
    i: usize,
) -> Result<bool, PinError> {
    let progress = Progress::default();
    let stripe = shared.client.stripe_of(redundancy, f, i, &progress).await?;
    if store.has(&stripe.data_id) && store.has(&f.id) {
        return Ok(false);
    }
    let data = shared
        .client
        .fetch_entry(redundancy, f, i, &progress)
        .await?;
    put(store, stripe.data_id, data).await?;
    if !store.has(&f.id) {
        put(store, f.id, stripe.encode().into()).await?;
    }
    Ok(true)
}

/// Stores verified bytes on the blocking pool.
async fn put(
    store: &Arc<FragmentStore>,
    id: crate::fragment::FragmentId,
    data: bytes::Bytes,
) -> Result<(), PinError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.put_verified(&id, &data))
        .await
        .map_err(|e| ClientError::Bug(e.to_string()))??;
    Ok(())
}

/// The `pins` task: completes pinned files as changes land. It listens to
/// the change feed only while there are pins (a non-voter's feed polls the
/// voters while anyone listens).
pub(super) async fn watch(shared: Arc<Shared>, w: crate::worker::Worker) {
    let mut changes: Option<broadcast::Receiver<Notice>> = None;
    let mut tick = tokio::time::interval(RECHECK);
    loop {
        let pinned = shared.pins.list();
        if pinned.is_empty() {
            changes = None;
        } else if changes.is_none() {
            changes = Some(shared.volume.subscribe_changes());
            // What landed before the task listened.
            shared.pins.complete(&shared, None).await;
        }
        let inos: Option<Vec<Ino>> = tokio::select! {
            n = next(&mut changes) => match n {
                Ok(Notice::Changed { changes, .. }) => {
                    let hit: Vec<Ino> = changes.inodes.iter().filter(|i| pinned.contains_key(i)).copied().collect();
                    if hit.is_empty() {
                        continue;
                    }
                    Some(hit)
                }
                Ok(Notice::Reset { .. }) | Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => return,
            },
            _ = shared.pins.added.notified() => continue,
            _ = tick.tick() => None,
        };
        w.busy(None);
        let (n, err) = shared.pins.complete(&shared, inos.as_deref()).await;
        w.advance(n);
        match err {
            Some(e) => w.failed(e, RECHECK),
            None => w.idle(),
        }
        if n > 0 {
            tracing::info!(fragments = n, "fetched for pinned files");
        }
    }
}

/// The next notice, or never without a receiver.
async fn next(rx: &mut Option<broadcast::Receiver<Notice>>) -> Result<Notice, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn encode(set: &BTreeMap<Ino, String>) -> Vec<u8> {
    let pairs: Vec<(&Ino, &String)> = set.iter().collect();
    let mut out = vec![PINS_VERSION];
    // Serialising plain data into a Vec cannot fail.
    out.extend(postcard::to_stdvec(&pairs).expect("pin set serialisation"));
    out
}

fn decode(bytes: &[u8]) -> Result<BTreeMap<Ino, String>, String> {
    if bytes.len() as u64 > MAX_PINS_FILE {
        return Err(format!("larger than {MAX_PINS_FILE} bytes"));
    }
    let (&version, body) = bytes.split_first().ok_or("empty")?;
    if version != PINS_VERSION {
        return Err(format!(
            "pin set format version {version} (this build reads {PINS_VERSION})"
        ));
    }
    let pairs: Vec<(Ino, String)> = postcard::from_bytes(body).map_err(|e| e.to_string())?;
    Ok(pairs.into_iter().collect())
}

/// Replaces `path` with `bytes`: a crash leaves the old file or the new.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_the_pin_set_survives_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let pins = Pins::load(dir.path()).unwrap();
        assert!(pins.list().is_empty());
        rt.block_on(pins.add(vec![(5, "/a".into()), (9, "/d/b".into())]))
            .unwrap();
        let removed = rt.block_on(pins.remove(vec![5])).unwrap();
        assert_eq!(removed, 1);
        let again = Pins::load(dir.path()).unwrap();
        assert_eq!(again.list(), BTreeMap::from([(9, "/d/b".to_string())]));
    }

    #[test]
    fn t20_a_damaged_pin_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        for bytes in [&[][..], &[2, 0][..], &[1, 5, 1][..]] {
            std::fs::write(dir.path().join("pins"), bytes).unwrap();
            let e = Pins::load(dir.path()).err().expect("refused");
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            assert!(e.to_string().contains("pins"), "{e}");
        }
    }

    #[test]
    fn t10_the_pin_file_encoding_is_pinned() {
        let set = BTreeMap::from([(7, "/a".to_string())]);
        assert_eq!(encode(&set), [1, 1, 7, 2, b'/', b'a']);
    }
}
