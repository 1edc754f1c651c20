//! Verified slices of stored fragments (BLAKE3 ids only): a part of a
//! fragment with the tree hashes that link it to the fragment's id
//! (`fragfs_hash::slices`), so a reader of 4 KiB gets about 4 KiB, still
//! checked against the id.
//!
//! The tree of a fragment (its "outboard", about 6% of its length) is
//! computed the first time a slice of it is asked for, from the whole
//! fragment (its root checks the copy against the id), and kept in memory
//! (bounded in bytes, least recently used out). A slice cut from the disk
//! afterwards is opened here as the reader will open it: a copy that no
//! longer matches is quarantined like a whole one, never served.

use super::{io_err, FragmentStore, StoreError};
use crate::fragment::{FragmentId, FragmentSize, HashAlgo};
use fragfs_hash::slices;
use std::{
    fs, io,
    sync::{atomic::Ordering, Arc, Mutex},
};

/// Most bytes of trees kept: those of 1 GiB of 1 MiB fragments.
const TREE_BYTES: usize = 64 << 20;

/// Trees by fragment, least recently used first out, and their bytes.
type TreeMap = (lru::LruCache<FragmentId, Arc<Vec<u8>>>, usize);

/// The trees of fragments slices were cut from lately.
pub(super) struct Trees {
    inner: Mutex<TreeMap>,
}

impl Default for Trees {
    fn default() -> Self {
        Trees {
            inner: Mutex::new((lru::LruCache::unbounded(), 0)),
        }
    }
}

impl Trees {
    fn get(&self, id: &FragmentId) -> Option<Arc<Vec<u8>>> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0.get(id).cloned()
    }

    fn insert(&self, id: FragmentId, tree: Arc<Vec<u8>>) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (map, bytes) = &mut *g;
        *bytes += tree.len();
        if let Some(old) = map.put(id, tree) {
            *bytes -= old.len();
        }
        while *bytes > TREE_BYTES {
            match map.pop_lru() {
                Some((_, t)) => *bytes -= t.len(),
                None => break,
            }
        }
    }

    fn forget(&self, id: &FragmentId) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = g.0.pop(id) {
            g.1 -= t.len();
        }
    }
}

/// Whether slices of fragments named by `algo` can be cut.
pub fn sliceable(algo: HashAlgo) -> bool {
    algo == HashAlgo::Blake3
}

impl FragmentStore {
    /// Bytes `start..start + len` of fragment `id` as a verified slice
    /// (short at the fragment's end). NotFound for a fragment not held or
    /// not named by BLAKE3; Corrupt (moved aside) for a copy that does not
    /// match its id.
    pub fn get_slice(&self, id: &FragmentId, start: u32, len: u32) -> Result<Vec<u8>, StoreError> {
        if !sliceable(id.algo()) {
            return Err(StoreError::NotFound(*id));
        }
        let (start, len) = (u64::from(start), u64::from(len));
        let path = self.path_of(id);
        let slice = match self.trees.get(id) {
            Some(tree) => {
                let file = match fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        self.trees.forget(id);
                        return Err(StoreError::NotFound(*id));
                    }
                    Err(e) => return Err(StoreError::Io { path, source: e }),
                };
                let slice = slices::extract(file, &tree, start, len);
                match slice {
                    Ok(s) if slices::open(&s, id.digest(), start, len).is_ok() => s,
                    Ok(_) => return Err(self.corrupt_slice(id, &path)),
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return Err(self.corrupt_slice(id, &path))
                    }
                    Err(e) => return Err(io_err(&path)(e)),
                }
            }
            None => {
                // The tree's root is the BLAKE3 of the whole: building it
                // checks the copy against its id.
                let (data, tree) = self.get_checked(id, |data| {
                    let (tree, root) = slices::outboard(data);
                    (root == *id.digest()).then_some(tree)
                })?;
                let slice = slices::extract(io::Cursor::new(&data), &tree, start, len)
                    .map_err(io_err(&path))?;
                self.trees.insert(*id, Arc::new(tree));
                slice
            }
        };
        self.counters.slices.fetch_add(1, Ordering::Relaxed);
        Ok(slice)
    }

    /// Moves aside a copy whose slice did not open against its id.
    fn corrupt_slice(&self, id: &FragmentId, path: &std::path::Path) -> StoreError {
        self.trees.forget(id);
        self.counters.corrupt_found.fetch_add(1, Ordering::Relaxed);
        let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        match self.quarantine(id, path, len.min(u64::from(FragmentSize::MAX))) {
            Ok(moved_to) => {
                tracing::error!(fragment = %id, moved_to = %moved_to.display(), "corrupt fragment on disk (a slice did not verify); moved aside, will not be served");
                StoreError::Corrupt { id: *id, moved_to }
            }
            Err(e) => e,
        }
    }
}
