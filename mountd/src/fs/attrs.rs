//! Attributes: getattr, setattr (times, mode, owner, size), readlink and statfs.

// The callbacks' argument lists, as fuser gives them.
#![allow(clippy::too_many_arguments)]

use super::*;

impl FragFs {
    pub(super) fn op_getattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: Option<FileHandle>,
        reply: ReplyAttr,
    ) {
        if history::owns(ino.0) {
            let h = self.history.clone();
            let fut = async move { h.getattr(ino.0).await };
            return self.meta("history getattr", fut, history::reply::attr(reply));
        }
        let (core, ttl) = (self.core.clone(), self.cfg.ttl);
        if let Some(a) = core.getattr_now(ino.0) {
            return reply.attr(&ttl, &file_attr(&a));
        }
        self.meta(
            "getattr",
            async move { core.getattr(ino.0).await },
            move |r| match r {
                Ok(a) => reply.attr(&ttl, &file_attr(&a)),
                Err(e) => reply.error(e),
            },
        );
    }

    pub(super) fn op_setattr(
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

    pub(super) fn op_readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
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

    pub(super) fn op_statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
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
}
