//! Bytes of stored versions: one fragment from the cache or fetched
//! (rebuilt from shards for a Reed–Solomon file) and verified, with one
//! fetch in flight per fragment and a short retry for a fragment that
//! failed lately; a range of a version.

use super::Core;
use crate::{
    errno::OpError,
    plan::{plan_read, Piece},
};
use bytes::Bytes;
use fragfs::{
    fragment::{FragmentEntry, FragmentId, Manifest},
    redundancy::Redundancy,
};
use std::sync::{atomic::Ordering, Arc};

/// How long a failed fetch makes the next tries of that fragment short.
const FAILED_FOR: std::time::Duration = std::time::Duration::from_secs(30);
/// The time a recently failed fragment gets.
const RETRY_FAILED: std::time::Duration = std::time::Duration::from_secs(2);

/// Records a fetch that did not finish well (error or cancelled) when
/// dropped; a success clears the record.
struct FailMark<'a> {
    core: &'a Core,
    id: FragmentId,
    ok: bool,
}

impl Drop for FailMark<'_> {
    fn drop(&mut self) {
        let mut failed = self.core.failed.lock().unwrap_or_else(|e| e.into_inner());
        if self.ok {
            failed.remove(&self.id);
        } else {
            failed.insert(self.id, std::time::Instant::now());
        }
    }
}

impl Core {
    /// One fragment of `m`, from the cache or fetched and verified.
    pub(super) async fn fragment(&self, m: &Manifest, index: u64) -> Result<Bytes, OpError> {
        let f = m
            .fragments
            .get(index as usize)
            .ok_or_else(|| OpError::Bug(format!("fragment {index} is not in the manifest")))?;
        self.fragment_in(m.redundancy, f, index).await
    }

    /// Fragment `f` (number `index` of a file stored with `redundancy`),
    /// from the cache or fetched (rebuilt from shards under `rs:K+M`) and
    /// verified.
    pub(super) async fn fragment_in(
        &self,
        redundancy: Redundancy,
        f: &FragmentEntry,
        index: u64,
    ) -> Result<Bytes, OpError> {
        if let Some(b) = self.cache.get(&f.id) {
            self.counters
                .fragments_from_cache
                .fetch_add(1, Ordering::Relaxed);
            return Ok(b);
        }
        let gate = self
            .inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(f.id)
            .or_default()
            .clone();
        let turn = gate.lock().await;
        let res = match self.cache.get(&f.id) {
            Some(b) => {
                self.counters
                    .fragments_from_cache
                    .fetch_add(1, Ordering::Relaxed);
                Ok(b)
            }
            None => {
                // A fragment that just could not be fetched (within the last
                // FAILED_FOR) gets a short try: the kernel repeats a failed
                // readahead as a page read, and that must not cost a second
                // full deadline. Dropping `mark` unfinished (an error, or the
                // caller's deadline) records the failure.
                let recent = self.failed_recently(&f.id);
                let mut mark = FailMark {
                    core: self,
                    id: f.id,
                    ok: false,
                };
                let res = match recent {
                    false => self.fetch_into_cache(redundancy, f, index).await,
                    true => tokio::time::timeout(
                        RETRY_FAILED,
                        self.fetch_into_cache(redundancy, f, index),
                    )
                    .await
                    .unwrap_or(Err(OpError::Timeout(RETRY_FAILED))),
                };
                mark.ok = res.is_ok();
                res
            }
        };
        drop(turn);
        let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        // Nobody else holds or waits for this gate (the map's copy and ours).
        if Arc::strong_count(&gate) <= 2
            && inflight.get(&f.id).is_some_and(|g| Arc::ptr_eq(g, &gate))
        {
            inflight.remove(&f.id);
        }
        res
    }

    async fn fetch_into_cache(
        &self,
        redundancy: Redundancy,
        f: &FragmentEntry,
        index: u64,
    ) -> Result<Bytes, OpError> {
        let b = match self.key_of(&f.id) {
            Some(key) => self
                .volume
                .client()
                .sealed(Some(key))
                .fetch_entry(redundancy, f, index as usize, &Default::default())
                .await
                .map_err(fragfs::volume::VolumeError::from)?,
            None => self.volume.fetch_entry(redundancy, f, index).await?,
        };
        self.counters
            .fragments_fetched
            .fetch_add(1, Ordering::Relaxed);
        self.cache.insert(f.id, b.clone());
        Ok(b)
    }

    fn failed_recently(&self, id: &FragmentId) -> bool {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        failed.retain(|_, at| at.elapsed() < FAILED_FOR);
        failed.contains_key(id)
    }

    /// A read of read-only handle `fh` that is not sequential, answered at
    /// once when every fragment it needs is in the cache (checked when it
    /// was fetched); None otherwise (the caller takes the usual path,
    /// which also keeps readahead going for sequential readers).
    pub fn read_cached(&self, fh: u64, offset: u64, len: u32) -> Option<Vec<u8>> {
        let of = self.handle(fh).ok()?;
        if of.writer.is_some() {
            return None;
        }
        let m = &of.head.as_ref()?.manifest;
        let end = offset.saturating_add(u64::from(len)).min(m.size);
        if of.next_read.load(Ordering::Relaxed) == offset {
            return None;
        }
        let pieces = plan_read(m.size, m.fragment_size.get(), offset, len);
        let out = joined(&pieces, |p| {
            self.cache.get(&m.fragments.get(p.index as usize)?.id)
        })?;
        of.next_read.store(end, Ordering::Relaxed);
        let c = &self.counters;
        c.fragments_from_cache
            .fetch_add(pieces.len() as u64, Ordering::Relaxed);
        c.bytes_read.fetch_add(out.len() as u64, Ordering::Relaxed);
        Some(out)
    }

    /// Piece `p` of `m` as a verified slice; None when it is cached or
    /// being fetched whole, or its fragment cannot be sliced.
    async fn slice_of(&self, m: &Manifest, p: Piece) -> Option<Result<Bytes, OpError>> {
        let f = m.fragments.get(p.index as usize)?;
        let busy = || {
            self.inflight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(&f.id)
        };
        if self.cache.contains(&f.id) || busy() || self.key_of(&f.id).is_some() {
            return None;
        }
        let (start, len) = (p.start as u32, (p.end - p.start) as u32);
        let got = self
            .volume
            .fetch_slice(m.redundancy, f, p.index, start, len)
            .await?;
        self.counters.slices_fetched.fetch_add(1, Ordering::Relaxed);
        Some(got.map_err(OpError::from))
    }

    /// Bytes `offset..offset + len` of the version `m` (short at the end).
    pub(super) async fn read_version(
        &self,
        m: &Manifest,
        offset: u64,
        len: u32,
    ) -> Result<Vec<u8>, OpError> {
        self.read_pieces(m, offset, len, false).await
    }

    /// [`Core::read_version`], and for a read that is not sequential
    /// (`slices`) a piece of a fragment that is not in the cache is
    /// fetched alone, as a verified slice, when the fragment allows it
    /// (plain replicas named by BLAKE3, not sealed): a 4 KiB read costs
    /// about 4 KiB moved and hashed, not a whole fragment. Slices are not
    /// cached.
    pub(super) async fn read_pieces(
        &self,
        m: &Manifest,
        offset: u64,
        len: u32,
        slices: bool,
    ) -> Result<Vec<u8>, OpError> {
        let pieces = plan_read(m.size, m.fragment_size.get(), offset, len);
        let mut out = Vec::with_capacity(pieces.iter().map(|p| p.end - p.start).sum());
        for p in pieces {
            let slice = match slices {
                true => self.slice_of(m, p).await,
                false => None,
            };
            match slice {
                Some(bytes) => out.extend_from_slice(&bytes?),
                None => {
                    let frag = self.fragment(m, p.index).await?;
                    out.extend_from_slice(&frag[p.start..p.end]);
                }
            }
        }
        Ok(out)
    }
}

/// The bytes of `pieces` in order, each cut from the whole fragment `get`
/// gives for it; None as soon as one is missing.
fn joined(pieces: &[Piece], mut get: impl FnMut(&Piece) -> Option<Bytes>) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(pieces.iter().map(|p| p.end - p.start).sum());
    for p in pieces {
        out.extend_from_slice(&get(p)?[p.start..p.end]);
    }
    Some(out)
}
