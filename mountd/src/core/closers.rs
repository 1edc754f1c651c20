//! Which `flush` commits. The kernel sends a flush at every `close(2)` of a
//! descriptor of the file, the copies a `fork` made included: a child that
//! execs (close-on-exec) or exits while its parent is still writing
//! flushes the parent's handle in the middle of the writing, and a commit
//! there would make a version of a half-written file (a rewrite would then
//! leave two versions). So a handle open for writing remembers the threads
//! that opened or changed it, and a flush commits only when it comes from
//! one of their processes, or when that cannot be told. The other flushes
//! leave the commit to the close of a process that wrote, and to `release`
//! (the last close), which always commits.
//!
//! Threads are the `pid` of FUSE requests (the calling thread's id); their
//! process is the `Tgid` of `/proc/TID/status` (`creds::tgid`).

use super::{Core, OpenFile};
use std::sync::atomic::Ordering;

/// The most threads a handle remembers; past that, every flush commits.
const MAX_THREADS: usize = 32;

/// The threads that opened or changed a handle open for writing.
#[derive(Debug, Default)]
pub(super) struct Closers {
    threads: Vec<u32>,
    /// More than [`MAX_THREADS`] came: every flush commits.
    many: bool,
}

impl Closers {
    fn note(&mut self, tid: u32) {
        if self.many || self.threads.contains(&tid) {
            return;
        }
        if self.threads.len() == MAX_THREADS {
            self.many = true;
            self.threads.clear();
            return;
        }
        self.threads.push(tid);
    }

    /// Whether a flush by thread `tid` commits: it opened or changed the
    /// handle, or a thread of its process did, or that cannot be told
    /// (`tid` 0: outside the mount's pid namespace; a process that cannot
    /// be read, e.g. gone). `tgid_of` names a thread's process.
    fn commits(&self, tid: u32, tgid_of: impl Fn(u32) -> Option<u32>) -> bool {
        if self.many || self.threads.is_empty() || tid == 0 || self.threads.contains(&tid) {
            return true;
        }
        let Some(closer) = tgid_of(tid) else {
            return true;
        };
        self.threads
            .iter()
            .any(|&t| tgid_of(t).is_none_or(|p| p == closer))
    }
}

impl Core {
    /// Notes thread `tid` as one that opened or changed handle `fh` (a
    /// read-only handle notes nothing).
    pub fn note_writer(&self, fh: u64, tid: u32) {
        let Ok(of) = self.handle(fh) else { return };
        if let Some(w) = &of.writer {
            w.closers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .note(tid);
        }
    }

    /// Whether a flush of `of` by thread `tid` commits its changes (see the
    /// module's doc).
    pub(super) fn flush_commits(&self, of: &OpenFile, tid: u32) -> bool {
        let Some(w) = &of.writer else { return false };
        if !w.dirty.load(Ordering::Acquire) {
            // Nothing to commit: no need to ask who closes.
            return true;
        }
        let closers = w.closers.lock().unwrap_or_else(|e| e.into_inner());
        let (threads, many) = (closers.threads.clone(), closers.many);
        drop(closers);
        let copy = Closers { threads, many };
        copy.commits(tid, crate::creds::tgid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads 10 and 11 are process 10, 20 is process 20, 30 is gone.
    fn tgid(t: u32) -> Option<u32> {
        match t {
            10 | 11 => Some(10),
            20 => Some(20),
            _ => None,
        }
    }

    fn closers(threads: &[u32]) -> Closers {
        let mut c = Closers::default();
        for &t in threads {
            c.note(t);
        }
        c
    }

    #[test]
    fn t10_the_writers_process_commits_a_forked_child_does_not() {
        let c = closers(&[10]);
        assert!(c.commits(10, tgid), "the thread that wrote");
        assert!(c.commits(11, tgid), "another thread of its process");
        assert!(!c.commits(20, tgid), "another process (a forked child)");
        assert!(c.commits(0, tgid), "outside the pid namespace");
        assert!(c.commits(30, tgid), "a closer that cannot be read");
        assert!(closers(&[10, 20]).commits(20, tgid), "a child that wrote");
        assert!(closers(&[30]).commits(20, tgid), "a writer that is gone");
        assert!(closers(&[]).commits(20, tgid), "nobody noted");
    }

    #[test]
    fn t20_past_the_limit_every_flush_commits() {
        let many: Vec<u32> = (100..100 + MAX_THREADS as u32 + 1).collect();
        let c = closers(&many);
        assert!(c.many && c.threads.is_empty());
        assert!(c.commits(20, tgid));
        let mut c = closers(&[10, 10, 10]);
        assert_eq!(c.threads, [10], "a thread is noted once");
        c.note(11);
        assert_eq!(c.threads, [10, 11]);
    }
}
