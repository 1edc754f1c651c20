//! Open files: opening, reading, writing, flushing, syncing, releasing, and the calls on an open file's bytes (fallocate, lseek, copy_file_range).

// The callbacks' argument lists, as fuser gives them.
#![allow(clippy::too_many_arguments)]

use super::*;

impl FragFs {
    pub(super) fn op_open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
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

    pub(super) fn op_read(
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
        if let Some(d) = core.read_cached(fh.0, offset, size) {
            return reply.data(&d);
        }
        self.data(
            "read",
            async move { core.read(fh.0, offset, size).await },
            move |r| match r {
                Ok(d) => reply.data(&d),
                Err(e) => reply.error(e),
            },
        );
    }

    pub(super) fn op_write(
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

    pub(super) fn op_flush(
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

    pub(super) fn op_release(
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

    pub(super) fn op_fsync(
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

    pub(super) fn op_fallocate(
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

    pub(super) fn op_lseek(
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

    pub(super) fn op_copy_file_range(
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
}
