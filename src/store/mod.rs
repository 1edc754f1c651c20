//! A peer's local, content-addressed fragment store.
//!
//! Owns the `fragments/`, `tmp/` and `corrupt/` directories under a node's
//! data directory. See `store/DESIGN.md` for the on-disk layout and the crash
//! ordering. Every read is verified against the fragment id; a copy that no
//! longer matches is moved to `corrupt/` and never served.
//!
//! **Architecture invariant:** blocking std IO only. No tokio, no libp2p:
//! async callers run these methods on the blocking pool.

mod slices;

pub use slices::sliceable;

use crate::fragment::{FragmentId, FragmentSize};
use std::{
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::SystemTime,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("fragment {0} is not in this store")]
    NotFound(FragmentId),
    #[error("fragment {id} is corrupt on disk (moved to {moved_to})")]
    Corrupt { id: FragmentId, moved_to: PathBuf },
    #[error("store full: {need} bytes needed, {free} of {capacity} bytes free")]
    Full { need: u64, free: u64, capacity: u64 },
    #[error("bytes do not hash to fragment id {0}")]
    HashMismatch(FragmentId),
    #[error("store I/O error at {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Written,
    AlreadyPresent,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The store's root (a node uses `DATA/store`).
    pub dir: PathBuf,
    /// Most bytes of fragment data kept.
    pub capacity: u64,
}

/// Counters surfaced by `fragfs status`.
#[derive(Debug, Default)]
pub struct StoreCounters {
    pub puts: AtomicU64,
    pub gets: AtomicU64,
    pub bytes_written: AtomicU64,
    pub bytes_read: AtomicU64,
    pub corrupt_found: AtomicU64,
    /// Verified slices served (`slices`).
    pub slices: AtomicU64,
    /// Fragments and bytes deleted by the garbage collector.
    pub collected: AtomicU64,
    pub collected_bytes: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub used: u64,
    pub capacity: u64,
    pub fragments: u64,
}

pub struct FragmentStore {
    root: PathBuf,
    capacity: u64,
    /// Bytes used and fragment count. A std mutex: held only for arithmetic,
    /// never across IO or an await.
    usage: Mutex<(u64, u64)>,
    /// Orders a put of bytes already held (which refreshes the copy's time)
    /// against the collector's delete (which checks it): see
    /// [`FragmentStore::delete_if_idle`]. Held for a stat and a rename or
    /// unlink, never across a data write.
    gc: Mutex<()>,
    /// Fragments moved to `corrupt/` and not yet taken for repair
    /// ([`take_quarantined`](Self::take_quarantined)). A std mutex held for
    /// one push or take.
    quarantined: Mutex<Vec<FragmentId>>,
    /// The trees of fragments slices were cut from (`slices`).
    trees: slices::Trees,
    pub counters: StoreCounters,
}

impl FragmentStore {
    /// Opens (creating if needed) the store at `cfg.dir`: clears leftovers of
    /// interrupted writes from `tmp/` and counts what is held.
    pub fn open(cfg: StoreConfig) -> Result<Self, StoreError> {
        let root = cfg.dir;
        for sub in ["fragments", "tmp", "corrupt"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(io_err(&p))?;
        }
        let tmp = root.join("tmp");
        for entry in fs::read_dir(&tmp).map_err(io_err(&tmp))? {
            let entry = entry.map_err(io_err(&tmp))?;
            let _ = fs::remove_file(entry.path());
        }
        let store = FragmentStore {
            root,
            capacity: cfg.capacity,
            usage: Mutex::new((0, 0)),
            gc: Mutex::new(()),
            quarantined: Mutex::new(Vec::new()),
            trees: Default::default(),
            counters: Default::default(),
        };
        let (mut used, mut count) = (0, 0);
        store.walk(|_, len| {
            used += len;
            count += 1;
        })?;
        *store.usage.lock().unwrap_or_else(|e| e.into_inner()) = (used, count);
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, id: &FragmentId) -> PathBuf {
        let hex = id.to_hex();
        self.root.join("fragments").join(&hex[4..6]).join(hex)
    }

    /// Visits every stored fragment with its length.
    fn walk(&self, mut f: impl FnMut(FragmentId, u64)) -> Result<(), StoreError> {
        let top = self.root.join("fragments");
        self.walk_entries(&top, |id, meta| f(id, meta.len()))
    }

    /// Visits every stored fragment with its file's metadata.
    fn walk_entries(
        &self,
        top: &Path,
        mut f: impl FnMut(FragmentId, &fs::Metadata),
    ) -> Result<(), StoreError> {
        for shard in fs::read_dir(top).map_err(io_err(top))? {
            let shard = shard.map_err(io_err(top))?.path();
            if !shard.is_dir() {
                continue;
            }
            for e in fs::read_dir(&shard).map_err(io_err(&shard))? {
                let e = e.map_err(io_err(&shard))?;
                let name = e.file_name();
                let Some(id) = name.to_str().and_then(|s| s.parse::<FragmentId>().ok()) else {
                    continue;
                };
                match e.metadata() {
                    Ok(meta) => f(id, &meta),
                    // Deleted since the directory was read.
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(io_err(&e.path())(err)),
                }
            }
        }
        Ok(())
    }

    /// Every fragment id held.
    pub fn list(&self) -> Result<Vec<FragmentId>, StoreError> {
        let mut out = Vec::new();
        self.walk(|id, _| out.push(id))?;
        Ok(out)
    }

    /// Every fragment id held, with its length on disk.
    pub fn list_with_len(&self) -> Result<Vec<(FragmentId, u64)>, StoreError> {
        let mut out = Vec::new();
        self.walk(|id, len| out.push((id, len)))?;
        Ok(out)
    }

    /// The length of the copy of `id` held, None when none is.
    pub fn len_of(&self, id: &FragmentId) -> Option<u64> {
        fs::metadata(self.path_of(id)).ok().map(|m| m.len())
    }

    pub fn has(&self, id: &FragmentId) -> bool {
        self.path_of(id).is_file()
    }

    pub fn usage(&self) -> Usage {
        let (used, fragments) = *self.usage.lock().unwrap_or_else(|e| e.into_inner());
        Usage {
            used,
            capacity: self.capacity,
            fragments,
        }
    }

    /// Stores `data` under `id` after checking that it hashes to `id`.
    /// Crash-safe: the bytes are written to `tmp/`, fsynced, renamed into
    /// place, and the directory is fsynced.
    pub fn put(&self, id: &FragmentId, data: &[u8]) -> Result<PutOutcome, StoreError> {
        self.put_as(id, data, true)
    }

    /// [`put`](Self::put), waiting for the disk only when `durable`. A
    /// buffered put (`durable` false) is in place and served at once, and
    /// durable after the next [`sync`](Self::sync); a crash before that may
    /// leave it missing or torn, and a torn copy fails verification and is
    /// never served.
    pub fn put_as(
        &self,
        id: &FragmentId,
        data: &[u8],
        durable: bool,
    ) -> Result<PutOutcome, StoreError> {
        if !id.matches(data) {
            return Err(StoreError::HashMismatch(*id));
        }
        self.put_verified_as(id, data, durable)
    }

    /// Like [`put`](Self::put) for bytes the caller has just hashed to `id`.
    pub fn put_verified(&self, id: &FragmentId, data: &[u8]) -> Result<PutOutcome, StoreError> {
        self.put_verified_as(id, data, true)
    }

    /// Makes every fragment stored so far durable (`syncfs` of the store's
    /// filesystem: one flush for any number of buffered puts).
    pub fn sync(&self) -> Result<(), StoreError> {
        let dir = File::open(&self.root).map_err(io_err(&self.root))?;
        nix::unistd::syncfs(&dir)
            .map_err(|e| io::Error::from_raw_os_error(e as i32))
            .map_err(io_err(&self.root))
    }

    /// [`put_as`](Self::put_as) for bytes the caller has just hashed to `id`.
    pub fn put_verified_as(
        &self,
        id: &FragmentId,
        data: &[u8],
        durable: bool,
    ) -> Result<PutOutcome, StoreError> {
        let dest = self.path_of(id);
        if self.touch_path(&dest)? {
            return Ok(PutOutcome::AlreadyPresent);
        }
        let len = data.len() as u64;
        self.reserve(len)?;
        match self.write_new(&dest, data, durable) {
            Ok(()) => {
                self.counters.puts.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .bytes_written
                    .fetch_add(len, Ordering::Relaxed);
                Ok(PutOutcome::Written)
            }
            Err(e) => {
                self.release(len);
                Err(e)
            }
        }
    }

    fn reserve(&self, len: u64) -> Result<(), StoreError> {
        let mut u = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        if u.0 + len > self.capacity {
            return Err(StoreError::Full {
                need: len,
                free: self.capacity.saturating_sub(u.0),
                capacity: self.capacity,
            });
        }
        u.0 += len;
        u.1 += 1;
        Ok(())
    }

    fn release(&self, len: u64) {
        let mut u = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        u.0 = u.0.saturating_sub(len);
        u.1 = u.1.saturating_sub(1);
    }

    fn write_new(&self, dest: &Path, data: &[u8], durable: bool) -> Result<(), StoreError> {
        let shard = dest
            .parent()
            .expect("fragment paths have a shard directory");
        fs::create_dir_all(shard).map_err(io_err(shard))?;
        let tmp = self.root.join("tmp").join(format!(
            "{}.{}",
            dest.file_name().and_then(|n| n.to_str()).unwrap_or("f"),
            rand::random::<u64>()
        ));
        let res = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            if durable {
                f.sync_all()?;
            }
            fs::rename(&tmp, dest)?;
            if durable {
                File::open(shard)?.sync_all()?;
            }
            Ok(())
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res.map_err(io_err(dest))
    }

    /// Reads and verifies a fragment. A copy that does not match its id is
    /// moved to `corrupt/` and reported as [`StoreError::Corrupt`].
    pub fn get(&self, id: &FragmentId) -> Result<Vec<u8>, StoreError> {
        let (data, ()) = self.get_checked(id, |data| id.matches(data).then_some(()))?;
        Ok(data)
    }

    /// Fragment `id`'s bytes, with what `check` makes of them; a copy
    /// `check` refuses (None: it does not hash to its id) is moved aside
    /// and never served.
    fn get_checked<T>(
        &self,
        id: &FragmentId,
        check: impl FnOnce(&[u8]) -> Option<T>,
    ) -> Result<(Vec<u8>, T), StoreError> {
        let path = self.path_of(id);
        let (data, on_disk) = match read_at_most(&path, u64::from(FragmentSize::MAX)) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::NotFound(*id)),
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        // A file longer than any fragment is read no further: it is corrupt.
        let checked = match on_disk > u64::from(FragmentSize::MAX) {
            true => None,
            false => check(&data),
        };
        let Some(checked) = checked else {
            self.counters.corrupt_found.fetch_add(1, Ordering::Relaxed);
            let moved_to = self.quarantine(id, &path, on_disk)?;
            tracing::error!(fragment = %id, moved_to = %moved_to.display(), "corrupt fragment on disk; moved aside, will not be served");
            return Err(StoreError::Corrupt { id: *id, moved_to });
        };
        self.counters.gets.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_read
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok((data, checked))
    }

    fn quarantine(&self, id: &FragmentId, path: &Path, len: u64) -> Result<PathBuf, StoreError> {
        let dest =
            self.root
                .join("corrupt")
                .join(format!("{}.{}", id.to_hex(), rand::random::<u32>()));
        fs::rename(path, &dest).map_err(io_err(path))?;
        self.release(len);
        self.quarantined
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(*id);
        Ok(dest)
    }

    /// The fragments quarantined since the last call, whoever read them
    /// (the node's scrubber repairs them).
    pub fn take_quarantined(&self) -> Vec<FragmentId> {
        std::mem::take(&mut *self.quarantined.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Removes a fragment; returns whether it was there.
    pub fn delete(&self, id: &FragmentId) -> Result<bool, StoreError> {
        let path = self.path_of(id);
        let len = match fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        fs::remove_file(&path).map_err(io_err(&path))?;
        self.release(len);
        Ok(true)
    }

    /// Refreshes the time of the copy at `path` (a write that reuses it);
    /// false when there is none. Under the collector's lock, so a delete
    /// either happened before (and the caller writes the bytes anew) or
    /// sees the fresh time and keeps the copy.
    fn touch_path(&self, path: &Path) -> Result<bool, StoreError> {
        use nix::sys::stat::{utimensat, UtimensatFlags};
        use nix::sys::time::TimeSpec;
        let _gc = self.gc.lock().unwrap_or_else(|e| e.into_inner());
        let now = TimeSpec::UTIME_NOW;
        match utimensat(
            nix::fcntl::AT_FDCWD,
            path,
            &now,
            &now,
            UtimensatFlags::FollowSymlink,
        ) {
            Ok(()) => Ok(true),
            Err(nix::errno::Errno::ENOENT) => Ok(false),
            Err(e) => Err(StoreError::Io {
                path: path.to_path_buf(),
                source: io::Error::from_raw_os_error(e as i32),
            }),
        }
    }

    /// Refreshes each of `ids` held (a writer about to commit a version
    /// that references them); returns, per id, whether it is held.
    pub fn touch(&self, ids: &[FragmentId]) -> Result<Vec<bool>, StoreError> {
        ids.iter()
            .map(|id| self.touch_path(&self.path_of(id)))
            .collect()
    }

    /// Every fragment held, with its length and the time it was last
    /// written or reused (its file's modification time).
    pub fn list_times(&self) -> Result<Vec<(FragmentId, u64, SystemTime)>, StoreError> {
        let mut out = Vec::new();
        let top = self.root.join("fragments");
        self.walk_entries(&top, |id, meta| {
            let at = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            out.push((id, meta.len(), at));
        })?;
        Ok(out)
    }

    /// Deletes the copy of `id` if it was last written or reused before
    /// `idle_since` (the collector: unreferenced for a whole grace
    /// period); returns the bytes freed, None when it is gone or was
    /// reused since. Checked and deleted under the lock a reusing put
    /// takes, so a reuse is never lost between the check and the delete.
    pub fn delete_if_idle(
        &self,
        id: &FragmentId,
        idle_since: SystemTime,
    ) -> Result<Option<u64>, StoreError> {
        let path = self.path_of(id);
        let _gc = self.gc.lock().unwrap_or_else(|e| e.into_inner());
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        if meta.modified().map_err(io_err(&path))? >= idle_since {
            return Ok(None);
        }
        fs::remove_file(&path).map_err(io_err(&path))?;
        self.release(meta.len());
        self.counters.collected.fetch_add(1, Ordering::Relaxed);
        self.counters
            .collected_bytes
            .fetch_add(meta.len(), Ordering::Relaxed);
        Ok(Some(meta.len()))
    }

    /// The on-disk path of a fragment, for tests that damage it.
    #[doc(hidden)]
    pub fn path_for_test(&self, id: &FragmentId) -> PathBuf {
        self.path_of(id)
    }
}

#[cfg(test)]
mod tests;

/// Reads at most `limit + 1` bytes of the file at `path` (so an oversized
/// file is seen as such without being loaded), with its length on disk.
fn read_at_most(path: &Path, limit: u64) -> io::Result<(Vec<u8>, u64)> {
    use std::io::Read;
    let f = fs::File::open(path)?;
    let on_disk = f.metadata()?.len();
    let mut data = Vec::with_capacity(on_disk.min(limit + 1) as usize);
    f.take(limit + 1).read_to_end(&mut data)?;
    let on_disk = on_disk.max(data.len() as u64);
    Ok((data, on_disk))
}
