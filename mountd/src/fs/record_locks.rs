//! POSIX record locks (`fcntl`), through the mount's lock session (`crate::locks`).

// The callbacks' argument lists, as fuser gives them.
#![allow(clippy::too_many_arguments)]

use super::*;

impl FragFs {
    pub(super) fn op_getlk(
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

    pub(super) fn op_setlk(
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
}
