//! File locks through the mount (`fcntl` byte-range locks, `flock`): this
//! mount's lock session in the namespace's lock table (see
//! `fragfs::meta::LockTable`), shared with every other mount.
//!
//! - The kernel sends `flock` and `fcntl` locks as the same request (fuser
//!   0.18 does not pass the `FUSE_LK_FLOCK` flag): a lock owner is the
//!   kernel's id of a process's file table (`fcntl`) or of an open file
//!   description (`flock`, OFD locks), and both live in one table.
//! - A request that would block fails with `EAGAIN`; a blocking one
//!   (`F_SETLKW`, `flock` without `LOCK_NB`) retries with backoff until it
//!   gets the lock or its caller has a signal to handle (`EINTR`) or is
//!   gone. fuser answers `FUSE_INTERRUPT` with ENOSYS, so the caller's
//!   pending signals are read from `/proc/TID/status`.
//! - The session's lease is renewed every quarter lease while this mount
//!   may hold locks; a clean unmount ends the session. A mount that dies
//!   loses its locks when the lease passes.
//! - `flush` (every close) releases the closing owner's locks on the file;
//!   `release` with a lock owner releases a file description's `flock`.
//!   Only pairs (file, owner) this mount has locked cost a namespace write.
//!
//! Locks: `held` is a std mutex held for one set operation, never across
//! `.await`.
//!
//! Must not: know fuser's types (the callbacks in `fs` convert), or block
//! the FUSE thread.

use crate::errno::OpError;
use fragfs::{
    meta::{FsError, Ino, Lock, LockCmd, LockKind, LockOwner, MetaError},
    task::Tasks,
    volume::{clock::now, Volume, VolumeError},
};
use fuser::Errno;
use std::{
    collections::BTreeSet,
    hash::{BuildHasher, Hasher},
    sync::{Arc, Mutex},
    time::Duration,
};

/// The largest offset the kernel uses (`OFFSET_MAX`): "to the end of file".
pub const OFFSET_MAX: u64 = i64::MAX as u64;
/// The first and longest wait between tries of a blocking lock.
const RETRY_FIRST: Duration = Duration::from_millis(20);
const RETRY_MAX: Duration = Duration::from_millis(500);

/// What a lock request asks: `kind` (None: unlock) on bytes
/// `start..=end` of `ino`, for the kernel's lock `owner`, by process `pid`.
#[derive(Clone, Copy, Debug)]
pub struct LockRequest {
    pub ino: Ino,
    pub owner: u64,
    pub kind: Option<LockKind>,
    pub start: u64,
    pub end: u64,
    pub pid: u32,
}

/// The request the kernel sent: `typ` is `F_RDLCK`, `F_WRLCK` or
/// `F_UNLCK`; `range` is `(start, end)`, end included.
pub fn request(
    ino: Ino,
    owner: u64,
    range: (u64, u64),
    typ: i32,
    pid: u32,
) -> Result<LockRequest, Errno> {
    let kind = match typ {
        libc::F_RDLCK => Some(LockKind::Read),
        libc::F_WRLCK => Some(LockKind::Write),
        libc::F_UNLCK => None,
        _ => return Err(Errno::EINVAL),
    };
    let (start, end) = range;
    if start > end || end > OFFSET_MAX {
        return Err(Errno::EINVAL);
    }
    Ok(LockRequest {
        ino,
        owner,
        kind,
        start,
        end,
        pid,
    })
}

/// The `l_type` of a held lock.
pub fn typ_of(kind: LockKind) -> i32 {
    match kind {
        LockKind::Read => libc::F_RDLCK,
        LockKind::Write => libc::F_WRLCK,
    }
}

/// This mount's lock session.
pub struct Locks {
    volume: Volume,
    session: u64,
    lease: Duration,
    /// (file, kernel owner) pairs this mount may hold locks for.
    held: Mutex<BTreeSet<(Ino, u64)>>,
}

/// A session id no other mount picks: random per process (std's hasher
/// keys are random), mixed with the node's id.
fn new_session(node: u64) -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(node);
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::UNIX_EPOCH
            .elapsed()
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

impl Locks {
    /// This mount's lock session id: also names its holds.
    pub fn session(&self) -> u64 {
        self.session
    }

    pub fn new(volume: Volume, lease: Duration) -> Self {
        Locks {
            session: new_session(volume.node_id()),
            volume,
            lease,
            held: Mutex::new(BTreeSet::new()),
        }
    }

    fn lease_ms(&self) -> u64 {
        u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, BTreeSet<(Ino, u64)>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn owner(&self, owner: u64) -> LockOwner {
        LockOwner {
            session: self.session,
            owner,
        }
    }

    /// One try: takes, changes or releases the lock, or fails with EAGAIN.
    pub async fn set(&self, r: LockRequest) -> Result<(), OpError> {
        if r.start > r.end || r.end > OFFSET_MAX {
            return Err(OpError::refused(Errno::EINVAL, "bad lock range"));
        }
        if r.kind.is_some() {
            // Noted before the lock exists, so a close racing with it
            // releases it.
            self.held().insert((r.ino, r.owner));
        }
        let cmd = LockCmd::Set {
            ino: r.ino,
            owner: self.owner(r.owner),
            kind: r.kind,
            start: r.start,
            end: r.end,
            pid: r.pid,
            lease_ms: self.lease_ms(),
            now: now(),
        };
        self.volume.lock(cmd).await?;
        if r.kind.is_none() && r.start == 0 && r.end == OFFSET_MAX {
            self.held().remove(&(r.ino, r.owner));
        }
        Ok(())
    }

    /// Takes the lock, waiting while another owner holds a conflicting
    /// one, until thread `tid` (the caller) has a signal to handle (EINTR).
    pub async fn set_wait(&self, r: LockRequest, tid: u32) -> Result<(), OpError> {
        let mut pause = RETRY_FIRST;
        loop {
            match self.set(r).await {
                Err(OpError::Meta(MetaError::Fs(FsError::WouldBlock))) => {}
                other => return other,
            }
            if interrupted(tid) {
                return Err(OpError::refused(Errno::EINTR, "interrupted lock wait"));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_MAX);
        }
    }

    /// The lock of another owner in the way of `r` (F_GETLK). Its pid is
    /// the holder's when the holder is on this mount, else 0 (a process
    /// of another machine has no pid here).
    pub async fn get(&self, r: LockRequest) -> Result<Option<Lock>, OpError> {
        let Some(kind) = r.kind else {
            return Err(OpError::refused(Errno::EINVAL, "F_GETLK of F_UNLCK"));
        };
        let l = self
            .volume
            .lock_conflict(r.ino, self.owner(r.owner), kind, (r.start, r.end))
            .await?;
        Ok(l.map(|mut l| {
            if l.owner.session != self.session {
                l.pid = 0;
            }
            l
        }))
    }

    /// Releases every lock `owner` holds on `ino` (close, release), if
    /// this mount may hold any: nothing is asked otherwise.
    pub async fn release(&self, ino: Ino, owner: u64) -> Result<(), OpError> {
        if !self.held().contains(&(ino, owner)) {
            return Ok(());
        }
        let r = LockRequest {
            ino,
            owner,
            kind: None,
            start: 0,
            end: OFFSET_MAX,
            pid: 0,
        };
        self.set(r).await
    }

    /// Drops every lock of this mount (clean unmount).
    pub async fn end(&self) -> Result<(), OpError> {
        let cmd = LockCmd::End {
            session: self.session,
        };
        self.volume.lock(cmd).await?;
        self.held().clear();
        Ok(())
    }

    /// Renews the lease every quarter lease while this mount may hold a
    /// lock, as the tracked task `fuse-lock-lease`.
    pub fn spawn_renewal(self: &Arc<Self>, tasks: &Tasks) {
        let me = self.clone();
        tasks.spawn("fuse-lock-lease", async move {
            let mut tick = tokio::time::interval((me.lease / 4).max(Duration::from_millis(100)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if me.held().is_empty() {
                    continue;
                }
                me.renew().await;
            }
        });
    }

    async fn renew(&self) {
        let cmd = LockCmd::Renew {
            session: self.session,
            lease_ms: self.lease_ms(),
            now: now(),
        };
        match self.volume.lock(cmd).await {
            Ok(()) => {}
            // Holds nothing: every lock was released, or the lease passed
            // while this mount could not reach the namespace.
            Err(VolumeError::Fs(FsError::NotFound)) => {
                tracing::debug!("the lock session holds nothing");
            }
            Err(e) => tracing::warn!(error = %e, "cannot renew the lock lease"),
        }
    }
}

/// Whether thread `tid` has a pending signal it will handle or that kills
/// it, or is gone: a blocking lock must then return.
fn interrupted(tid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{tid}/status")) else {
        return true;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    const SIGKILL_BIT: u64 = 1 << (libc::SIGKILL - 1);
    let pending = (field("SigPnd:") | field("ShdPnd:")) & !field("SigBlk:");
    pending & (field("SigCgt:") | SIGKILL_BIT) != 0
}

#[cfg(test)]
mod tests {
    use super::interrupted;

    #[test]
    fn t10_a_thread_without_pending_signals_is_not_interrupted() {
        assert!(!interrupted(std::process::id()));
        // No such thread: the wait ends.
        assert!(interrupted(u32::MAX));
    }
}
