//! The `fuser::Filesystem` callbacks. Each copies its arguments, moves its
//! `Reply*` into a task on the tokio runtime and returns at once; the task
//! runs the operation (see [`crate::core`]) under a deadline and answers.
//! Nothing here blocks the FUSE thread or waits on the runtime.

use crate::{
    attr::{file_attr, kind_of_mode, perm_of, time_or_now},
    core::{Core, Renamed, SetAttrs},
    creds,
    errno::OpError,
    guard::{Guard, Want},
    history::{self, History},
    invalidate::{Inval, Invalidation},
    locks::{self, Locks},
    mount::MountConfig,
    statfs::{statfs_of, Capacity, BSIZE},
};
use fragfs::{
    meta::{Context, Kind, RenameFlags, XattrMode},
    task::Tasks,
    volume::clock,
};
use fuser::{
    AccessFlags, BsdFileFlags, Errno, FileHandle, Filesystem, FopenFlags, Generation, INodeNo,
    InitFlags, KernelConfig, LockOwner, OpenFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyLock, ReplyLseek, ReplyOpen,
    ReplyStatfs, ReplyWrite, ReplyXattr, Request, TimeOrNow, WriteFlags,
};
use std::{
    ffi::OsStr,
    io,
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime},
};

mod run;

use run::{
    answer_xattr, caller, create_context, empty, entry_name, fill_dir, fill_dir_plus, name_of,
};

pub struct FragFs {
    core: Arc<Core>,
    /// The network's stores, for statfs.
    capacity: Arc<Capacity>,
    rt: tokio::runtime::Handle,
    /// Every operation in flight, cancelled when the mount stops.
    tasks: Tasks,
    cfg: MountConfig,
    /// What the kernel was given, for pushed invalidations.
    inval: Arc<Invalidation>,
    /// This mount's file lock session.
    locks: Arc<Locks>,
    /// The read-only history tree at `.fragfs` (see [`crate::history`]).
    history: Arc<History>,
    /// Who may enter shared directories (see [`crate::guard`]).
    guard: Arc<Guard>,
}

impl Filesystem for FragFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        // O_TRUNC comes with open, not as a separate truncate first.
        if let Err(missing) = config.add_capabilities(InitFlags::FUSE_ATOMIC_O_TRUNC) {
            tracing::info!(?missing, "kernel lacks atomic O_TRUNC");
        }
        // Listings carry attributes: `ls -l` needs no lookup per entry.
        if let Err(missing) = config
            .add_capabilities(InitFlags::FUSE_DO_READDIRPLUS | InitFlags::FUSE_READDIRPLUS_AUTO)
        {
            tracing::info!(?missing, "kernel lacks readdirplus");
        }
        // fcntl and flock locks go to the namespace, shared by every mount.
        if let Err(missing) =
            config.add_capabilities(InitFlags::FUSE_POSIX_LOCKS | InitFlags::FUSE_FLOCK_LOCKS)
        {
            tracing::warn!(
                ?missing,
                "kernel lacks remote locks: locks hold on this node only"
            );
        }
        // POSIX ACLs: the kernel enforces them (from getxattr) and leaves
        // the umask to us, to apply only where no default ACL is inherited.
        if let Err(missing) =
            config.add_capabilities(InitFlags::FUSE_POSIX_ACL | InitFlags::FUSE_DONT_MASK)
        {
            tracing::warn!(?missing, "kernel lacks POSIX ACLs");
        }
        let _ = config.set_max_write(1 << 20);
        // Larger kernel readahead: fewer, bigger reads of sequential files.
        let _ = config.set_max_readahead(1 << 20);
        Ok(())
    }

    fn lookup(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let name = match entry_name(name) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        if history::claims(parent.0, &name) {
            let (h, g, uid) = (self.history.clone(), self.guard.clone(), req.uid());
            let fut = async move {
                if let Some(real) = h.real_of(parent.0) {
                    g.check(uid, real, Want::Read).await?;
                }
                h.lookup(parent.0, &name).await
            };
            return self.meta("history lookup", fut, history::reply::entry(reply));
        }
        let (core, answer) = (self.core.clone(), self.entry(reply, parent, &name));
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "lookup",
            async move {
                g.check_all(uid, &[parent.0], Want::Read).await?;
                core.lookup(parent.0, name).await
            },
            answer,
        );
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        if history::owns(ino.0) {
            let h = self.history.clone();
            let fut = async move { h.getattr(ino.0).await };
            return self.meta("history getattr", fut, history::reply::attr(reply));
        }
        let (core, ttl) = (self.core.clone(), self.cfg.ttl);
        self.meta(
            "getattr",
            async move { core.getattr(ino.0).await },
            move |r| match r {
                Ok(a) => reply.attr(&ttl, &file_attr(&a)),
                Err(e) => reply.error(e),
            },
        );
    }

    fn setattr(
        &self,
        req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        if history::owns(ino.0) {
            return reply.error(Errno::EROFS);
        }
        let now = clock::now();
        let set = SetAttrs {
            perm: mode.map(|m| (m & 0o7777) as u16),
            uid,
            gid,
            size,
            atime: atime.map(|t| time_or_now(t, now)),
            mtime: mtime.map(|t| time_or_now(t, now)),
        };
        let (core, ttl, who) = (self.core.clone(), self.cfg.ttl, caller(req));
        let fh = fh.map(|f| f.0);
        // Groups matter to the ownership rules of chown and chmod only.
        let needs_groups = req.uid() != 0 && (gid.is_some() || mode.is_some());
        let ctx = Context {
            groups: match needs_groups {
                true => creds::groups(req.pid()),
                false => Vec::new(),
            },
            umask: None,
        };
        let tid = req.pid();
        let (g, uid) = (self.guard.clone(), req.uid());
        let work = async move {
            g.check(uid, ino.0, Want::Write).await?;
            if let (Some(fh), Some(_)) = (fh, set.size) {
                core.note_writer(fh, tid);
            }
            core.setattr(ino.0, fh, set, who, ctx).await
        };
        let answer = move |r: Result<fragfs::meta::Attr, Errno>| match r {
            Ok(a) => reply.attr(&ttl, &file_attr(&a)),
            Err(e) => reply.error(e),
        };
        if size.is_some() {
            self.data("setattr", work, answer);
        } else {
            self.meta("setattr", work, answer);
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        if history::owns(ino.0) {
            return reply.error(Errno::EINVAL);
        }
        let core = self.core.clone();
        self.meta(
            "readlink",
            async move { core.readlink(ino.0).await },
            move |r| match r {
                Ok(t) => reply.data(t.as_bytes()),
                Err(e) => reply.error(e),
            },
        );
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let (name, kind) = match (entry_name(name), kind_of_mode(mode)) {
            (Ok(n), Some(k)) => (n, k),
            (Err(e), _) => return reply.error(e),
            (_, None) => return reply.error(Errno::EINVAL),
        };
        if let Some(e) = history::refuse_new(parent.0, &name) {
            return reply.error(e);
        }
        let (core, who, perm) = (self.core.clone(), caller(req), perm_of(mode, 0));
        let (answer, ctx) = (self.entry(reply, parent, &name), create_context(umask));
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "mknod",
            async move {
                g.check_all(uid, &[parent.0], Want::Write).await?;
                let rdev = u64::from(rdev);
                let node = fragfs::volume::NewNode { kind, perm, rdev };
                core.mknod(parent.0, name, node, who, ctx).await
            },
            answer,
        );
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let name = match entry_name(name) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        if let Some(e) = history::refuse_new(parent.0, &name) {
            return reply.error(e);
        }
        let (core, who, perm) = (self.core.clone(), caller(req), perm_of(mode, 0));
        let (answer, ctx) = (self.entry(reply, parent, &name), create_context(umask));
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "mkdir",
            async move {
                g.check_all(uid, &[parent.0], Want::Write).await?;
                core.mkdir(parent.0, name, perm, who, ctx).await
            },
            answer,
        );
    }

    fn unlink(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let name = match entry_name(name) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        if let Some(e) = history::refuse_change(parent.0, &name) {
            return reply.error(e);
        }
        let core = self.core.clone();
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "unlink",
            async move {
                g.check_all(uid, &[parent.0], Want::Write).await?;
                core.unlink(parent.0, name).await
            },
            empty(reply),
        );
    }

    fn rmdir(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let name = match entry_name(name) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        if let Some(e) = history::refuse_change(parent.0, &name) {
            return reply.error(e);
        }
        let core = self.core.clone();
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "rmdir",
            async move {
                g.check_all(uid, &[parent.0], Want::Write).await?;
                core.rmdir(parent.0, name).await
            },
            empty(reply),
        );
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let (name, target) = match (entry_name(link_name), name_of(target.as_os_str())) {
            (Ok(n), Ok(t)) => (n, t),
            (Err(e), _) | (_, Err(e)) => return reply.error(e),
        };
        if let Some(e) = history::refuse_new(parent.0, &name) {
            return reply.error(e);
        }
        let (core, who) = (self.core.clone(), caller(req));
        let answer = self.entry(reply, parent, &name);
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "symlink",
            async move {
                g.check_all(uid, &[parent.0], Want::Write).await?;
                core.symlink(parent.0, name, target, who).await
            },
            answer,
        );
    }

    fn rename(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: fuser::RenameFlags,
        reply: ReplyEmpty,
    ) {
        let (name, newname) = match (entry_name(name), entry_name(newname)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return reply.error(e),
        };
        let refused = history::refuse_change(parent.0, &name)
            .or_else(|| history::refuse_change(newparent.0, &newname));
        if let Some(e) = refused {
            return reply.error(e);
        }
        let known = fuser::RenameFlags::RENAME_NOREPLACE | fuser::RenameFlags::RENAME_EXCHANGE;
        if !known.contains(flags) {
            return reply.error(Errno::EINVAL);
        }
        let flags = RenameFlags {
            noreplace: flags.contains(fuser::RenameFlags::RENAME_NOREPLACE),
            exchange: flags.contains(fuser::RenameFlags::RENAME_EXCHANGE),
        };
        let (core, who, inval) = (self.core.clone(), caller(req), self.inval.clone());
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "rename",
            async move {
                g.check_all(uid, &[parent.0, newparent.0], Want::Write)
                    .await?;
                let entry = Inval::Entry(newparent.0, newname.clone());
                let done = core
                    .rename(parent.0, name, newparent.0, newname, flags, who)
                    .await?;
                // The kernel moves its entry when this is answered; the
                // namespace kept the saved-over file under the name.
                if done == Renamed::SavedOver {
                    inval.ask(entry);
                }
                Ok(())
            },
            empty(reply),
        );
    }

    fn link(
        &self,
        req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let name = match entry_name(newname) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        let refused = history::refuse_new(newparent.0, &name)
            .or(history::owns(ino.0).then_some(Errno::EROFS));
        if let Some(e) = refused {
            return reply.error(e);
        }
        let (core, answer) = (self.core.clone(), self.entry(reply, newparent, &name));
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "link",
            async move {
                g.check_all(uid, &[ino.0, newparent.0], Want::Write).await?;
                core.link(ino.0, newparent.0, name).await
            },
            answer,
        );
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if history::owns(ino.0) {
            let (h, who, g) = (self.history.clone(), caller(req), self.guard.clone());
            let fut = async move {
                if let Some(real) = h.real_of(ino.0) {
                    g.check(who.uid, real, Want::Read).await?;
                }
                h.open(ino.0, flags.0, who).await
            };
            return self.data("history open", fut, history::reply::opened(reply));
        }
        let (core, who, inval) = (self.core.clone(), caller(req), self.inval.clone());
        let tid = req.pid();
        let want = match flags.0 & libc::O_ACCMODE {
            libc::O_RDONLY => Want::Read,
            _ => Want::Write,
        };
        let (g, uid) = (self.guard.clone(), req.uid());
        self.data(
            "open",
            async move {
                g.check_all(uid, &[ino.0], want).await?;
                let fh = core.open(ino.0, flags.0, who).await?;
                core.note_writer(fh, tid);
                // Without FOPEN_KEEP_CACHE the kernel drops the file's
                // pages: they are kept only when they came from the very
                // version this handle reads (close-to-open).
                let keep = inval.open_keeps_cache(ino.0, fh, &core.handles_of(ino.0));
                Ok((fh, keep))
            },
            move |r| match r {
                Ok((fh, keep)) => {
                    let flags = if keep {
                        FopenFlags::FOPEN_KEEP_CACHE
                    } else {
                        FopenFlags::empty()
                    };
                    reply.opened(FileHandle(fh), flags)
                }
                Err(e) => reply.error(e),
            },
        );
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let core = self.core.clone();
        self.data(
            "read",
            async move { core.read(fh.0, offset, size).await },
            move |r| match r {
                Ok(d) => reply.data(&d),
                Err(e) => reply.error(e),
            },
        );
    }

    fn write(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        if history::owns(ino.0) {
            return reply.error(Errno::EROFS);
        }
        let (core, data, tid) = (self.core.clone(), data.to_vec(), req.pid());
        self.data(
            "write",
            async move {
                core.note_writer(fh.0, tid);
                core.write(fh.0, offset, data).await
            },
            move |r| match r {
                Ok(n) => reply.written(n),
                Err(e) => reply.error(e),
            },
        );
    }

    fn flush(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        let (core, locks, tid) = (self.core.clone(), self.locks.clone(), req.pid());
        // Committed first, unlocked second: the next holder of the lock
        // reads what this one wrote. A close drops the closer's locks.
        let fut = async move {
            let committed = core.flush(fh.0, tid).await;
            let unlocked = locks.release(ino.0, lock_owner.0).await;
            committed.and(unlocked)
        };
        self.data("flush", fut, empty(reply));
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let (core, locks) = (self.core.clone(), self.locks.clone());
        // With a lock owner: the file description's flock goes with it.
        let fut = async move {
            let released = core.release(fh.0).await;
            match lock_owner {
                Some(o) => released.and(locks.release(ino.0, o.0).await),
                None => released,
            }
        };
        self.data("release", fut, empty(reply));
    }

    fn getlk(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        lock_owner: LockOwner,
        start: u64,
        end: u64,
        typ: i32,
        pid: u32,
        reply: ReplyLock,
    ) {
        if history::owns(ino.0) {
            return reply.error(Errno::ENOLCK);
        }
        let r = match locks::request(ino.0, lock_owner.0, (start, end), typ, pid) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        let locks = self.locks.clone();
        self.meta(
            "getlk",
            async move { locks.get(r).await },
            move |res| match res {
                Ok(Some(l)) => reply.locked(l.start, l.end, locks::typ_of(l.kind), l.pid),
                Ok(None) => reply.locked(start, end, libc::F_UNLCK, 0),
                Err(e) => reply.error(e),
            },
        );
    }

    fn setlk(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        lock_owner: LockOwner,
        start: u64,
        end: u64,
        typ: i32,
        pid: u32,
        sleep: bool,
        reply: ReplyEmpty,
    ) {
        if history::owns(ino.0) {
            return reply.error(Errno::ENOLCK);
        }
        let r = match locks::request(ino.0, lock_owner.0, (start, end), typ, pid) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        let locks = self.locks.clone();
        if sleep && r.kind.is_some() {
            // No deadline: a blocking lock waits as long as its caller does.
            let tid = req.pid();
            let fut = async move { locks.set_wait(r, tid).await };
            self.spawn("setlkw", Duration::MAX, fut, empty(reply));
        } else {
            self.meta("setlk", async move { locks.set(r).await }, empty(reply));
        }
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let core = self.core.clone();
        self.data("fsync", async move { core.fsync(fh.0).await }, empty(reply));
    }

    fn fallocate(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        if history::owns(ino.0) {
            return reply.error(Errno::EROFS);
        }
        let (core, tid) = (self.core.clone(), req.pid());
        self.data(
            "fallocate",
            async move {
                core.note_writer(fh.0, tid);
                core.fallocate(fh.0, offset, length, mode).await
            },
            empty(reply),
        );
    }

    fn lseek(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: i64,
        whence: i32,
        reply: ReplyLseek,
    ) {
        let core = self.core.clone();
        self.data(
            "lseek",
            async move { core.seek(fh.0, offset, whence).await },
            move |r| match r {
                Ok(o) => reply.offset(o),
                Err(e) => reply.error(e),
            },
        );
    }

    fn copy_file_range(
        &self,
        req: &Request,
        _ino_in: INodeNo,
        fh_in: FileHandle,
        offset_in: u64,
        ino_out: INodeNo,
        fh_out: FileHandle,
        offset_out: u64,
        len: u64,
        flags: fuser::CopyFileRangeFlags,
        reply: ReplyWrite,
    ) {
        if !flags.is_empty() {
            return reply.error(Errno::EINVAL);
        }
        if history::owns(ino_out.0) {
            return reply.error(Errno::EROFS);
        }
        let (core, tid) = (self.core.clone(), req.pid());
        self.data(
            "copy_file_range",
            async move {
                core.note_writer(fh_out.0, tid);
                core.copy_range(fh_in.0, offset_in, fh_out.0, offset_out, len)
                    .await
            },
            move |r| match r {
                Ok(n) => reply.written(n),
                Err(e) => reply.error(e),
            },
        );
    }

    fn opendir(&self, req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        if history::owns(ino.0) {
            let (h, g, uid) = (self.history.clone(), self.guard.clone(), req.uid());
            let fut = async move {
                if let Some(real) = h.real_of(ino.0) {
                    g.check(uid, real, Want::Read).await?;
                }
                h.opendir(ino.0).await
            };
            return self.meta("history opendir", fut, history::reply::opened_dir(reply));
        }
        let core = self.core.clone();
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "opendir",
            async move {
                g.check_all(uid, &[ino.0], Want::Read).await?;
                core.opendir(ino.0).await
            },
            move |r| match r {
                Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
                Err(e) => reply.error(e),
            },
        );
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        reply: ReplyDirectory,
    ) {
        // The listing was read at opendir: answer at once, from memory.
        if let Some(listing) = self.history.listing(fh.0) {
            return fill_dir(reply, ino, &listing, offset);
        }
        match self.core.dir_listing(fh.0) {
            Some(entries) => fill_dir(reply, ino, &history::shadow(ino.0, entries), offset),
            None => reply.error(Errno::EBADF),
        }
    }

    fn readdirplus(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        reply: ReplyDirectoryPlus,
    ) {
        // As readdir: from the listing read at opendir, with attributes.
        if let Some(listing) = self.history.listing(fh.0) {
            fill_dir_plus(reply, &listing, offset, history::TTL);
            return;
        }
        match self.core.dir_listing(fh.0) {
            Some(listing) => {
                let listing = history::shadow(ino.0, listing);
                for (name, child) in fill_dir_plus(reply, &listing, offset, self.cfg.ttl) {
                    self.inval.seen.note(ino.0, &name, child);
                }
            }
            None => reply.error(Errno::EBADF),
        }
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        if !self.history.releasedir(fh.0) {
            self.core.releasedir(fh.0);
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        // The raw bytes of every reachable store, measured at most every
        // few seconds (see `crate::statfs`).
        let cap = self.capacity.clone();
        self.meta(
            "statfs",
            async move { Ok::<_, OpError>(cap.usage().await) },
            move |r| match r {
                Ok((used, capacity)) => {
                    let s = statfs_of(used, capacity);
                    reply.statfs(
                        s.blocks,
                        s.bfree,
                        s.bavail,
                        s.files,
                        s.ffree,
                        BSIZE as u32,
                        fragfs::meta::NAME_MAX as u32,
                        BSIZE as u32,
                    )
                }
                Err(e) => reply.error(e),
            },
        );
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        // Namespace changes are committed (replicated) before they are answered.
        reply.ok();
    }

    fn setxattr(
        &self,
        req: &Request,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        let name = match name_of(name) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        if history::owns(ino.0) {
            return reply.error(Errno::EROFS);
        }
        let mode = match flags {
            0 => XattrMode::Any,
            libc::XATTR_CREATE => XattrMode::Create,
            libc::XATTR_REPLACE => XattrMode::Replace,
            _ => return reply.error(Errno::EINVAL),
        };
        let (core, value) = (self.core.clone(), value.to_vec());
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "setxattr",
            async move {
                g.check_all(uid, &[ino.0], Want::Write).await?;
                core.setxattr(ino.0, name, value, mode).await
            },
            empty(reply),
        );
    }

    fn getxattr(&self, req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        if history::owns(ino.0) {
            return reply.error(Errno::ENODATA);
        }
        let name = match name_of(name) {
            Ok(n) => n,
            Err(_) => return reply.error(Errno::ENODATA),
        };
        let core = self.core.clone();
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "getxattr",
            async move {
                g.check_all(uid, &[ino.0], Want::Read).await?;
                core.getxattr(ino.0, name).await
            },
            move |r| match r {
                Ok(v) => answer_xattr(reply, size, &v),
                Err(e) => reply.error(e),
            },
        );
    }

    fn listxattr(&self, req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        if history::owns(ino.0) {
            return answer_xattr(reply, size, &[]);
        }
        let core = self.core.clone();
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "listxattr",
            async move {
                g.check_all(uid, &[ino.0], Want::Read).await?;
                core.listxattr(ino.0).await
            },
            move |r| match r {
                Ok(names) => {
                    let mut list = Vec::new();
                    for n in names {
                        list.extend_from_slice(n.as_bytes());
                        list.push(0);
                    }
                    answer_xattr(reply, size, &list)
                }
                Err(e) => reply.error(e),
            },
        );
    }

    fn removexattr(&self, req: &Request, ino: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        if history::owns(ino.0) {
            return reply.error(Errno::EROFS);
        }
        let name = match name_of(name) {
            Ok(n) => n,
            Err(_) => return reply.error(Errno::ENODATA),
        };
        let core = self.core.clone();
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "removexattr",
            async move {
                g.check_all(uid, &[ino.0], Want::Write).await?;
                core.removexattr(ino.0, name).await
            },
            empty(reply),
        );
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        // The kernel checks permissions itself (default_permissions).
        reply.ok();
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let name = match entry_name(name) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        if kind_of_mode(mode) != Some(Kind::File) {
            return reply.error(Errno::EINVAL);
        }
        if let Some(e) = history::refuse_new(parent.0, &name) {
            return reply.error(e);
        }
        let (core, who, perm, ttl) = (
            self.core.clone(),
            caller(req),
            perm_of(mode, 0),
            self.cfg.ttl,
        );
        let (inval, noted) = (self.inval.clone(), name.clone());
        let (ctx, tid) = (create_context(umask), req.pid());
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "create",
            async move {
                g.check_all(uid, &[parent.0], Want::Write).await?;
                let (a, fh) = core.create(parent.0, name, perm, flags, who, ctx).await?;
                core.note_writer(fh, tid);
                Ok((a, fh))
            },
            move |r| match r {
                Ok((a, fh)) => {
                    inval.seen.note(parent.0, &noted, a.ino);
                    reply.created(
                        &ttl,
                        &file_attr(&a),
                        Generation(0),
                        FileHandle(fh),
                        FopenFlags::empty(),
                    )
                }
                Err(e) => reply.error(e),
            },
        );
    }
}
