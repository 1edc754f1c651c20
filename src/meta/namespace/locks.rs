//! Advisory file locks shared by every mount: a pure, deterministic table
//! of byte-range locks per inode, kept in the namespace so that every
//! replica agrees on who holds what.
//!
//! - A lock belongs to a [`LockOwner`]: the mount's session and the
//!   kernel's lock owner id (a process's file table for `fcntl` locks, an
//!   open file description for `flock` and OFD locks). Locks of one owner
//!   never conflict with each other; a new lock by the same owner replaces
//!   what it covers, and an unlock of a sub-range splits a lock, as
//!   `fcntl(F_SETLK)` does. Adjacent or overlapping ranges of one owner
//!   and kind merge.
//! - Two locks conflict when their owners differ, their ranges overlap and
//!   one of them is a write lock. Taking a conflicting lock fails with
//!   [`FsError::WouldBlock`]: the table never waits, the mount retries.
//! - Sessions hold leases: each lock command renews its session until
//!   `now + lease`; a session whose lease passed holds nothing (its locks
//!   are ignored at once and dropped by the next successful command).
//!   Time is only ever the commands' own `now`: no clock is read here.
//! - Bounds: [`MAX_SESSIONS`] sessions holding locks, [`MAX_SESSION_LOCKS`]
//!   ranges per session; past them a lock fails with [`FsError::NoLocks`].
//!
//! Must not: read a clock, do IO, iterate anything unordered, or panic on
//! any command.

use crate::meta::types::{FsError, Ino, Reply, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most sessions (mounts) holding locks at once.
pub const MAX_SESSIONS: usize = 1024;
/// Most lock ranges one session holds, over every file.
pub const MAX_SESSION_LOCKS: u32 = 10_000;
/// Longest lease a session may ask for, in milliseconds.
pub const MAX_LEASE_MS: u64 = 3_600_000;

/// Who holds a lock: a mount's session and the kernel's owner id within it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct LockOwner {
    pub session: u64,
    pub owner: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LockKind {
    /// Shared (`F_RDLCK`, `LOCK_SH`).
    Read,
    /// Exclusive (`F_WRLCK`, `LOCK_EX`).
    Write,
}

/// One held range: bytes `start..=end` of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub owner: LockOwner,
    pub kind: LockKind,
    pub start: u64,
    pub end: u64,
    /// The process that took it, as its mount saw it (for `F_GETLK`).
    pub pid: u32,
}

/// A change to the lock table (the payload of `Command::Lock`). Append-only:
/// postcard encodes a variant as its index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockCmd {
    /// Locks bytes `start..=end` of `ino` for `owner` with `kind`, or
    /// unlocks them (`kind: None`); renews the session's lease to
    /// `now + lease_ms`.
    Set {
        ino: Ino,
        owner: LockOwner,
        kind: Option<LockKind>,
        start: u64,
        end: u64,
        pid: u32,
        lease_ms: u64,
        now: Time,
    },
    /// Extends a session's lease to `now + lease_ms`; `NotFound` when the
    /// session holds nothing (never locked, released everything, expired).
    Renew {
        session: u64,
        lease_ms: u64,
        now: Time,
    },
    /// Drops every lock of a session (a clean unmount).
    End { session: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    /// The lease ends at this time: from then on the session holds nothing.
    expires: Time,
    /// How many ranges it holds over every file.
    locks: u32,
}

/// Every lock of every file. Per inode, the locks are ordered by owner,
/// then start; one owner's ranges never overlap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockTable {
    sessions: BTreeMap<u64, Session>,
    files: BTreeMap<Ino, Vec<Lock>>,
}

/// `t` plus `ms` milliseconds, saturating.
fn plus_ms(t: Time, ms: u64) -> Time {
    let nanos = u64::from(t.nanos) + (ms % 1000) * 1_000_000;
    let secs = t
        .secs
        .saturating_add(i64::try_from(ms / 1000).unwrap_or(i64::MAX))
        .saturating_add((nanos / 1_000_000_000) as i64);
    Time {
        secs,
        nanos: (nanos % 1_000_000_000) as u32,
    }
}

fn overlaps(l: &Lock, start: u64, end: u64) -> bool {
    l.start <= end && start <= l.end
}

fn check_lease(lease_ms: u64) -> Result<(), FsError> {
    if lease_ms == 0 || lease_ms > MAX_LEASE_MS {
        return Err(FsError::Invalid);
    }
    Ok(())
}

/// `mine` (one owner's ranges, ordered by start, disjoint) without bytes
/// `start..=end`: ranges across either edge are cut, one across both split.
fn carve(mine: Vec<Lock>, start: u64, end: u64) -> Vec<Lock> {
    let mut out = Vec::with_capacity(mine.len() + 1);
    for l in mine {
        if !overlaps(&l, start, end) {
            out.push(l);
            continue;
        }
        if l.start < start {
            out.push(Lock {
                end: start - 1,
                ..l
            });
        }
        if l.end > end {
            out.push(Lock {
                start: end + 1,
                ..l
            });
        }
    }
    out
}

/// Merges touching or overlapping ranges of the same kind (ordered by start).
fn merge(mut mine: Vec<Lock>) -> Vec<Lock> {
    mine.sort_by_key(|l| l.start);
    let mut out: Vec<Lock> = Vec::with_capacity(mine.len());
    for l in mine {
        match out.last_mut() {
            Some(p) if p.kind == l.kind && p.end.checked_add(1).is_none_or(|n| n >= l.start) => {
                p.end = p.end.max(l.end);
                p.pid = l.pid;
            }
            _ => out.push(l),
        }
    }
    out
}

impl LockTable {
    /// Applies one lock command. `next_ino` bounds the inode numbers that
    /// ever existed. On error nothing changes.
    pub fn apply(&mut self, cmd: LockCmd, next_ino: Ino) -> Result<Reply, FsError> {
        match cmd {
            LockCmd::Set {
                ino,
                owner,
                kind,
                start,
                end,
                pid,
                lease_ms,
                now,
            } => {
                if ino == 0 || ino >= next_ino {
                    return Err(FsError::NotFound);
                }
                if start > end {
                    return Err(FsError::Invalid);
                }
                check_lease(lease_ms)?;
                let range = Range { start, end, pid };
                self.set(ino, owner, kind, range, plus_ms(now, lease_ms), now)
            }
            LockCmd::Renew {
                session,
                lease_ms,
                now,
            } => {
                check_lease(lease_ms)?;
                match self.sessions.get_mut(&session) {
                    Some(s) if now < s.expires => {
                        s.expires = s.expires.max(plus_ms(now, lease_ms));
                        Ok(Reply::Done)
                    }
                    _ => Err(FsError::NotFound),
                }
            }
            LockCmd::End { session } => {
                self.drop_sessions(&[session]);
                Ok(Reply::Done)
            }
        }
    }

    /// Whether `session` holds a lease at `now`.
    fn live(&self, session: u64, now: Time) -> bool {
        self.sessions.get(&session).is_some_and(|s| now < s.expires)
    }

    /// The first lock of another live owner that keeps `owner` from taking
    /// `kind` on bytes `start..=end` of `ino` at `now` (what `F_GETLK` reports).
    pub fn conflict(
        &self,
        ino: Ino,
        owner: LockOwner,
        kind: LockKind,
        start: u64,
        end: u64,
        now: Time,
    ) -> Option<Lock> {
        self.files.get(&ino)?.iter().copied().find(|l| {
            l.owner != owner
                && overlaps(l, start, end)
                && (kind == LockKind::Write || l.kind == LockKind::Write)
                && self.live(l.owner.session, now)
        })
    }

    /// Every lock held on `ino` at `now`, ordered by owner then start.
    pub fn locks_of(&self, ino: Ino, now: Time) -> Vec<Lock> {
        self.files.get(&ino).map_or_else(Vec::new, |v| {
            v.iter()
                .copied()
                .filter(|l| self.live(l.owner.session, now))
                .collect()
        })
    }

    fn set(
        &mut self,
        ino: Ino,
        owner: LockOwner,
        kind: Option<LockKind>,
        r: Range,
        expires: Time,
        now: Time,
    ) -> Result<Reply, FsError> {
        if let Some(k) = kind {
            if self.conflict(ino, owner, k, r.start, r.end, now).is_some() {
                return Err(FsError::WouldBlock);
            }
        }
        // Every check below sees the table without expired sessions; they
        // are dropped only once the command is known to succeed.
        let expired: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, s)| now >= s.expires)
            .map(|(id, _)| *id)
            .collect();
        let live_sessions = self.sessions.len() - expired.len();
        let mine: Vec<Lock> = if self.live(owner.session, now) {
            self.files.get(&ino).map_or_else(Vec::new, |v| {
                v.iter().copied().filter(|l| l.owner == owner).collect()
            })
        } else {
            Vec::new()
        };
        let before = mine.len() as u32;
        let mut next = carve(mine, r.start, r.end);
        if let Some(kind) = kind {
            next.push(Lock {
                owner,
                kind,
                start: r.start,
                end: r.end,
                pid: r.pid,
            });
        }
        let next = merge(next);
        let held = self
            .sessions
            .get(&owner.session)
            .filter(|_| self.live(owner.session, now))
            .map_or(0, |s| s.locks);
        let after = held - before + next.len() as u32;
        if after > MAX_SESSION_LOCKS {
            return Err(FsError::NoLocks);
        }
        let new_session = held == 0 && after > 0;
        if new_session && live_sessions >= MAX_SESSIONS {
            return Err(FsError::NoLocks);
        }

        self.drop_sessions(&expired);
        let locks = self.files.entry(ino).or_default();
        locks.retain(|l| l.owner != owner);
        let at = locks.partition_point(|l| l.owner < owner);
        locks.splice(at..at, next);
        if locks.is_empty() {
            self.files.remove(&ino);
        }
        if after == 0 {
            self.sessions.remove(&owner.session);
        } else {
            let s = self
                .sessions
                .entry(owner.session)
                .or_insert(Session { expires, locks: 0 });
            s.locks = after;
            s.expires = s.expires.max(expires);
        }
        Ok(Reply::Done)
    }

    /// Removes `sessions` and every lock they hold.
    fn drop_sessions(&mut self, sessions: &[u64]) {
        if sessions.is_empty() {
            return;
        }
        for id in sessions {
            self.sessions.remove(id);
        }
        self.files.retain(|_, locks| {
            locks.retain(|l| !sessions.contains(&l.owner.session));
            !locks.is_empty()
        });
    }
}

/// The bytes and process of a [`LockCmd::Set`].
struct Range {
    start: u64,
    end: u64,
    pid: u32,
}

#[cfg(test)]
#[path = "locks_tests.rs"]
mod tests;
