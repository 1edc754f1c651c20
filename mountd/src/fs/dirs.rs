//! Directories: making, removing, opening, listing (plain and plus) and releasing them.

// The callbacks' argument lists, as fuser gives them.
#![allow(clippy::too_many_arguments)]

use super::*;

impl FragFs {
    pub(super) fn op_mkdir(
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

    pub(super) fn op_rmdir(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
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

    pub(super) fn op_opendir(
        &self,
        req: &Request,
        ino: INodeNo,
        _flags: OpenFlags,
        reply: ReplyOpen,
    ) {
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

    pub(super) fn op_readdir(
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

    pub(super) fn op_readdirplus(
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

    pub(super) fn op_releasedir(
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
}
