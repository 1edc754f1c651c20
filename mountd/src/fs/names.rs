//! Entries by name: lookups, new nodes, links, removal and renames.

// The callbacks' argument lists, as fuser gives them.
#![allow(clippy::too_many_arguments)]

use super::*;

impl FragFs {
    pub(super) fn op_lookup(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        reply: ReplyEntry,
    ) {
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
        if let Some(a) = core.lookup_now(parent.0, &name) {
            return answer(Ok(a));
        }
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

    pub(super) fn op_mknod(
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

    pub(super) fn op_unlink(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        reply: ReplyEmpty,
    ) {
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

    pub(super) fn op_symlink(
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

    pub(super) fn op_rename(
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

    pub(super) fn op_link(
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

    pub(super) fn op_create(
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
