//! Tests of version records: slot owners, `Commit` with marks and conflict
//! copies, the event log, and the queries that read them.

use super::tests::{t, ALICE};
use super::{Namespace, MAX_EVENTS};
use crate::fragment::{FragmentEntry, FragmentId, FragmentSize, HashAlgo, Manifest};
use crate::meta::query::{answer, Query, QueryReply};
use crate::meta::types::*;
use crate::redundancy::Redundancy;

/// A manifest of 4-byte fragments whose contents are `seeds` (one byte
/// each, so equal seeds mean equal fragment ids).
pub(super) fn frags(seeds: &[u8]) -> Manifest {
    let fs = FragmentSize::new(1 << 16).expect("a valid fragment size");
    let size = (seeds.len() as u64) << 16;
    let fragments = seeds
        .iter()
        .enumerate()
        .map(|(i, s)| FragmentEntry {
            id: FragmentId::of(HashAlgo::Sha3_256, &[*s]),
            len: fs.len_of(size, i as u64),
            holders: vec![],
        })
        .collect();
    Manifest {
        name: "f".into(),
        size,
        fragment_size: fs,
        hash_algo: HashAlgo::Sha3_256,
        file_sha3: [0; 32],
        redundancy: Redundancy::default(),
        fragments,
    }
}

pub(super) fn author(peer: &str, uid: u32) -> Author {
    Author {
        peer: peer.into(),
        uid,
    }
}

/// A plain commit of `seeds` on `base` by `who`.
fn commit(ino: Ino, base: Option<u64>, seeds: &[u8], who: &Author) -> CommitCmd {
    CommitCmd {
        ino,
        base,
        based_on: base,
        manifest: frags(seeds),
        author: who.clone(),
        hlc: Hlc {
            wall_ms: 100 + base.unwrap_or(0),
            logical: 0,
            node: 1,
        },
        caller: Caller {
            uid: who.uid,
            gid: who.uid,
        },
        now: t(10 + base.unwrap_or(0) as i64),
        mark: None,
        copy: None,
    }
}

fn apply(ns: &mut Namespace, c: CommitCmd) -> Result<Reply, FsError> {
    ns.apply(Command::Commit(c))
}

fn attr(r: Result<Reply, FsError>) -> Attr {
    match r {
        Ok(Reply::Attr(a)) => a,
        other => panic!("expected attributes, got {other:?}"),
    }
}

fn mkdir(ns: &mut Namespace, parent: Ino, name: &str) -> Ino {
    attr(ns.apply(Command::Mkdir {
        parent,
        name: name.into(),
        perm: 0o755,
        caller: ALICE,
        now: t(2),
    }))
    .ino
}

fn create(ns: &mut Namespace, parent: Ino, name: &str) -> Ino {
    attr(ns.apply(Command::Create {
        parent,
        name: name.into(),
        perm: 0o644,
        caller: ALICE,
        now: t(2),
    }))
    .ino
}

/// Applies `c`, expects `err`, and checks the namespace did not change.
fn fails(ns: &mut Namespace, c: CommitCmd, err: FsError) {
    let before = ns.clone();
    assert_eq!(apply(ns, c), Err(err));
    assert_eq!(*ns, before, "a failed commit changed the namespace");
}

fn runs(pairs: &[(u32, u64)]) -> Vec<OwnerRun> {
    pairs
        .iter()
        .map(|&(first_slot, version)| OwnerRun {
            first_slot,
            version,
        })
        .collect()
}

/// `/d/f` with version 1 (`[1, 2, 3]` by alice) and 2 (`[1, 9, 3]` by bob).
fn two_versions() -> (Namespace, Ino, Ino) {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let d = mkdir(&mut ns, ROOT, "d");
    let f = create(&mut ns, d, "f");
    apply(&mut ns, commit(f, None, &[1, 2, 3], &author("alice", 1000))).unwrap();
    apply(
        &mut ns,
        commit(f, Some(1), &[1, 9, 3], &author("bob", 1001)),
    )
    .unwrap();
    (ns, d, f)
}

#[test]
fn t10_owners_follow_changed_appended_and_truncated_slots() {
    let (alice, bob) = (author("12D3KooWalice", 1000), author("12D3KooWbob", 1001));
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let f = create(&mut ns, ROOT, "f");
    apply(&mut ns, commit(f, None, &[1, 2, 3], &alice)).unwrap();
    assert_eq!(ns.version(f, 1).unwrap().owners, runs(&[(0, 1)]));
    // Slot 1 changed and slot 3 appended by bob.
    apply(&mut ns, commit(f, Some(1), &[1, 9, 3, 4], &bob)).unwrap();
    let v2 = ns.version(f, 2).unwrap();
    assert_eq!(v2.owners, runs(&[(0, 1), (1, 2), (2, 1), (3, 2)]));
    let owners: Vec<u64> = (0..4).map(|s| v2.owner_of(s)).collect();
    assert_eq!(owners, [1, 2, 1, 2]);
    assert_eq!(
        ns.slot_owners(f, 2).unwrap(),
        vec![
            (alice.clone(), 1),
            (bob.clone(), 2),
            (alice.clone(), 1),
            (bob.clone(), 2)
        ]
    );
    // Nothing changed but the last slot: unchanged slots keep their owners.
    apply(&mut ns, commit(f, Some(2), &[1, 9, 3, 5], &alice)).unwrap();
    let v3 = ns.version(f, 3).unwrap();
    assert_eq!(v3.owners, runs(&[(0, 1), (1, 2), (2, 1), (3, 3)]));
    // Truncated to one slot, then grown again.
    apply(&mut ns, commit(f, Some(3), &[1], &bob)).unwrap();
    assert_eq!(ns.version(f, 4).unwrap().owners, runs(&[(0, 1)]));
    apply(&mut ns, commit(f, Some(4), &[1, 9], &bob)).unwrap();
    assert_eq!(ns.version(f, 5).unwrap().owners, runs(&[(0, 1), (1, 5)]));
    // An empty file owns no slot; its successor owns all it writes.
    apply(&mut ns, commit(f, Some(5), &[], &bob)).unwrap();
    assert_eq!(ns.version(f, 6).unwrap().owners, runs(&[]));
    apply(&mut ns, commit(f, Some(6), &[1, 9], &alice)).unwrap();
    assert_eq!(ns.version(f, 7).unwrap().owners, runs(&[(0, 7)]));
    ns.check_invariants().unwrap();
}

#[test]
fn t10_a_different_fragment_size_changes_every_slot() {
    let alice = author("a", 1000);
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let f = create(&mut ns, ROOT, "f");
    apply(&mut ns, commit(f, None, &[1, 2], &alice)).unwrap();
    let mut c = commit(f, Some(1), &[1, 2], &alice);
    c.manifest.fragment_size = FragmentSize::new(1 << 17).unwrap();
    apply(&mut ns, c).unwrap();
    assert_eq!(ns.version(f, 2).unwrap().owners, runs(&[(0, 2)]));
}

#[test]
fn t10_the_old_commit_version_still_applies() {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let f = create(&mut ns, ROOT, "f");
    for (base, seeds) in [(None, &[1u8, 2][..]), (Some(1), &[1, 3][..])] {
        let old = Command::CommitVersion {
            ino: f,
            base,
            manifest: frags(seeds),
            author: "12D3KooWpeer".into(),
            hlc: Hlc::default(),
            caller: ALICE,
            now: t(5),
        };
        assert!(matches!(ns.apply(old), Ok(Reply::Committed { .. })));
    }
    let v = ns.version(f, 2).unwrap();
    assert_eq!(v.author, author("12D3KooWpeer", ALICE.uid));
    assert_eq!((v.parent, v.based_on, &v.mark), (Some(1), Some(1), &None));
    assert_eq!(v.owners, runs(&[(0, 1), (1, 2)]));
    let stale = Command::CommitVersion {
        ino: f,
        base: Some(1),
        manifest: frags(&[7]),
        author: "x".into(),
        hlc: Hlc::default(),
        caller: ALICE,
        now: t(6),
    };
    let before = ns.clone();
    assert_eq!(ns.apply(stale), Err(FsError::Conflict { head: Some(2) }));
    assert_eq!(ns, before);
}

#[test]
fn t20_a_base_that_is_not_the_head_is_a_conflict_and_changes_nothing() {
    let (mut ns, _, f) = two_versions();
    let bob = author("bob", 1001);
    fails(
        &mut ns,
        commit(f, Some(1), &[4], &bob),
        FsError::Conflict { head: Some(2) },
    );
    fails(
        &mut ns,
        commit(f, None, &[4], &bob),
        FsError::Conflict { head: Some(2) },
    );
    fails(&mut ns, commit(ROOT, None, &[4], &bob), FsError::IsDir);
    fails(&mut ns, commit(999, None, &[4], &bob), FsError::NotFound);
}

/// Bob's commit on version 1 that lost to version 2: his content is the
/// new head and version 2 is kept as `copy_name` in `/d`.
fn conflict(f: Ino, dir: Ino, copy_name: &str) -> CommitCmd {
    let mut c = commit(f, Some(2), &[1, 2, 7], &author("carol", 1002));
    c.based_on = Some(1);
    c.mark = Some(Mark::Conflict {
        with: 2,
        copy: 0,
        copy_name: String::new(),
    });
    c.copy = Some(ConflictCopy {
        parent: dir,
        name: copy_name.into(),
        of_version: 2,
    });
    c
}

#[test]
fn t10_a_commit_with_a_copy_creates_it_in_the_same_step() {
    let (mut ns, d, f) = two_versions();
    ns.apply(Command::SetAttr {
        ino: f,
        caller: ALICE,
        perm: Some(0o4750),
        uid: None,
        gid: None,
        size: None,
        atime: None,
        mtime: None,
        now: t(3),
    })
    .unwrap();
    let name = "f.conflict-20261202-031500-KooWbob";
    let mut changes = Changes::default();
    let reply = ns.apply_tracked(Command::Commit(conflict(f, d, name)), &mut changes);
    let Ok(Reply::Committed { version: 3, attr }) = reply else {
        panic!("{reply:?}")
    };
    let copy = ns.lookup(d, name).unwrap();
    // The copy: version 2 of the file as its only version, owned by it.
    let v2 = ns.version(f, 2).unwrap().clone();
    let copied = ns.versions(copy.ino).unwrap();
    assert_eq!(copied.len(), 1);
    assert_eq!(
        (&copied[0].manifest, &copied[0].author, copied[0].hlc),
        (&v2.manifest, &v2.author, v2.hlc)
    );
    assert_eq!(
        (copied[0].id, copied[0].parent, &copied[0].owners),
        (1, None, &runs(&[(0, 1)]))
    );
    // Same owner and mode as the file, setuid killed like the commit's.
    assert_eq!(
        (copy.perm, copy.uid, copy.gid, copy.size),
        (0o750, attr.uid, attr.gid, 3 << 16)
    );
    assert_eq!(attr.perm, 0o750);
    let head = ns.head(f).unwrap().unwrap();
    assert_eq!(
        head.mark,
        Some(Mark::Conflict {
            with: 2,
            copy: copy.ino,
            copy_name: name.into()
        })
    );
    assert_eq!((head.parent, head.based_on), (Some(2), Some(1)));
    // Every mount learns of the new version and of the copy's entry.
    for ino in [f, copy.ino, d] {
        assert!(changes.inodes.contains(&ino), "{ino} in {changes:?}");
    }
    assert!(changes.entries.contains(&(d, name.to_owned())));
    ns.check_invariants().unwrap();
}

#[test]
fn t20_a_copy_that_cannot_be_made_fails_the_whole_commit() {
    let (mut ns, d, f) = two_versions();
    create(&mut ns, d, "taken");
    fails(&mut ns, conflict(f, d, "taken"), FsError::Exists);
    fails(&mut ns, conflict(f, f, "x"), FsError::NotDir);
    fails(&mut ns, conflict(f, 999, "x"), FsError::NotFound);
    fails(&mut ns, conflict(f, d, "a/b"), FsError::Invalid);
    fails(
        &mut ns,
        conflict(f, d, &"n".repeat(256)),
        FsError::NameTooLong,
    );
    let mut c = conflict(f, d, "x");
    c.copy.as_mut().unwrap().of_version = 9;
    fails(&mut ns, c, FsError::Invalid);
    // A conflict comes with its copy, a copy with its conflict.
    let mut c = conflict(f, d, "x");
    c.copy = None;
    fails(&mut ns, c, FsError::Invalid);
    let mut c = conflict(f, d, "x");
    c.mark = None;
    fails(&mut ns, c, FsError::Invalid);
    // Marks name versions the file has.
    for mark in [
        Mark::Merged { with: 3 },
        Mark::Overrode { version: 0 },
        Mark::Reverted { to: 7 },
    ] {
        let mut c = commit(f, Some(2), &[1], &author("x", 1));
        c.mark = Some(mark);
        fails(&mut ns, c, FsError::Invalid);
    }
    // The name was free again: the committer may retry with another.
    assert!(apply(&mut ns, conflict(f, d, "free")).is_ok());
}

fn marked(f: Ino, base: u64, mark: Mark) -> CommitCmd {
    let mut c = commit(f, Some(base), &[base as u8], &author("bob", 1001));
    c.mark = Some(mark);
    c
}

fn events(ns: &Namespace, path: Option<&str>, limit: usize) -> Vec<Event> {
    let q = Query::Events {
        path: path.map(String::from),
        limit,
    };
    match answer(ns, &q) {
        Ok(QueryReply::Events(e)) => e,
        other => panic!("{other:?}"),
    }
}

#[test]
fn t10_conflicts_overrides_and_resurrections_are_recorded() {
    let (mut ns, d, f) = two_versions();
    apply(&mut ns, marked(f, 2, Mark::Merged { with: 2 })).unwrap();
    apply(&mut ns, marked(f, 3, Mark::Reverted { to: 1 })).unwrap();
    assert!(
        events(&ns, None, 10).is_empty(),
        "merges and reverts are no events"
    );
    apply(&mut ns, marked(f, 4, Mark::Overrode { version: 4 })).unwrap();
    apply(&mut ns, conflict_at(f, d, 5)).unwrap();
    let g = create(&mut ns, ROOT, "g");
    let mut back = commit(g, None, &[1], &author("bob", 1001));
    back.mark = Some(Mark::Resurrected);
    apply(&mut ns, back).unwrap();

    let all = events(&ns, None, 10);
    let seen: Vec<(u64, &str, u64, &Mark)> = all
        .iter()
        .map(|e| (e.seq, e.path.as_str(), e.version, &e.mark))
        .collect();
    let copy = ns.lookup(d, "f.c").unwrap().ino;
    let conflict_mark = Mark::Conflict {
        with: 5,
        copy,
        copy_name: "f.c".into(),
    };
    assert_eq!(
        seen,
        [
            (1, "/d/f", 5, &Mark::Overrode { version: 4 }),
            (2, "/d/f", 6, &conflict_mark),
            (3, "/g", 1, &Mark::Resurrected),
        ]
    );
    assert_eq!(
        (&all[0].author, all[0].time, all[0].ino),
        (&author("bob", 1001), t(14), f)
    );
    assert_eq!(events(&ns, Some("/d"), 10).len(), 2);
    assert_eq!(events(&ns, Some("/d/"), 10).len(), 2);
    assert_eq!(events(&ns, Some("/d/f"), 10).len(), 2);
    assert!(events(&ns, Some("/d/f2"), 10).is_empty());
    assert_eq!(events(&ns, Some("/"), 10).len(), 3);
    assert_eq!(events(&ns, Some("/g"), 10)[0].seq, 3);
    // The newest `limit`, oldest first.
    let last: Vec<u64> = events(&ns, None, 2).iter().map(|e| e.seq).collect();
    assert_eq!(last, [2, 3]);
}

fn conflict_at(f: Ino, dir: Ino, base: u64) -> CommitCmd {
    let mut c = marked(
        f,
        base,
        Mark::Conflict {
            with: base,
            copy: 0,
            copy_name: String::new(),
        },
    );
    c.copy = Some(ConflictCopy {
        parent: dir,
        name: "f.c".into(),
        of_version: base,
    });
    c
}

#[test]
fn t10_the_event_log_keeps_the_last_ten_thousand() {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let f = create(&mut ns, ROOT, "f");
    apply(&mut ns, commit(f, None, &[0], &author("a", 1))).unwrap();
    let extra = 5;
    for base in 1..=(MAX_EVENTS + extra) as u64 {
        let mut c = commit(f, Some(base), &[], &author("b", 2));
        c.mark = Some(Mark::Overrode { version: base });
        apply(&mut ns, c).unwrap();
    }
    assert_eq!(ns.events().len(), MAX_EVENTS);
    let kept = events(&ns, None, usize::MAX);
    assert_eq!(kept.len(), MAX_EVENTS);
    assert_eq!(kept[0].seq, extra as u64 + 1, "the oldest were dropped");
    assert_eq!(kept[MAX_EVENTS - 1].seq, (MAX_EVENTS + extra) as u64);
}

fn inherited(ns: &Namespace, ino: Ino) -> Option<(Ino, Vec<u8>)> {
    let q = Query::Inherited {
        ino,
        name: "user.fragfs.merge".into(),
    };
    match answer(ns, &q) {
        Ok(QueryReply::Inherited(v)) => v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn t10_an_inherited_attribute_comes_from_the_nearest_holder() {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let a = mkdir(&mut ns, ROOT, "a");
    let b = mkdir(&mut ns, a, "b");
    let f = create(&mut ns, b, "f");
    assert_eq!(inherited(&ns, f), None);
    let set = |ns: &mut Namespace, ino: Ino, v: &[u8]| {
        ns.apply(Command::SetXattr {
            ino,
            name: "user.fragfs.merge".into(),
            value: v.to_vec(),
            mode: XattrMode::Any,
            now: t(3),
        })
        .unwrap();
    };
    set(&mut ns, ROOT, b"merge");
    assert_eq!(inherited(&ns, f), Some((ROOT, b"merge".to_vec())));
    set(&mut ns, a, b"lww");
    assert_eq!(inherited(&ns, f), Some((a, b"lww".to_vec())));
    set(&mut ns, b, b"merge");
    assert_eq!(inherited(&ns, f), Some((b, b"merge".to_vec())));
    set(&mut ns, f, b"lww");
    assert_eq!(inherited(&ns, f), Some((f, b"lww".to_vec())));
    assert_eq!(inherited(&ns, a), Some((a, b"lww".to_vec())));
    let q = Query::Inherited {
        ino: 999,
        name: "user.fragfs.merge".into(),
    };
    assert_eq!(answer(&ns, &q), Err(FsError::NotFound));
}

#[test]
fn t10_versions_history_and_paths_by_inode() {
    let (ns, d, f) = two_versions();
    let v2 = ns.version(f, 2).unwrap().clone();
    assert_eq!(
        answer(&ns, &Query::Version { ino: f, id: 2 }),
        Ok(QueryReply::Version(v2))
    );
    for id in [0, 3, u64::MAX] {
        assert_eq!(
            answer(&ns, &Query::Version { ino: f, id }),
            Err(FsError::NotFound)
        );
    }
    assert_eq!(
        answer(&ns, &Query::Version { ino: d, id: 1 }),
        Err(FsError::IsDir)
    );
    let Ok(QueryReply::History { attr, versions }) = answer(&ns, &Query::HistoryOf { ino: f })
    else {
        panic!("no history")
    };
    assert_eq!(
        (attr.ino, versions.as_slice()),
        (f, ns.versions(f).unwrap())
    );
    assert_eq!(
        answer(&ns, &Query::PathOf { ino: f }),
        Ok(QueryReply::Path("/d/f".into()))
    );
    assert_eq!(
        answer(&ns, &Query::PathOf { ino: ROOT }),
        Ok(QueryReply::Path("/".into()))
    );
    assert_eq!(
        answer(&ns, &Query::PathOf { ino: 999 }),
        Err(FsError::NotFound)
    );
}

#[test]
fn t10_commits_in_a_batch_stand_alone() {
    let (mut ns, d, f) = two_versions();
    let batch = Command::Batch(vec![
        Command::Commit(commit(f, Some(1), &[5], &author("x", 1))),
        Command::Commit(conflict(f, d, "copy")),
    ]);
    let Ok(Reply::Batch(results)) = ns.apply(batch) else {
        panic!("batch refused")
    };
    assert_eq!(results[0], Err(FsError::Conflict { head: Some(2) }));
    assert!(matches!(
        results[1],
        Ok(Reply::Committed { version: 3, .. })
    ));
    assert!(ns.lookup(d, "copy").is_ok());
}

#[test]
fn t10_author_display_and_short_name() {
    let a = author("12D3KooWQmXyZabcdefgh", 1000);
    assert_eq!(a.to_string(), "uid 1000 on 12D3KooWQmXyZabcdefgh");
    assert_eq!(a.short(), "abcdefgh");
    assert_eq!(author("abc", 0).short(), "abc");
    assert_eq!(author("ééééééééé", 0).short(), "éééééééé");
}

/// The byte form of the new commands, queries and replies, one line each.
fn pinned_messages() -> Vec<String> {
    let enc = |b: Vec<u8>| hex::encode(b);
    let mut c = conflict(7, 2, "f.conflict-20261202-031500-abcdefgh.txt");
    c.manifest = frags(&[1]);
    vec![
        enc(postcard::to_allocvec(&Command::Commit(c)).unwrap()),
        enc(postcard::to_allocvec(&Query::Version { ino: 7, id: 3 }).unwrap()),
        enc(postcard::to_allocvec(&Query::HistoryOf { ino: 7 }).unwrap()),
        enc(postcard::to_allocvec(&Query::Inherited {
            ino: 7,
            name: "user.fragfs.merge".into(),
        })
        .unwrap()),
        enc(postcard::to_allocvec(&Query::Events {
            path: Some("/d".into()),
            limit: 100,
        })
        .unwrap()),
        enc(postcard::to_allocvec(&Query::PathOf { ino: 7 }).unwrap()),
        enc(postcard::to_allocvec(&QueryReply::Inherited(Some((2, b"lww".to_vec())))).unwrap()),
        enc(postcard::to_allocvec(&QueryReply::Path("/d/f".into())).unwrap()),
        enc(postcard::to_allocvec(&QueryReply::Events(vec![Event {
            seq: 1,
            ino: 7,
            path: "/d/f".into(),
            version: 5,
            mark: Mark::Overrode { version: 4 },
            author: author("bob", 1001),
            time: t(9),
        }]))
        .unwrap()),
        enc(postcard::to_allocvec(&Mark::Merged { with: 2 }).unwrap()),
        enc(postcard::to_allocvec(&Mark::Resurrected).unwrap()),
        enc(postcard::to_allocvec(&Mark::Reverted { to: 1 }).unwrap()),
    ]
}

/// Pins the byte form of `Commit`, the version queries and their replies.
#[test]
fn t10_encoding_is_pinned() {
    let pinned: Vec<&str> = include_str!("../../../tests/data/meta-versions-v1.hex")
        .lines()
        .collect();
    assert_eq!(
        pinned_messages(),
        pinned,
        "one pinned line per message, unchanged"
    );
}
