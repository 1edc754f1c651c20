//! The content of a file open for writing, tracked per fragment.
//!
//! A handle starts from a base version (the head at open, or nothing) and
//! keeps only what it changed:
//!
//! - `dirty`: the whole content of each fragment a write touched (the old
//!   bytes are loaded first unless the write covers the fragment);
//! - `uploading`: fragments being stored in the background (write-behind):
//!   a fragment is handed to an upload as soon as a write fills it to its
//!   end, and every dirty fragment is when the dirty bytes pass
//!   [`DIRTY_LIMIT`] or at a commit;
//! - `staged`: fragments stored on the network, not yet part of a version.
//!
//! Every other fragment is the base's (up to `base_limit`: a truncation
//! below it turns the rest of the base into zeros) or zeros: a hole (never
//! written, or `zeroed`: punched out of the base). The tables are maps of
//! the fragments changed, so a handle's memory follows what was written,
//! not the file's size; the size itself is at most `max_size`, what one
//! manifest can describe (larger is `EFBIG`).
//! A commit stores what is still dirty, waits for the uploads, assembles the
//! manifest (unchanged fragments keep their ids, so versions share storage),
//! stores the manifest and commits the version. The handle's memory is
//! bounded by its share of the mount's write buffers (`budget`): at most
//! [`DIRTY_LIMIT`] plus [`MAX_UPLOADS`] fragments in flight.
//!
//! Appends from an empty file feed a streaming SHA3-256 of the whole file
//! fragment by fragment, so such a version records its file hash; a
//! version made by rewriting part of a file records
//! [`fragfs::fragment::NO_FILE_HASH`] (its fragments are verified against
//! their ids all the same).
//!
//! Every step leaves a consistent state, so a commit cancelled at its
//! deadline can simply be retried.

mod commit;
mod seq;

use super::{Core, OpError};
use bytes::Bytes;
use fragfs::{
    client::ClientError,
    fragment::{FragmentEntry, FragmentId, HashAlgo, Manifest},
    meta::Hlc,
    redundancy::{NodeId, Redundancy},
};
use fuser::Errno;
use seq::Seq;
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};
use tokio::sync::oneshot;

/// Dirty bytes one handle keeps at most before storing them; its share of
/// the mount's write buffers (`budget`) is often less.
pub const DIRTY_LIMIT: usize = 64 << 20;
/// Fragment uploads one handle keeps in flight; a write waits beyond that.
pub const MAX_UPLOADS: usize = 8;

/// A fragment upload running as the mount's tracked task `fuse-upload`;
/// an upload cancelled at unmount never answers (`RecvError`).
type UploadTask = oneshot::Receiver<Result<FragmentEntry, ClientError>>;

/// A version's manifest being stored on its holders as the mount's
/// tracked task `fuse-manifest`: its id and holders once stored.
type ManifestTask = oneshot::Receiver<Result<(FragmentId, Vec<NodeId>), ClientError>>;

struct Upload {
    bytes: Bytes,
    task: UploadTask,
    /// Stored with the holders' fsync (else they need a sync).
    durable: bool,
}

pub struct Content {
    fsz: u64,
    algo: HashAlgo,
    size: u64,
    /// The largest size a manifest of this content can describe.
    max_size: u64,
    /// How its fragments are stored: the base's scheme, or the file's
    /// redundancy when the base has no fragments.
    pub scheme: Redundancy,
    base: Option<Arc<Manifest>>,
    /// Bytes of the base still part of the content.
    base_limit: u64,
    dirty: BTreeMap<u64, Vec<u8>>,
    dirty_bytes: usize,
    uploading: BTreeMap<u64, Upload>,
    staged: BTreeMap<u64, FragmentEntry>,
    /// Fragments of the base turned into zeros (punched holes).
    zeroed: BTreeSet<u64>,
    /// Something to commit (content or size).
    pub changed: bool,
    seq: Option<Seq>,
    /// The version this content is based on (id, clock reading).
    pub version: Option<(u64, Hlc)>,
    /// Peers holding fragments (or manifests) this handle stored that are
    /// not known to be on their disks yet: fsync syncs them.
    unsynced: BTreeSet<NodeId>,
    /// Copies of committed versions' manifests still being stored: a
    /// close does not wait for them, an fsync does.
    manifests: Vec<ManifestTask>,
    /// A copy of a manifest that could not be stored, for the next fsync
    /// to report.
    manifest_failed: Option<OpError>,
    /// The file's path and mode when it was opened: where a change comes
    /// back if another mount deletes the file meanwhile.
    pub origin: Option<(String, u16)>,
    /// The file brought back with this content's change (see
    /// `Core::bring_back`): later commits go to it.
    pub moved_to: Option<fragfs::meta::Ino>,
    /// When the first fragment stored since the last commit was sent: a
    /// commit refreshes them when that is long ago
    /// (`fragfs::volume::REFRESH_AFTER`).
    pub stored_since: Option<std::time::Instant>,
    /// How its fragments are sealed (an encrypted shared directory).
    pub seal: Option<Arc<super::sealing::Sealing>>,
}

impl Content {
    /// The content of `base` (a version with that id and clock reading),
    /// or an empty file; `default_fsz`/`algo` serve a file without base.
    /// Its fragments are stored with `scheme`, and its manifests list at
    /// most as many fragments as fit with that many holders each.
    pub fn new(
        base: Option<(Arc<Manifest>, u64, Hlc)>,
        default_fsz: u32,
        default_algo: HashAlgo,
        scheme: Redundancy,
    ) -> Self {
        let max_fragments = Manifest::max_fragments(scheme.peers_needed());
        let (fsz, algo, size, version) = match &base {
            Some((m, id, hlc)) => (
                u64::from(m.fragment_size.get()),
                m.hash_algo,
                m.size,
                Some((*id, *hlc)),
            ),
            None => (u64::from(default_fsz), default_algo, 0, None),
        };
        let fsz = fsz.max(1);
        Content {
            fsz,
            algo,
            size,
            max_size: max_fragments.saturating_mul(fsz),
            scheme,
            base: base.map(|b| b.0),
            base_limit: size,
            dirty: BTreeMap::new(),
            dirty_bytes: 0,
            uploading: BTreeMap::new(),
            staged: BTreeMap::new(),
            zeroed: BTreeSet::new(),
            changed: false,
            seq: (size == 0).then(Seq::new),
            version,
            unsynced: BTreeSet::new(),
            manifests: Vec::new(),
            manifest_failed: None,
            origin: None,
            moved_to: None,
            stored_since: None,
            seal: None,
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Fragment size of this content.
    pub fn fragment_size(&self) -> u64 {
        self.fsz
    }

    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    /// `EFBIG` unless `end` is a size this content may reach.
    pub fn check_end(&self, end: Option<u64>) -> Result<u64, OpError> {
        end.filter(|&e| e <= self.max_size)
            .ok_or(OpError::refused(Errno::EFBIG, "past the largest file size"))
    }

    fn count(&self) -> u64 {
        self.size.div_ceil(self.fsz)
    }

    /// Length of fragment `i` in the current content.
    pub fn frag_len(&self, i: u64) -> usize {
        let start = i * self.fsz;
        self.size.saturating_sub(start).min(self.fsz) as usize
    }

    /// Bytes of base fragment `i` still part of the content.
    fn base_valid(&self, i: u64) -> Option<(&FragmentEntry, usize)> {
        if self.zeroed.contains(&i) {
            return None;
        }
        let e = self.base.as_ref()?.fragments.get(i as usize)?;
        let valid = self
            .base_limit
            .saturating_sub(i * self.fsz)
            .min(u64::from(e.len)) as usize;
        (valid > 0).then_some((e, valid))
    }

    fn set_dirty(&mut self, i: u64, data: Vec<u8>) {
        self.dirty_bytes += data.len();
        if let Some(old) = self.dirty.insert(i, data) {
            self.dirty_bytes -= old.len();
        }
        self.staged.remove(&i);
        self.zeroed.remove(&i);
        // A background upload of older bytes of this fragment is obsolete.
        self.uploading.remove(&i);
    }

    /// Forgets every change of fragment `i` (the caller says what it is).
    fn forget(&mut self, i: u64) {
        if let Some(old) = self.dirty.remove(&i) {
            self.dirty_bytes -= old.len();
        }
        self.uploading.remove(&i);
        self.staged.remove(&i);
        self.zeroed.remove(&i);
    }

    /// Turns whole fragment `i` into zeros (a hole).
    pub fn zero_fragment(&mut self, i: u64) {
        self.forget(i);
        self.zeroed.insert(i);
        self.seq = None;
        self.changed = true;
    }

    /// Makes whole fragment `i` the stored fragment `e` (of `frag_len(i)`
    /// bytes, same algorithm). `unsynced`: its holders may not have it on
    /// disk yet (fsync syncs them).
    pub fn share_fragment(&mut self, i: u64, e: FragmentEntry, unsynced: bool) {
        self.forget(i);
        if unsynced {
            self.unsynced.extend(e.holders.iter().cloned());
        }
        self.staged.insert(i, e);
        self.seq = None;
        self.changed = true;
    }

    /// What fragment `i` holds now, without reading it.
    pub fn slot(&self, i: u64) -> Slot<'_> {
        if let Some(d) = self.dirty.get(&i) {
            Slot::Bytes(d)
        } else if let Some(u) = self.uploading.get(&i) {
            Slot::Bytes(&u.bytes)
        } else if let Some(e) = self.staged.get(&i) {
            Slot::Stored {
                entry: e,
                staged: true,
            }
        } else if let Some((e, valid)) = self.base_valid(i) {
            match valid == e.len as usize {
                true => Slot::Stored {
                    entry: e,
                    staged: false,
                },
                // Cut by a truncation: its head, then zeros.
                false => Slot::Cut(e),
            }
        } else {
            Slot::Zeros
        }
    }

    fn drop_from(&mut self, first: u64) {
        for (_, d) in self.dirty.split_off(&first) {
            self.dirty_bytes -= d.len();
        }
        self.uploading.split_off(&first);
        self.staged.split_off(&first);
        self.zeroed.split_off(&first);
    }
}

/// The source of one fragment of a [`Content`] (see [`Content::slot`]).
pub enum Slot<'a> {
    /// Bytes in memory (changed, or being stored).
    Bytes(&'a [u8]),
    /// A stored fragment, whole; `staged` when this handle stored it.
    Stored {
        entry: &'a FragmentEntry,
        staged: bool,
    },
    /// A stored fragment cut short by a truncation.
    Cut(&'a FragmentEntry),
    /// Zeros: never written, past the base, or punched.
    Zeros,
}

impl Core {
    /// Fragment `i` of `c` as it is now, `frag_len(i)` bytes.
    async fn materialize(&self, c: &Content, i: u64) -> Result<Vec<u8>, OpError> {
        let flen = c.frag_len(i);
        let mut v = if let Some(d) = c.dirty.get(&i) {
            d.clone()
        } else if let Some(u) = c.uploading.get(&i) {
            u.bytes.to_vec()
        } else if let Some(e) = c.staged.get(&i) {
            self.fragment_in(c.scheme, e, i).await?.to_vec()
        } else if let Some((e, valid)) = c.base_valid(i) {
            let b = self.fragment_in(c.scheme, e, i).await?;
            b[..valid.min(b.len())].to_vec()
        } else {
            Vec::new()
        };
        v.resize(flen, 0);
        Ok(v)
    }

    /// Bytes `offset..offset + len` of `c` (short at the end).
    pub(super) async fn read_content(
        &self,
        c: &Content,
        offset: u64,
        len: u32,
    ) -> Result<Vec<u8>, OpError> {
        let pieces = crate::plan::plan_read(c.size, c.fsz as u32, offset, len);
        let mut out = Vec::with_capacity(pieces.iter().map(|p| p.end - p.start).sum());
        for p in pieces {
            let fetched;
            let (src, valid): (&[u8], usize) = if let Some(d) = c.dirty.get(&p.index) {
                (d, d.len())
            } else if let Some(u) = c.uploading.get(&p.index) {
                (&u.bytes, u.bytes.len())
            } else if let Some(e) = c.staged.get(&p.index) {
                fetched = self.fragment_in(c.scheme, e, p.index).await?;
                (&fetched, fetched.len())
            } else if let Some((e, valid)) = c.base_valid(p.index) {
                fetched = self.fragment_in(c.scheme, e, p.index).await?;
                (&fetched, valid.min(fetched.len()))
            } else {
                (&[], 0)
            };
            // Bytes past what the source holds are zeros (a grown file).
            let (from, to) = (p.start.min(valid), p.end.min(valid));
            out.extend_from_slice(&src[from..to]);
            out.resize(out.len() + (p.end - p.start) - (to - from), 0);
        }
        Ok(out)
    }

    /// Writes `data` at `offset` into `c`.
    pub(super) async fn write_content(
        &self,
        c: &mut Content,
        offset: u64,
        data: &[u8],
    ) -> Result<(), OpError> {
        if data.is_empty() {
            // Writing nothing changes nothing, not even past the end.
            return Ok(());
        }
        let end = c.check_end(offset.checked_add(data.len() as u64))?;
        let append = offset == c.size;
        if !append {
            c.seq = None;
        }
        if end > c.size {
            self.resize_content(c, end).await?;
        }
        let mut pos = offset;
        while pos < end {
            let i = pos / c.fsz;
            let fstart = i * c.fsz;
            let flen = c.frag_len(i);
            let a = (pos - fstart) as usize;
            let b = ((end - fstart) as usize).min(flen);
            let chunk = &data[(pos - offset) as usize..(pos - offset) as usize + (b - a)];
            if !c.dirty.contains_key(&i) {
                let buf = if a == 0 && b == flen {
                    chunk.to_vec()
                } else {
                    self.materialize(c, i).await?
                };
                c.set_dirty(i, buf);
            }
            if let Some(buf) = c.dirty.get_mut(&i) {
                buf[a..b].copy_from_slice(chunk);
            }
            c.changed = true;
            pos = fstart + b as u64;
            // A fragment filled to its full end goes to the network now.
            if b == flen && flen as u64 == c.fsz {
                let feed = append && c.seq.as_ref().is_some_and(|s| s.fed == fstart);
                if append && !feed {
                    c.seq = None;
                }
                self.stage(c, i, feed, true).await?;
            }
        }
        if c.dirty_bytes > self.budget.dirty_limit(c.fsz) {
            let keys: Vec<u64> = c.dirty.keys().copied().collect();
            for i in keys {
                self.stage(c, i, false, true).await?;
            }
        }
        Ok(())
    }

    /// Cuts or zero-extends `c` to `size` bytes.
    pub(super) async fn resize_content(&self, c: &mut Content, size: u64) -> Result<(), OpError> {
        if size == c.size {
            return Ok(());
        }
        c.check_end(Some(size))?;
        c.changed = true;
        if size < c.size {
            // Hashing appends goes on only from an empty file.
            c.seq = (size == 0).then(Seq::new);
            let last = size / c.fsz;
            let cut = size % c.fsz != 0;
            c.drop_from(if cut { last + 1 } else { last });
            c.base_limit = c.base_limit.min(size);
            let old = c.size;
            c.size = size;
            if cut {
                // The fragment holding the new end keeps only its head; load
                // it with the old size so its bytes are still reachable.
                c.size = old;
                let mut v = self.materialize(c, last).await?;
                c.size = size;
                v.truncate(c.frag_len(last));
                c.set_dirty(last, v);
            }
        } else {
            // The old last fragment grows with zeros; a dirty one now, the
            // others implicitly (their sources end before the new length).
            let last = c.size / c.fsz;
            c.size = size;
            let flen = c.frag_len(last);
            if let Some(d) = c.dirty.get_mut(&last) {
                c.dirty_bytes += flen - d.len();
                d.resize(flen, 0);
            }
        }
        Ok(())
    }

    /// Hands dirty fragment `i` to a background upload (feeding the file
    /// hash first when `feed`). Waits for the oldest upload when
    /// [`MAX_UPLOADS`] are in flight.
    ///
    /// `durable`: the holders write it to disk before answering. Write-behind
    /// uploads are (their disk writes overlap the writing); uploads at a
    /// commit are not (a close makes the version visible, fsync syncs).
    async fn stage(
        &self,
        c: &mut Content,
        i: u64,
        feed: bool,
        durable: bool,
    ) -> Result<(), OpError> {
        if !c.dirty.contains_key(&i) {
            return Ok(());
        }
        while c.uploading.len() >= self.budget.max_uploads(c.fsz) {
            let Some((&j, _)) = c.uploading.iter().next() else {
                break;
            };
            self.finish_upload(c, j).await?;
        }
        let Some(data) = c.dirty.remove(&i) else {
            return Ok(());
        };
        c.dirty_bytes -= data.len();
        let bytes = Bytes::from(data);
        if feed {
            if let Some(s) = c.seq.as_mut() {
                s.feed(bytes.clone(), &self.tasks);
            }
        }
        let cands = self.upload_candidates().await;
        let client = self
            .client_for(c.scheme, durable)
            .sealed(c.seal.as_ref().map(|s| s.key.clone()));
        let (algo, b) = (c.algo, bytes.clone());
        c.stored_since.get_or_insert_with(std::time::Instant::now);
        let task = self.tasks.spawn_result("fuse-upload", async move {
            client.put_fragment_as(i, algo, b, &cands).await
        });
        c.uploading.insert(
            i,
            Upload {
                bytes,
                task,
                durable,
            },
        );
        Ok(())
    }

    /// Waits for the upload of fragment `i`; on success it is staged, on
    /// failure its bytes go back to `dirty` (a later commit retries).
    async fn finish_upload(&self, c: &mut Content, i: u64) -> Result<(), OpError> {
        let Some(up) = c.uploading.get_mut(&i) else {
            return Ok(());
        };
        let res = (&mut up.task).await;
        let Some(up) = c.uploading.remove(&i) else {
            return Ok(());
        };
        match res {
            Ok(Ok(entry)) => {
                if !up.durable {
                    c.unsynced.extend(entry.holders.iter().cloned());
                }
                if let Some(s) = &c.seal {
                    self.note_sealed(entry.id, &s.key);
                }
                self.cache.insert(entry.id, up.bytes);
                c.staged.insert(i, entry);
                Ok(())
            }
            Ok(Err(e)) => {
                c.set_dirty(i, up.bytes.to_vec());
                Err(e.into())
            }
            Err(_) => {
                c.set_dirty(i, up.bytes.to_vec());
                Err(OpError::Cancelled("a fragment upload"))
            }
        }
    }
}

impl Content {
    /// Takes in the copies of manifests stored since the last look: their
    /// holders need a sync; a failure is kept for the next fsync.
    pub(super) fn reap_manifests(&mut self) {
        for mut task in std::mem::take(&mut self.manifests) {
            match task.try_recv() {
                Err(oneshot::error::TryRecvError::Empty) => self.manifests.push(task),
                r => self.manifest_done(r.ok()),
            }
        }
    }

    /// Waits for the copies of manifests still being stored; the first
    /// failure since the last call, if any.
    pub(super) async fn manifests_stored(&mut self) -> Result<(), OpError> {
        for task in std::mem::take(&mut self.manifests) {
            self.manifest_done(task.await.ok());
        }
        self.manifest_failed.take().map_or(Ok(()), Err)
    }

    /// Records how one copy ended (None: cancelled at unmount).
    fn manifest_done(&mut self, r: Option<Result<(FragmentId, Vec<NodeId>), ClientError>>) {
        let failed = match r {
            Some(Ok((_, holders))) => return self.unsynced.extend(holders),
            Some(Err(e)) => e.into(),
            None => OpError::Cancelled("a manifest's copy"),
        };
        tracing::warn!(error = %failed, "a manifest's copy was not stored");
        self.manifest_failed.get_or_insert(failed);
    }
}
