//! The lock table's rules: conflicts, same-owner replace/split/merge,
//! release, leases and bounds; and a property test against a byte map.

use super::*;

const INO: Ino = 5;
const NEXT: Ino = 100;
const LEASE: u64 = 20_000;
const A: LockOwner = LockOwner {
    session: 1,
    owner: 10,
};
const A2: LockOwner = LockOwner {
    session: 1,
    owner: 11,
};
const B: LockOwner = LockOwner {
    session: 2,
    owner: 10,
};
const R: Option<LockKind> = Some(LockKind::Read);
const W: Option<LockKind> = Some(LockKind::Write);
const U: Option<LockKind> = None;
const MAX: u64 = u64::MAX;

fn t(secs: i64) -> Time {
    Time { secs, nanos: 0 }
}

fn set(owner: LockOwner, kind: Option<LockKind>, start: u64, end: u64, now: i64) -> LockCmd {
    LockCmd::Set {
        ino: INO,
        owner,
        kind,
        start,
        end,
        pid: owner.owner as u32,
        lease_ms: LEASE,
        now: t(now),
    }
}

fn run(table: &mut LockTable, cmd: LockCmd) -> Result<Reply, FsError> {
    table.apply(cmd, NEXT)
}

/// (owner, kind, start, end) of every live lock on INO at time 0.
fn held(table: &LockTable) -> Vec<(LockOwner, LockKind, u64, u64)> {
    table
        .locks_of(INO, t(0))
        .into_iter()
        .map(|l| (l.owner, l.kind, l.start, l.end))
        .collect()
}

#[test]
fn t10_write_locks_of_two_owners_conflict_only_where_they_overlap() {
    let mut lt = LockTable::default();
    assert_eq!(run(&mut lt, set(A, W, 0, 99, 0)), Ok(Reply::Done));
    assert_eq!(
        run(&mut lt, set(B, W, 50, 150, 0)),
        Err(FsError::WouldBlock)
    );
    assert_eq!(run(&mut lt, set(B, R, 99, 99, 0)), Err(FsError::WouldBlock));
    assert_eq!(run(&mut lt, set(B, W, 100, 199, 0)), Ok(Reply::Done));
    let c = lt
        .conflict(INO, B, LockKind::Read, 0, 0, t(0))
        .expect("A's lock");
    assert_eq!(
        (c.owner, c.kind, c.start, c.end, c.pid),
        (A, LockKind::Write, 0, 99, 10)
    );
    // The same session's other owner (another process on that mount) conflicts too.
    assert_eq!(
        run(&mut lt, set(A2, R, 10, 10, 0)),
        Err(FsError::WouldBlock)
    );
    // A failed lock changed nothing.
    assert_eq!(
        held(&lt),
        vec![(A, LockKind::Write, 0, 99), (B, LockKind::Write, 100, 199)]
    );
}

#[test]
fn t10_read_locks_share_and_keep_writers_out() {
    let mut lt = LockTable::default();
    run(&mut lt, set(A, R, 0, MAX, 0)).unwrap();
    assert_eq!(run(&mut lt, set(B, R, 0, MAX, 0)), Ok(Reply::Done));
    assert_eq!(run(&mut lt, set(A2, W, 7, 7, 0)), Err(FsError::WouldBlock));
    // Upgrading to write waits for the other reader; after it leaves it works.
    assert_eq!(run(&mut lt, set(A, W, 0, MAX, 0)), Err(FsError::WouldBlock));
    run(&mut lt, set(B, U, 0, MAX, 0)).unwrap();
    assert_eq!(run(&mut lt, set(A, W, 0, MAX, 0)), Ok(Reply::Done));
    assert_eq!(held(&lt), vec![(A, LockKind::Write, 0, MAX)]);
}

#[test]
fn t10_unlock_in_the_middle_splits_and_relock_merges() {
    let mut lt = LockTable::default();
    run(&mut lt, set(A, W, 0, 99, 0)).unwrap();
    run(&mut lt, set(A, U, 40, 59, 0)).unwrap();
    assert_eq!(
        held(&lt),
        vec![(A, LockKind::Write, 0, 39), (A, LockKind::Write, 60, 99)]
    );
    // Another owner now fits in the hole, exactly.
    assert_eq!(run(&mut lt, set(B, W, 40, 59, 0)), Ok(Reply::Done));
    run(&mut lt, set(B, U, 0, MAX, 0)).unwrap();
    // Re-locking the hole merges the three ranges into one.
    run(&mut lt, set(A, W, 40, 59, 0)).unwrap();
    assert_eq!(held(&lt), vec![(A, LockKind::Write, 0, 99)]);
    // Adjacent ranges of one kind merge; of another kind they stay apart.
    run(&mut lt, set(A, W, 100, 109, 0)).unwrap();
    run(&mut lt, set(A, R, 110, 119, 0)).unwrap();
    assert_eq!(
        held(&lt),
        vec![(A, LockKind::Write, 0, 109), (A, LockKind::Read, 110, 119)]
    );
}

#[test]
fn t10_relock_by_the_same_owner_converts_the_covered_part() {
    let mut lt = LockTable::default();
    run(&mut lt, set(A, W, 0, 99, 0)).unwrap();
    run(&mut lt, set(A, R, 20, 29, 0)).unwrap();
    assert_eq!(
        held(&lt),
        vec![
            (A, LockKind::Write, 0, 19),
            (A, LockKind::Read, 20, 29),
            (A, LockKind::Write, 30, 99)
        ]
    );
    assert_eq!(run(&mut lt, set(B, R, 25, 25, 0)), Ok(Reply::Done));
    assert_eq!(run(&mut lt, set(B, R, 30, 30, 0)), Err(FsError::WouldBlock));
}

#[test]
fn t10_releasing_everything_forgets_the_session() {
    let mut lt = LockTable::default();
    run(&mut lt, set(A, W, 0, 9, 0)).unwrap();
    run(&mut lt, set(A2, W, 10, 19, 0)).unwrap();
    run(&mut lt, set(A, U, 0, MAX, 0)).unwrap();
    assert_eq!(held(&lt), vec![(A2, LockKind::Write, 10, 19)]);
    let renew = |now| LockCmd::Renew {
        session: 1,
        lease_ms: LEASE,
        now: t(now),
    };
    assert_eq!(run(&mut lt, renew(1)), Ok(Reply::Done));
    run(&mut lt, set(A2, U, 0, MAX, 0)).unwrap();
    assert_eq!(lt, LockTable::default());
    assert_eq!(run(&mut lt, renew(1)), Err(FsError::NotFound));
    // Unlocking what nobody holds is fine and changes nothing.
    assert_eq!(run(&mut lt, set(B, U, 0, MAX, 0)), Ok(Reply::Done));
    assert_eq!(lt, LockTable::default());
}

#[test]
fn t10_an_expired_session_holds_nothing_and_renewal_keeps_it() {
    let mut lt = LockTable::default();
    run(&mut lt, set(A, W, 0, MAX, 0)).unwrap();
    // Within the lease (20 s) B is refused; a renewal at 15 s extends it to 35 s.
    assert_eq!(run(&mut lt, set(B, W, 0, 0, 19)), Err(FsError::WouldBlock));
    let renew = |now| LockCmd::Renew {
        session: 1,
        lease_ms: LEASE,
        now: t(now),
    };
    assert_eq!(run(&mut lt, renew(15)), Ok(Reply::Done));
    assert_eq!(run(&mut lt, set(B, W, 0, 0, 34)), Err(FsError::WouldBlock));
    assert!(lt.conflict(INO, B, LockKind::Write, 0, 0, t(35)).is_none());
    assert_eq!(run(&mut lt, set(B, W, 0, 0, 35)), Ok(Reply::Done));
    // A's session is gone, its locks with it; renewing it now fails.
    assert_eq!(run(&mut lt, renew(36)), Err(FsError::NotFound));
    assert_eq!(
        lt.locks_of(INO, t(35))
            .iter()
            .map(|l| l.owner)
            .collect::<Vec<_>>(),
        vec![B]
    );
}

#[test]
fn t10_ending_a_session_drops_its_locks_on_every_file() {
    let mut lt = LockTable::default();
    run(&mut lt, set(A, W, 0, 9, 0)).unwrap();
    let other = LockCmd::Set {
        ino: 6,
        owner: A2,
        kind: R,
        start: 0,
        end: MAX,
        pid: 1,
        lease_ms: LEASE,
        now: t(0),
    };
    run(&mut lt, other).unwrap();
    run(&mut lt, set(B, R, 20, 29, 0)).unwrap();
    assert_eq!(run(&mut lt, LockCmd::End { session: 1 }), Ok(Reply::Done));
    assert_eq!(held(&lt), vec![(B, LockKind::Read, 20, 29)]);
    assert!(lt.locks_of(6, t(0)).is_empty());
}

#[test]
fn t20_bad_lock_commands_are_errors() {
    let mut lt = LockTable::default();
    assert_eq!(run(&mut lt, set(A, W, 10, 9, 0)), Err(FsError::Invalid));
    let mut no_ino = set(A, W, 0, 9, 0);
    if let LockCmd::Set { ino, .. } = &mut no_ino {
        *ino = NEXT;
    }
    assert_eq!(run(&mut lt, no_ino), Err(FsError::NotFound));
    let mut no_lease = set(A, W, 0, 9, 0);
    if let LockCmd::Set { lease_ms, .. } = &mut no_lease {
        *lease_ms = 0;
    }
    assert_eq!(run(&mut lt, no_lease), Err(FsError::Invalid));
    assert_eq!(lt, LockTable::default());
}

#[test]
fn t20_too_many_ranges_is_no_locks() {
    let mut lt = LockTable::default();
    // Every other byte: ranges that cannot merge.
    for i in 0..u64::from(MAX_SESSION_LOCKS) {
        run(&mut lt, set(A, W, 2 * i, 2 * i, 0)).unwrap();
    }
    let before = lt.clone();
    let next = 2 * u64::from(MAX_SESSION_LOCKS);
    assert_eq!(
        run(&mut lt, set(A, W, next, next, 0)),
        Err(FsError::NoLocks)
    );
    assert_eq!(lt, before);
    // Covering them all with one range shrinks the count again.
    assert_eq!(run(&mut lt, set(A, W, 0, MAX, 0)), Ok(Reply::Done));
    assert_eq!(held(&lt), vec![(A, LockKind::Write, 0, MAX)]);
}

#[test]
fn t20_too_many_sessions_is_no_locks() {
    let mut lt = LockTable::default();
    for s in 0..MAX_SESSIONS as u64 {
        let owner = LockOwner {
            session: 1000 + s,
            owner: 1,
        };
        run(&mut lt, set(owner, R, 0, 0, 0)).unwrap();
    }
    assert_eq!(run(&mut lt, set(A, R, 0, 0, 0)), Err(FsError::NoLocks));
    // Once their leases pass, there is room again.
    assert_eq!(run(&mut lt, set(A, R, 0, 0, 21)), Ok(Reply::Done));
    assert_eq!(held(&lt).len(), 1);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// Bytes 0..32 of one file, each with what every owner holds there.
    type Model = [[Option<LockKind>; 3]; 32];

    fn owner(i: usize) -> LockOwner {
        LockOwner {
            session: i as u64 / 2 + 1,
            owner: i as u64,
        }
    }

    fn kind() -> impl Strategy<Value = Option<LockKind>> {
        prop_oneof![Just(R), Just(W), Just(U)]
    }

    proptest! {
        /// Any sequence of locks and unlocks by three owners matches a
        /// per-byte model: who holds what where, which requests conflict,
        /// and one owner's ranges stay disjoint and merged.
        #[test]
        fn t30_the_table_matches_a_per_byte_model(
            ops in proptest::collection::vec((0usize..3, kind(), 0u64..32, 0u64..8), 1..40)
        ) {
            let mut lt = LockTable::default();
            let mut model: Model = [[None; 3]; 32];
            for (who, k, start, len) in ops {
                let end = (start + len).min(31);
                let conflicts = k.is_some_and(|k| (start..=end).any(|b| {
                    (0..3).any(|o| o != who && model[b as usize][o].is_some_and(|h| {
                        h == LockKind::Write || k == LockKind::Write
                    }))
                }));
                let r = run(&mut lt, set(owner(who), k, start, end, 0));
                prop_assert_eq!(r.is_err(), conflicts);
                if !conflicts {
                    for b in start..=end {
                        model[b as usize][who] = k;
                    }
                }
                let mut seen: Model = [[None; 3]; 32];
                let locks = lt.locks_of(INO, t(0));
                for l in &locks {
                    let o = l.owner.owner as usize;
                    for b in l.start..=l.end {
                        prop_assert!(seen[b as usize][o].is_none(), "ranges overlap");
                        seen[b as usize][o] = Some(l.kind);
                    }
                }
                prop_assert_eq!(seen, model);
                for w in locks.windows(2) {
                    if w[0].owner == w[1].owner {
                        let touching = w[0].end + 1 == w[1].start;
                        prop_assert!(!(touching && w[0].kind == w[1].kind), "unmerged");
                    }
                }
            }
        }
    }
}

/// Every lock message in its encoded form, in the order of the pinned
/// file; later additions go at the end.
fn pinned_messages() -> Vec<Vec<u8>> {
    use crate::meta::{Command, Query, QueryReply};
    let enc = |v: &dyn erased::Enc| v.bytes();
    let lock = Lock {
        owner: A,
        kind: LockKind::Write,
        start: 0,
        end: i64::MAX as u64,
        pid: 42,
    };
    vec![
        enc(&Command::Lock(set(A, W, 10, 19, 7))),
        enc(&Command::Lock(set(B, U, 0, MAX, 8))),
        enc(&Command::Lock(LockCmd::Renew {
            session: 1,
            lease_ms: LEASE,
            now: t(9),
        })),
        enc(&Command::Lock(LockCmd::End { session: 2 })),
        enc(&Query::Lock {
            ino: INO,
            owner: B,
            kind: LockKind::Read,
            start: 5,
            end: 6,
            now: t(10),
        }),
        enc(&QueryReply::Lock(Some(lock))),
        enc(&QueryReply::Lock(None)),
        enc(&Err::<Reply, _>(FsError::WouldBlock)),
        enc(&Err::<Reply, _>(FsError::NoLocks)),
    ]
}

mod erased {
    pub trait Enc {
        fn bytes(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Enc for T {
        fn bytes(&self) -> Vec<u8> {
            postcard::to_allocvec(self).expect("encodes")
        }
    }
}

/// Pins the byte form of the lock commands, query, replies and errors.
#[test]
fn t10_encoding_is_pinned() {
    let pinned: Vec<&str> = include_str!("../../../tests/data/meta-locks-v1.hex")
        .lines()
        .collect();
    let got: Vec<String> = pinned_messages().iter().map(hex::encode).collect();
    assert_eq!(got, pinned, "one pinned line per message, unchanged");
}
