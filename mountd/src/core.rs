//! The operations of the mount, as async functions on the node's
//! [`Volume`]: namespace operations go to its typed calls; reads fetch
//! verified fragments of the version a handle opened (with readahead on
//! sequential access); writes change a handle's per-fragment content
//! (`writer`), which a flush stores as a new version (changed fragments
//! first, the version commit second).
//!
//! Knows nothing of fuser's request and reply types; errors are
//! [`OpError`]s, turned into errno values by the caller.
//!
//! Locks: `handles`, `dirs` and `inflight` (std mutexes) are held for one
//! map operation, never across `.await`. A fragment's gate (tokio mutex) is
//! held while that fragment is fetched; a writer's `buf` (tokio mutex) is
//! held across storing and committing so writes to the same handle wait for
//! the commit. A `buf` may be held while a gate is taken (reading the base
//! of a changed fragment), never the other way round. A handle's `known`
//! attributes (std mutex) are taken only under `handles`, for a copy; a
//! writer's `closers` (std mutex) is held for one look, under no other lock.

mod attrs;
mod budget;
mod closers;
mod fetch;
pub mod holds;
mod ns;
mod ranges;
mod remembered;
mod saves;
mod scheme;
mod sealing;
mod sizes;
mod trunc;
mod version;
mod writer;

use crate::{cache::FragmentCache, errno::OpError};
use fragfs::{
    fragment::{FragmentId, Manifest},
    meta::{Attr, Caller, Context, DirEntry, Ino, Kind, Version},
    task::Tasks,
    volume::Volume,
};
use fuser::Errno;
use scheme::{base_content, base_content_of};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
};
use writer::Content;

/// What a rename did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renamed {
    /// The entry moved (and replaced what the new name held, if anything).
    Moved,
    /// A save by rename-over: the renamed file's content became a new
    /// version of the file the new name holds, and the old name went away
    /// (see `saves`). The kernel's entry for the new name is stale.
    SavedOver,
}

/// Attribute changes asked by `setattr`.
pub use fragfs::volume::SetAttrs;

/// One open file.
pub struct OpenFile {
    pub ino: Ino,
    /// Who opened it: the owner of the versions it commits.
    caller: Caller,
    /// The head version when it was opened: what a read-only handle reads.
    head: Option<Version>,
    /// Present on a handle opened for writing.
    writer: Option<Writer>,
    /// Where the next read starts if access is sequential.
    next_read: AtomicU64,
    /// Fragments up to this index (exclusive) were handed to readahead.
    ahead: AtomicU64,
    /// The file's attributes as last seen through this mount: what `fstat`
    /// answers once the file is unlinked (see [`Core::getattr`]).
    known: Mutex<Attr>,
    /// When it was opened (`holds`).
    opened: std::time::Instant,
}

impl OpenFile {
    fn new(attr: Attr, caller: Caller, head: Option<Version>, writer: Option<Writer>) -> Self {
        OpenFile {
            ino: attr.ino,
            caller,
            head,
            writer,
            next_read: AtomicU64::new(0),
            ahead: AtomicU64::new(0),
            known: Mutex::new(attr),
            opened: std::time::Instant::now(),
        }
    }
}

struct Writer {
    buf: tokio::sync::Mutex<Content>,
    /// Mirrors of `Content::changed` and its size, read by `getattr`
    /// without waiting for a flush in progress.
    dirty: AtomicBool,
    len: AtomicU64,
    /// This handle's part of the mount's write buffers.
    _share: budget::Share,
    /// The threads that opened or changed it: whose flush commits.
    closers: Mutex<closers::Closers>,
}

impl Writer {
    fn new(c: Content, core: &Core) -> Self {
        Writer {
            _share: core.budget.join(),
            closers: Mutex::default(),
            dirty: AtomicBool::new(c.changed),
            len: AtomicU64::new(c.size()),
            buf: tokio::sync::Mutex::new(c),
        }
    }

    fn mirror(&self, c: &Content) {
        self.len.store(c.size(), Ordering::Release);
        self.dirty.store(c.changed, Ordering::Release);
    }
}

/// Fragments read ahead of a sequential reader, at most.
const READAHEAD: u64 = 8;

/// A directory's listing as read at opendir.
pub struct Listing {
    /// The directory's own attributes (for `.` and `..`).
    pub own: Attr,
    pub entries: Vec<(DirEntry, Attr)>,
}

/// What the mount did since it started.
#[derive(Debug, Default)]
pub struct Counters {
    pub bytes_read: AtomicU64,
    pub bytes_written: AtomicU64,
    /// Versions committed by flush, fsync, release, truncate.
    pub commits: AtomicU64,
    pub fragments_from_cache: AtomicU64,
    pub fragments_fetched: AtomicU64,
    /// Lookups the kernel asked for (a listing with attributes saves them).
    pub lookups: AtomicU64,
    /// Verified slices fetched for reads that were not sequential.
    pub slices_fetched: AtomicU64,
}

impl std::fmt::Display for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        write!(
            f,
            "read {} B, wrote {} B, {} version(s) committed, fragments: {} from cache, {} fetched, {} slice(s) fetched, lookups: {}",
            n(&self.bytes_read),
            n(&self.bytes_written),
            n(&self.commits),
            n(&self.fragments_from_cache),
            n(&self.fragments_fetched),
            n(&self.slices_fetched),
            n(&self.lookups)
        )
    }
}

pub struct Core {
    volume: Volume,
    /// The namespace's answers remembered (`crate::meta_cache`).
    meta_cache: Arc<crate::meta_cache::MetaCache>,
    /// The node's client, storing without waiting for the holders' disks:
    /// close makes a version visible, fsync makes it durable.
    client: fragfs::client::Client,
    /// The mount's tasks: background uploads, hashing and readahead run
    /// here, so unmount cancels them.
    tasks: Tasks,
    pub counters: Counters,
    cache: FragmentCache,
    handles: Mutex<HashMap<u64, Arc<OpenFile>>>,
    /// One gate per fragment being fetched, so parallel reads of the same
    /// fragment (kernel readahead) fetch and verify it once.
    inflight: Mutex<HashMap<FragmentId, Arc<tokio::sync::Mutex<()>>>>,
    /// Open directories: the listing read at opendir, paged by readdir so a
    /// long listing is read once and stays stable while it is walked.
    dirs: Mutex<HashMap<u64, Arc<Listing>>>,
    next_fh: AtomicU64,
    /// Placement candidates for uploads, refreshed at each commit.
    upload_cands: Mutex<Option<Arc<Vec<fragfs::redundancy::Candidate>>>>,
    /// Fragments read ahead of a sequential reader.
    readahead: u64,
    /// Fragments whose last fetch failed, and when.
    failed: Mutex<HashMap<FragmentId, std::time::Instant>>,
    /// Ids of the fragments of zeros (holes for `SEEK_HOLE`).
    zero_ids: ranges::ZeroIds,
    /// Write buffers shared out between the handles open for writing.
    budget: budget::WriteBudget,
    /// Versions served, local unlinks: what saves and resurrections need.
    saves: saves::Saves,
    /// Who may enter shared directories (`crate::guard`).
    guard: Arc<crate::guard::Guard>,
    /// The keys of sealed fragments, by id (`sealing`).
    keys: sealing::Keys,
    /// Exact sizes of sealed files (`sizes`).
    sizes: sizes::Sizes,
}

impl Core {
    /// The volume this mount works on (acting for its users).
    pub fn volume(&self) -> &Volume {
        &self.volume
    }

    /// `meta_cache`: how long namespace answers are remembered (None:
    /// not at all, for a mount that hears no change notices).
    pub fn new(
        volume: Volume,
        cache_bytes: usize,
        tasks: Tasks,
        meta_cache: Option<std::time::Duration>,
    ) -> Self {
        let client = {
            let mut cfg = volume.client().config().clone();
            cfg.durable_puts = false;
            volume.client().with_config(cfg)
        };
        let volume_for_guard = volume.clone();
        Core {
            client,
            meta_cache: crate::meta_cache::MetaCache::new(volume.clone(), meta_cache),
            volume,
            tasks,
            counters: Counters::default(),
            cache: FragmentCache::new(cache_bytes),
            handles: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
            upload_cands: Mutex::new(None),
            readahead: READAHEAD,
            failed: Mutex::new(HashMap::new()),
            zero_ids: ranges::ZeroIds::default(),
            budget: budget::WriteBudget::default(),
            saves: saves::Saves::default(),
            guard: Arc::new(crate::guard::Guard::new(volume_for_guard)),
            keys: sealing::keys(),
            sizes: Default::default(),
        }
    }

    /// The namespace's answers this mount remembers.
    pub fn meta_cache(&self) -> &Arc<crate::meta_cache::MetaCache> {
        &self.meta_cache
    }

    /// Who may enter shared directories through this mount.
    pub fn guard(&self) -> &Arc<crate::guard::Guard> {
        &self.guard
    }

    /// `a` with the size of a file's uncommitted writes, if any.
    fn overlay(&self, mut a: Attr) -> Attr {
        self.overlay_all(std::iter::once(&mut a));
        a
    }

    /// [`Core::overlay`] for many attributes, under one look at the open
    /// handles (a listing of a big directory takes the lock once).
    fn overlay_all<'a>(&self, attrs: impl Iterator<Item = &'a mut Attr>) {
        let handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        let dirty: HashMap<Ino, u64> = handles
            .values()
            .filter_map(|of| {
                let w = of.writer.as_ref()?;
                w.dirty
                    .load(Ordering::Acquire)
                    .then(|| (of.ino, w.len.load(Ordering::Acquire)))
            })
            .collect();
        drop(handles);
        if dirty.is_empty() {
            return;
        }
        for a in attrs.filter(|a| a.kind == Kind::File) {
            if let Some(&len) = dirty.get(&a.ino) {
                a.size = len;
            }
        }
    }

    fn handle(&self, fh: u64) -> Result<Arc<OpenFile>, OpError> {
        let handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        handles
            .get(&fh)
            .cloned()
            .ok_or(OpError::refused(Errno::EBADF, "no such open file"))
    }

    fn add_handle(&self, of: OpenFile) -> u64 {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fh, Arc::new(of));
        fh
    }

    /// Open handles (for tests and status).
    pub fn open_handles(&self) -> usize {
        self.handles.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The open handles of `ino`: (handle, version it reads, open for writing).
    pub fn handles_of(&self, ino: Ino) -> Vec<(u64, Option<u64>, bool)> {
        let handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        handles
            .iter()
            .filter(|(_, of)| of.ino == ino)
            .map(|(fh, of)| (*fh, of.head.as_ref().map(|v| v.id), of.writer.is_some()))
            .collect()
    }

    // ---- open files ----

    /// Opens file `ino`. A handle opened for writing starts from the head
    /// version and keeps what it changes (`writer`); nothing is loaded now.
    pub async fn open(&self, ino: Ino, flags: i32, caller: Caller) -> Result<u64, OpError> {
        let ino = self.saves.target(ino);
        let writable = flags & libc::O_ACCMODE != libc::O_RDONLY;
        if flags & libc::O_TRUNC != 0 && !writable {
            self.truncate_read_only_open(ino, caller).await?;
        }
        // The key is opened once: for reading, and for a writer to keep.
        let (head, path) = tokio::join!(self.head_opened(ino, caller.uid), async {
            match writable {
                true => self.volume.path_of(ino).await.ok(),
                false => None,
            }
        });
        let (attr, head, opened) = head?;
        let seal = match writable {
            true => self.sealing_for(ino, head.as_ref(), opened).await?,
            false => None,
        };
        match attr.kind {
            Kind::File => {}
            Kind::Dir => return Err(fragfs::meta::FsError::IsDir.into_op()),
            _ => return Err(OpError::refused(Errno::ENXIO, "not a regular file")),
        }
        if let Some(v) = &head {
            self.saves.served(ino, fragfs::volume::Base::from(v));
        }
        let writer = if writable {
            let mut content = base_content(&head, ino, self).await?;
            content.origin = path.map(|p| (p, attr.perm));
            content.seal = seal;
            if flags & libc::O_TRUNC != 0 {
                // Cutting to zero needs no fragment.
                self.resize_content(&mut content, 0).await?;
                if !content.changed {
                    self.touch_mtime(ino, caller).await?;
                }
            }
            Some(Writer::new(content, self))
        } else {
            None
        };
        Ok(self.add_handle(OpenFile::new(attr, caller, head, writer)))
    }

    /// Creates and opens an empty regular file.
    pub async fn create(
        &self,
        parent: Ino,
        name: String,
        perm: u16,
        flags: i32,
        caller: Caller,
        ctx: Context,
    ) -> Result<(Attr, u64), OpError> {
        let name = self.volume.stored_name(parent, name).await?;
        let (attr, dir, scheme) = tokio::join!(
            self.volume.create(parent, name.clone(), perm, caller, ctx),
            self.volume.path_of(parent),
            self.volume.redundancy_of(parent)
        );
        let attr = attr?;
        let seal = match flags & libc::O_ACCMODE != libc::O_RDONLY {
            true => self.sealing_for(attr.ino, None, None).await?,
            false => None,
        };
        let scheme = scheme.unwrap_or_else(|e| {
            tracing::warn!(parent, "redundancy not read ({e}): using the default");
            self.volume.client().config().scheme()
        });
        let writer = (flags & libc::O_ACCMODE != libc::O_RDONLY).then(|| {
            let mut content = base_content_of(&None, scheme, self);
            let path = dir
                .ok()
                .map(|d| format!("{}/{name}", d.trim_end_matches('/')));
            content.origin = path.map(|p| (p, attr.perm));
            content.seal = seal;
            Writer::new(content, self)
        });
        let fh = self.add_handle(OpenFile::new(attr.clone(), caller, None, writer));
        Ok((attr, fh))
    }

    pub async fn read(
        self: &Arc<Self>,
        fh: u64,
        offset: u64,
        len: u32,
    ) -> Result<Vec<u8>, OpError> {
        let data = self.read_handle(fh, offset, len).await?;
        self.counters
            .bytes_read
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(data)
    }

    async fn read_handle(
        self: &Arc<Self>,
        fh: u64,
        offset: u64,
        len: u32,
    ) -> Result<Vec<u8>, OpError> {
        let of = self.handle(fh)?;
        if let Some(w) = &of.writer {
            let buf = w.buf.lock().await;
            return self.read_content(&buf, offset, len).await;
        }
        let Some(v) = &of.head else {
            return Ok(Vec::new());
        };
        let m = &v.manifest;
        let end = offset.saturating_add(u64::from(len)).min(m.size);
        if of.next_read.swap(end, Ordering::Relaxed) != offset {
            return self.read_pieces(m, offset, len, true).await;
        }
        // What is read now first, what comes next after: the first bytes
        // of a cold file do not share the holders' disks and the network
        // with the fragments read ahead of them.
        let data = self.read_version(m, offset, len).await?;
        self.read_ahead(&of, m, end);
        Ok(data)
    }

    /// After a sequential read that ended at `end`, starts fetching the
    /// next fragments in the background so they are in the cache when the
    /// reader gets there.
    fn read_ahead(self: &Arc<Self>, of: &OpenFile, m: &Manifest, end: u64) {
        if end == 0 || self.readahead == 0 {
            return;
        }
        let fsz = u64::from(m.fragment_size.get());
        let count = m.fragments.len() as u64;
        let current = (end - 1) / fsz;
        // At most a quarter of the cache, so what is read ahead stays there
        // until the reader comes.
        let window = self.readahead.min(self.cache.capacity() as u64 / (4 * fsz));
        let until = (current + 1 + window).min(count);
        let from = of
            .ahead
            .fetch_max(until, Ordering::Relaxed)
            .max(current + 1);
        for index in from..until {
            let Some(f) = m.fragments.get(index as usize) else {
                break;
            };
            if self.cache.contains(&f.id) {
                continue;
            }
            let (core, f, r) = (self.clone(), f.clone(), m.redundancy);
            self.tasks.spawn("fuse-readahead", async move {
                // A failure here is the reader's to meet and report.
                let _ = core.fragment_in(r, &f, index).await;
            });
        }
    }

    pub async fn write(&self, fh: u64, offset: u64, data: Vec<u8>) -> Result<u32, OpError> {
        let of = self.handle(fh)?;
        let w = of
            .writer
            .as_ref()
            .ok_or(OpError::refused(Errno::EBADF, "not open for writing"))?;
        let mut buf = w.buf.lock().await;
        let res = self.write_content(&mut buf, offset, &data).await;
        w.mirror(&buf);
        res?;
        self.counters
            .bytes_written
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(data.len() as u32)
    }

    /// A `close(2)` by thread `tid`: stores the handle's changed content as
    /// the file's new version, unless `tid`'s process neither opened nor
    /// changed the handle (a forked child closing its copy: see `closers`).
    pub async fn flush(&self, fh: u64, tid: u32) -> Result<(), OpError> {
        let of = self.handle(fh)?;
        if !self.flush_commits(&of, tid) {
            tracing::debug!(fh, tid, "flush by a process that did not write: no commit");
            return Ok(());
        }
        self.commit(&of).await
    }

    /// `fsync`: commits, then makes everything the handle stored durable on
    /// its holders; returns once both are.
    pub async fn fsync(&self, fh: u64) -> Result<(), OpError> {
        let of = self.handle(fh)?;
        self.commit_durable(&of).await
    }

    async fn commit_durable(&self, of: &OpenFile) -> Result<(), OpError> {
        let Some(w) = &of.writer else { return Ok(()) };
        let mut buf = w.buf.lock().await;
        let res = self.commit_content(&mut buf, of.ino, of.caller).await;
        w.mirror(&buf);
        res?;
        self.sync_content(&mut buf).await
    }

    async fn commit(&self, of: &OpenFile) -> Result<(), OpError> {
        let Some(w) = &of.writer else { return Ok(()) };
        let mut buf = w.buf.lock().await;
        let res = self.commit_content(&mut buf, of.ino, of.caller).await;
        w.mirror(&buf);
        res.map(drop)
    }

    /// Commits the unsaved writes of every open file (before unmounting).
    /// Returns how many files were committed; logs the ones that failed.
    pub async fn flush_all(&self) -> usize {
        let open: Vec<Arc<OpenFile>> = self
            .handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let mut done = 0;
        for of in open {
            if of
                .writer
                .as_ref()
                .is_some_and(|w| w.dirty.load(Ordering::Acquire))
            {
                match self.commit_durable(&of).await {
                    Ok(()) => done += 1,
                    Err(e) => {
                        tracing::warn!(ino = of.ino, error = %e, "unsaved writes could not be committed")
                    }
                }
            }
        }
        done
    }

    /// The last close of a handle: commits what is left and forgets it.
    /// The handle leaves the table first, so a commit that misses its
    /// deadline cannot leave it behind.
    pub async fn release(&self, fh: u64) -> Result<(), OpError> {
        let of = self
            .handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&fh);
        let Some(of) = of else {
            return Err(OpError::refused(Errno::EBADF, "no such open file"));
        };
        let res = self.commit(&of).await;
        if self.handles_of(of.ino).is_empty() {
            self.saves.closed(of.ino);
        }
        res
    }
}

trait IntoOp {
    fn into_op(self) -> OpError;
}

impl IntoOp for fragfs::meta::FsError {
    fn into_op(self) -> OpError {
        OpError::Meta(self.into())
    }
}
