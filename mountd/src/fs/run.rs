//! Running a callback's operation: on the runtime, under its deadline,
//! answering with its result or the errno of its failure; and the small
//! reply builders the callbacks share (entries, directory pages, xattr
//! sizes, the caller and its create context).

use super::FragFs;
use crate::{
    attr::{file_attr, file_type, perm_of},
    core::{Core, Listing},
    errno::{errno, is_system_error, OpError},
    history::History,
    invalidate::Invalidation,
    locks::Locks,
    mount::MountConfig,
    statfs::Capacity,
};
use fragfs::{
    meta::{Caller, Context},
    task::Tasks,
};
use fuser::{
    Errno, FileAttr, FileType, Generation, INodeNo, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty,
    ReplyEntry, ReplyXattr, Request,
};
use std::{ffi::OsStr, future::Future, sync::Arc, time::Duration};

pub(super) fn caller(req: &Request) -> Caller {
    Caller {
        uid: req.uid(),
        gid: req.gid(),
    }
}

/// The context of a create: the caller's umask, which the namespace applies
/// only where the parent has no default ACL (`FUSE_DONT_MASK`: the kernel
/// leaves it to us).
pub(super) fn create_context(umask: u32) -> Context {
    Context {
        groups: Vec::new(),
        umask: Some(perm_of(umask, 0)),
    }
}

/// A name from the kernel as the namespace's UTF-8 string.
pub(super) fn name_of(name: &OsStr) -> Result<String, Errno> {
    name.to_str().map(str::to_string).ok_or(Errno::EINVAL)
}

/// A directory entry's name: at most `NAME_MAX` (255) bytes, as on a local
/// filesystem (the kernel lets FUSE names up to 1024 bytes through).
pub(super) fn entry_name(name: &OsStr) -> Result<String, Errno> {
    if name.len() > fragfs::meta::NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    name_of(name)
}

/// Answers a getxattr/listxattr: the size when asked for it, ERANGE when
/// the caller's buffer is too small.
pub(super) fn answer_xattr(reply: ReplyXattr, size: u32, data: &[u8]) {
    if size == 0 {
        reply.size(data.len() as u32);
    } else if data.len() > size as usize {
        reply.error(Errno::ERANGE);
    } else {
        reply.data(data);
    }
}

impl FragFs {
    pub fn new(
        core: Arc<Core>,
        capacity: Arc<Capacity>,
        rt: tokio::runtime::Handle,
        tasks: Tasks,
        cfg: MountConfig,
        inval: Arc<Invalidation>,
        locks: Arc<Locks>,
    ) -> Self {
        FragFs {
            history: Arc::new(History::new(core.clone())),
            guard: core.guard().clone(),
            core,
            capacity,
            rt,
            tasks,
            cfg,
            inval,
            locks,
        }
    }

    /// Runs `fut` on the runtime with `deadline`, then `answer`s with its
    /// result or the errno of its failure (EIO when the deadline passed).
    pub(super) fn spawn<T, F, A>(&self, op: &'static str, deadline: Duration, fut: F, answer: A)
    where
        T: Send + 'static,
        F: Future<Output = Result<T, OpError>> + Send + 'static,
        A: FnOnce(Result<T, Errno>) + Send + 'static,
    {
        let task = async move {
            let res = match tokio::time::timeout(deadline, fut).await {
                Ok(r) => r,
                Err(_) => Err(OpError::Timeout(deadline)),
            };
            answer(res.map_err(|e| {
                if is_system_error(&e) {
                    tracing::warn!(op, error = %e, "operation failed");
                } else {
                    tracing::debug!(op, error = %e, "refused");
                }
                errno(&e)
            }));
        };
        // Callbacks run on fuser's thread, outside the runtime: enter it to
        // spawn. A task cancelled at shutdown drops its reply: fuser then
        // answers EIO.
        let _rt = self.rt.enter();
        self.tasks.spawn(op, task);
    }

    pub(super) fn meta<T, F, A>(&self, op: &'static str, fut: F, answer: A)
    where
        T: Send + 'static,
        F: Future<Output = Result<T, OpError>> + Send + 'static,
        A: FnOnce(Result<T, Errno>) + Send + 'static,
    {
        self.spawn(op, self.cfg.meta_deadline, fut, answer)
    }

    pub(super) fn data<T, F, A>(&self, op: &'static str, fut: F, answer: A)
    where
        T: Send + 'static,
        F: Future<Output = Result<T, OpError>> + Send + 'static,
        A: FnOnce(Result<T, Errno>) + Send + 'static,
    {
        self.spawn(op, self.cfg.data_deadline, fut, answer)
    }

    /// Answers the entry `name` of `parent` (lookup, mkdir, …) from an
    /// attribute result, noting what the kernel was given.
    pub(super) fn entry(
        &self,
        reply: ReplyEntry,
        parent: INodeNo,
        name: &str,
    ) -> impl FnOnce(Result<fragfs::meta::Attr, Errno>) + Send + 'static {
        let (ttl, inval, name) = (self.cfg.ttl, self.inval.clone(), name.to_owned());
        move |r| match r {
            Ok(a) => {
                inval.seen.note(parent.0, &name, a.ino);
                reply.entry(&ttl, &file_attr(&a), Generation(0))
            }
            Err(e) => reply.error(e),
        }
    }
}

/// Answers a readdir from a listing: "." and ".." first; an entry's offset
/// is the position after it.
pub(super) fn fill_dir(mut reply: ReplyDirectory, ino: INodeNo, listing: &Listing, offset: u64) {
    let dots = [
        (ino.0, FileType::Directory, "."),
        (ino.0, FileType::Directory, ".."),
    ];
    let all = dots.into_iter().chain(
        listing
            .entries
            .iter()
            .map(|(e, _)| (e.ino, file_type(e.kind), e.name.as_str())),
    );
    for (i, (ino, kind, name)) in all.enumerate().skip(offset as usize) {
        if reply.add(INodeNo(ino), i as u64 + 1, kind, name) {
            break;
        }
    }
    reply.ok();
}

/// Like [`fill_dir`], with each entry's attributes (the kernel caches them
/// as if looked up, and skips them for `.` and `..`). Returns the entries
/// handed to the kernel, for invalidation.
pub(super) fn fill_dir_plus(
    mut reply: ReplyDirectoryPlus,
    listing: &Listing,
    offset: u64,
    ttl: Duration,
) -> Vec<(String, u64)> {
    let own = file_attr(&listing.own);
    let dots = [(".", &own), ("..", &own)];
    let attrs: Vec<FileAttr> = listing.entries.iter().map(|(_, a)| file_attr(a)).collect();
    let all = dots.into_iter().chain(
        listing
            .entries
            .iter()
            .zip(&attrs)
            .map(|((e, _), a)| (e.name.as_str(), a)),
    );
    let mut given = Vec::new();
    for (i, (name, attr)) in all.enumerate().skip(offset as usize) {
        if reply.add(attr.ino, i as u64 + 1, name, &ttl, attr, Generation(0)) {
            break;
        }
        if i >= 2 {
            given.push((name.to_string(), attr.ino.0));
        }
    }
    reply.ok();
    given
}

pub(super) fn empty(reply: ReplyEmpty) -> impl FnOnce(Result<(), Errno>) + Send + 'static {
    move |r| match r {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(e),
    }
}
