//! Random command sequences: the invariants hold after every step, a failed
//! command changes nothing, and replaying a sequence gives the same state.

use super::tests::{manifest, t, ALICE, BOB};
use super::Namespace;
use crate::meta::types::*;
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(String::from)
}

/// An inode selector, made concrete by [`concretize`] against the state
/// the command is applied to.
fn ino() -> impl Strategy<Value = Ino> {
    0..16u64
}

fn caller() -> impl Strategy<Value = Caller> {
    prop::sample::select(vec![
        Caller::ROOT,
        ALICE,
        BOB,
        Caller {
            uid: BOB.uid,
            gid: ALICE.gid,
        },
    ])
}

fn perm() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(0o755),
        Just(0o2775),
        Just(0o6755),
        Just(0o4744),
        any::<u16>()
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(vec![
        Kind::File,
        Kind::Dir,
        Kind::Symlink,
        Kind::Fifo,
        Kind::Socket,
        Kind::CharDev,
        Kind::BlockDev,
    ])
}

fn target() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a", "b", "/a", "/a/b", "../c", "a/b/", ".", "d/..", "",
    ])
    .prop_map(String::from)
}

fn flags() -> impl Strategy<Value = RenameFlags> {
    prop_oneof![
        4 => Just(RenameFlags::default()),
        2 => Just(RenameFlags { noreplace: true, exchange: false }),
        2 => Just(RenameFlags { noreplace: false, exchange: true }),
        1 => Just(RenameFlags { noreplace: true, exchange: true }),
    ]
}

fn now() -> impl Strategy<Value = Time> {
    (0..100i64).prop_map(t)
}

fn id() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0u32), Just(1000), Just(1001)]
}

fn set_attr() -> impl Strategy<Value = Command> {
    let times = (prop::option::of(now()), prop::option::of(now()), now());
    (
        ino(),
        caller(),
        prop::option::of(perm()),
        prop::option::of(id()),
        prop::option::of(id()),
        times,
    )
        .prop_flat_map(|(ino, caller, perm, uid, gid, (atime, mtime, now))| {
            prop::option::of(0..200_000u64).prop_map(move |size| Command::SetAttr {
                ino,
                caller,
                perm,
                uid,
                gid,
                size,
                atime,
                mtime,
                now,
            })
        })
}

fn xattr() -> impl Strategy<Value = Command> {
    let name = prop::sample::select(vec!["user.a", "user.b", ""]);
    let mode = prop::sample::select(vec![XattrMode::Any, XattrMode::Create, XattrMode::Replace]);
    (
        ino(),
        name,
        prop::collection::vec(any::<u8>(), 0..4),
        mode,
        now(),
    )
        .prop_map(|(ino, name, value, mode, now)| Command::SetXattr {
            ino,
            name: name.into(),
            value,
            mode,
            now,
        })
}

fn commit() -> impl Strategy<Value = Command> {
    let size = prop_oneof![Just(0u64), Just(1), Just(65_537)];
    (ino(), prop::option::of(0..5u64), size, caller(), now()).prop_map(
        |(ino, base, size, caller, now)| {
            let hlc = Hlc {
                wall_ms: now.secs as u64,
                logical: 0,
                node: 1,
            };
            Command::CommitVersion {
                ino,
                base,
                manifest: manifest(size),
                author: "p".into(),
                hlc,
                caller,
                now,
            }
        },
    )
}

fn mark() -> impl Strategy<Value = Option<Mark>> {
    let v = || 0..6u64;
    prop_oneof![
        3 => Just(None),
        1 => v().prop_map(|with| Some(Mark::Merged { with })),
        1 => (v(), ino()).prop_map(|(with, copy)| Some(Mark::Conflict { with, copy, copy_name: "x".into() })),
        1 => v().prop_map(|version| Some(Mark::Overrode { version })),
        1 => Just(Some(Mark::Resurrected)),
        1 => v().prop_map(|to| Some(Mark::Reverted { to })),
    ]
}

/// A [`Command::Commit`], with a mark and sometimes a conflict copy (its
/// parent a selector like any other, its version 4 meaning the head).
fn new_commit() -> impl Strategy<Value = Command> {
    let copy = prop::option::of((ino(), name(), 0..6u64)).prop_map(|c| {
        c.map(|(parent, name, of_version)| ConflictCopy {
            parent,
            name,
            of_version,
        })
    });
    (commit(), prop::option::of(0..5u64), mark(), copy).prop_map(|(old, based_on, mark, copy)| {
        let Command::CommitVersion {
            ino,
            base,
            manifest,
            author,
            hlc,
            caller,
            now,
        } = old
        else {
            unreachable!("commit() makes CommitVersion")
        };
        // Conflicts come with copies most of the time.
        let copy = match (&mark, copy) {
            (Some(Mark::Conflict { with, .. }), None) if with % 2 == 0 => Some(ConflictCopy {
                parent: 0,
                name: "c".into(),
                of_version: 4,
            }),
            (_, copy) => copy,
        };
        Command::Commit(CommitCmd {
            ino,
            base,
            based_on,
            manifest,
            author: Author {
                peer: author,
                uid: caller.uid,
            },
            hlc,
            caller,
            now,
            mark,
            copy,
        })
    })
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        1 => (ino(), name(), perm(), caller(), now())
            .prop_map(|(parent, name, perm, caller, now)| Command::Create { parent, name, perm, caller, now }),
        1 => (ino(), name(), kind(), perm(), 0..3u64, caller(), now()).prop_map(
            |(parent, name, kind, perm, rdev, caller, now)| Command::Mknod { parent, name, kind, perm, rdev, caller, now }
        ),
        3 => (ino(), name(), perm(), caller(), now())
            .prop_map(|(parent, name, perm, caller, now)| Command::Mkdir { parent, name, perm, caller, now }),
        1 => (ino(), name(), target(), caller(), now())
            .prop_map(|(parent, name, target, caller, now)| Command::Symlink { parent, name, target, caller, now }),
        1 => (ino(), ino(), name(), now())
            .prop_map(|(ino, new_parent, new_name, now)| Command::Link { ino, new_parent, new_name, now }),
        1 => (ino(), name(), now()).prop_map(|(parent, name, now)| Command::Unlink { parent, name, now }),
        1 => (ino(), name(), now()).prop_map(|(parent, name, now)| Command::Rmdir { parent, name, now }),
        4 => (ino(), name(), ino(), name(), flags(), now()).prop_map(
            |(parent, name, new_parent, new_name, flags, now)| Command::Rename {
                parent,
                name,
                new_parent,
                new_name,
                flags,
                now,
            }
        ),
        2 => set_attr(),
        1 => xattr(),
        1 => (ino(), prop::sample::select(vec!["user.a", "user.b"]), now())
            .prop_map(|(ino, name, now)| Command::RemoveXattr { ino, name: name.into(), now }),
        2 => commit(),
        2 => new_commit(),
        1 => prop::collection::vec(new_commit(), 1..3).prop_map(Command::Batch),
        1 => (now(), prop::collection::vec((ino(), 0..6u64), 0..3))
            .prop_map(|(now, protected)| Command::Retain { now, protected }),
        1 => (prop::sample::select(vec!["m1", "m2"]), prop::collection::vec((ino(), 0..6u64), 0..3), now())
            .prop_map(|(holder, versions, until)| Command::Hold { holder: holder.into(), versions, until }),
        1 => prop::collection::vec((ino(), 0..6u64, 0..1000u64), 1..3).prop_map(|items| Command::Replace {
            items: items
                .into_iter()
                .map(|(ino, version, size)| Replacement {
                    ino,
                    version,
                    old: crate::fragment::FragmentId::of(crate::fragment::HashAlgo::Sha3_256, b""),
                    manifest: manifest(size),
                })
                .collect()
        }),
    ]
}

/// Turns the selectors of a generated command into inode numbers, so that
/// most commands name inodes that exist: selector `s` below 12 is the s-th
/// directory (for parents), existing entry (for the source of unlink, rmdir
/// and rename), regular file (for commits) or inode (for others), 12 and 13
/// the s-th inode of any kind, anything else a number never allocated. A
/// commit base of 4 means the file's current head.
fn concretize(ns: &Namespace, mut cmd: Command) -> Command {
    let all: Vec<Ino> = ns.inodes.keys().copied().collect();
    let dirs: Vec<Ino> = ns
        .inodes
        .iter()
        .filter(|(_, n)| n.is_dir())
        .map(|(&i, _)| i)
        .collect();
    let files: Vec<Ino> = ns
        .inodes
        .iter()
        .filter(|(_, n)| n.attr.kind == Kind::File)
        .map(|(&i, _)| i)
        .collect();
    let entries: Vec<(Ino, String)> = ns
        .inodes
        .values()
        .flat_map(|n| n.links.iter().cloned())
        .collect();
    let pick = |sel: Ino, dirs_first: bool| match sel {
        0..12 if dirs_first => dirs[sel as usize % dirs.len()],
        0..14 => all[sel as usize % all.len()],
        _ => 1000 + sel,
    };
    let pick_file = |sel: Ino| match sel {
        0..12 if !files.is_empty() => files[sel as usize % files.len()],
        sel => pick(sel, false),
    };
    let head = |ino: Ino| ns.head(ino).ok().flatten().map(|v| v.id);
    let pick_entry = |sel: Ino, name: &str| match sel {
        0..12 if !entries.is_empty() => entries[sel as usize % entries.len()].clone(),
        _ => (pick(sel, true), name.to_owned()),
    };
    match &mut cmd {
        Command::Create { parent, .. }
        | Command::Mknod { parent, .. }
        | Command::Mkdir { parent, .. }
        | Command::Symlink { parent, .. } => *parent = pick(*parent, true),
        Command::Unlink { parent, name, .. } | Command::Rmdir { parent, name, .. } => {
            (*parent, *name) = pick_entry(*parent, name)
        }
        Command::Link {
            ino, new_parent, ..
        } => {
            *ino = pick(*ino, false);
            *new_parent = pick(*new_parent, true);
        }
        Command::Rename {
            parent,
            name,
            new_parent,
            ..
        } => {
            (*parent, *name) = pick_entry(*parent, name);
            *new_parent = pick(*new_parent, true);
        }
        Command::SetAttr { ino, .. }
        | Command::SetXattr { ino, .. }
        | Command::RemoveXattr { ino, .. } => *ino = pick(*ino, false),
        Command::CommitVersion { ino, base, .. } => {
            *ino = pick_file(*ino);
            if *base == Some(4) {
                *base = head(*ino);
            }
        }
        Command::Commit(c) | Command::SignedCommit { commit: c, .. } => {
            c.ino = pick_file(c.ino);
            let head = head(c.ino);
            if c.base == Some(4) {
                c.base = head;
            }
            if let Some(copy) = &mut c.copy {
                copy.parent = pick(copy.parent, true);
                if copy.of_version == 4 {
                    copy.of_version = head.unwrap_or(0);
                }
            }
        }
        Command::RecordHash { ino, .. } => *ino = pick_file(*ino),
        // An even version number replaces what is there with the same
        // bytes on another holder; an odd one keeps the generated manifest
        // (a stale or a bad item).
        Command::Replace { items } => {
            for it in items {
                it.ino = pick_file(it.ino);
                if let (0, Ok(v)) = (it.version % 2, ns.version(it.ino, it.version)) {
                    it.old = v.manifest.id();
                    it.manifest = v.manifest.clone();
                    for f in &mut it.manifest.fragments {
                        f.holders = vec![crate::redundancy::NodeId(vec![it.version as u8])];
                    }
                }
            }
        }
        Command::Retain {
            protected: held, ..
        }
        | Command::Hold { versions: held, .. } => {
            for (ino, _) in held {
                *ino = pick_file(*ino);
            }
        }
        // Batches (of commits) are made concrete command by command, all
        // against the state before the batch.
        Command::Batch(cmds) => {
            for c in cmds {
                *c = concretize(ns, c.clone());
            }
        }
        // The generator makes neither locks, context wrappers,
        // membership changes nor accounts; they are tested on their own
        // (`locks_tests.rs`, `acl`, `members_tests.rs`,
        // `accounts_tests.rs`).
        Command::Lock(_)
        | Command::WithContext { .. }
        | Command::Members(_)
        | Command::Accounts(_) => {}
    }
    cmd
}

/// Checks the query side against the structure: every inode's path names it,
/// and the walk lists every inode but the root.
fn check_queries(ns: &Namespace) -> Result<(), TestCaseError> {
    let walked = ns.walk();
    for (path, attr) in &walked {
        prop_assert_eq!(ns.resolve_nofollow(path), Ok(attr.ino));
        let back = ns.path_of(attr.ino).expect("a walked inode has a path");
        prop_assert_eq!(ns.resolve_nofollow(&back), Ok(attr.ino));
        if attr.kind == Kind::Dir {
            let subdirs = ns
                .readdir(attr.ino)
                .map(|es| es.iter().filter(|e| e.kind == Kind::Dir).count());
            prop_assert_eq!(subdirs, Ok(attr.nlink as usize - 2));
        }
    }
    let distinct: std::collections::BTreeSet<Ino> = walked.iter().map(|(_, a)| a.ino).collect();
    prop_assert_eq!(distinct.len() + 1, ns.len());
    Ok(())
}

/// What differs between `before` and `after` (an inode's attributes,
/// entries, links, xattrs or versions, or a directory entry) and is not
/// named in `reported`.
fn unreported(before: &Namespace, after: &Namespace, reported: &Changes) -> Changes {
    use super::Body;
    let mut missed = Changes::default();
    let inos: std::collections::BTreeSet<Ino> = before
        .inodes
        .keys()
        .chain(after.inodes.keys())
        .copied()
        .collect();
    let no_entries = std::collections::BTreeMap::new();
    for ino in inos {
        let (b, a) = (before.inodes.get(&ino), after.inodes.get(&ino));
        if b != a && !reported.inodes.contains(&ino) {
            missed.inodes.insert(ino);
        }
        let entries = |n: Option<&super::Inode>| match n.map(|n| &n.body) {
            Some(Body::Dir { entries }) => entries.clone(),
            _ => no_entries.clone(),
        };
        let (eb, ea) = (entries(b), entries(a));
        for name in eb.keys().chain(ea.keys()) {
            let key = (ino, name.clone());
            if eb.get(name) != ea.get(name) && !reported.entries.contains(&key) {
                missed.entries.insert(key);
            }
        }
    }
    missed
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn t30_random_commands_keep_invariants_and_replay_identically(cmds in prop::collection::vec(command(), 1..60)) {
        let mut ns = Namespace::new(Caller::ROOT, t(0));
        let mut applied = Vec::new();
        for cmd in cmds {
            let cmd = concretize(&ns, cmd);
            let before = ns.clone();
            let mut changes = Changes::default();
            let result = ns.apply_tracked(cmd.clone(), &mut changes);
            let missed = unreported(&before, &ns, &changes);
            prop_assert!(missed.is_empty(), "{:?} changed {:?} without saying so", cmd, missed);
            if let Err(e) = ns.check_invariants() {
                return Err(TestCaseError::fail(format!("{e} after {cmd:?} -> {result:?}")));
            }
            if result.is_err() {
                prop_assert_eq!(&ns, &before, "failed command {:?} changed the namespace", cmd);
            }
            check_queries(&ns)?;
            applied.push(cmd);
        }
        let mut again = Namespace::new(Caller::ROOT, t(0));
        let mut twice = Namespace::new(Caller::ROOT, t(0));
        for cmd in &applied {
            prop_assert_eq!(again.apply(cmd.clone()), twice.apply(cmd.clone()));
        }
        prop_assert_eq!(&again, &ns);
        prop_assert_eq!(&again, &twice);
        let bytes = postcard::to_stdvec(&ns).expect("a namespace serialises");
        let back: Namespace = postcard::from_bytes(&bytes).expect("a snapshot decodes");
        prop_assert_eq!(back, ns);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever bytes a log entry holds: they decode to a command or fail
    /// to, and a decoded command applies or fails without a panic.
    #[test]
    fn t30_arbitrary_command_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), tag in 0u8..17) {
        let mut ns = Namespace::new(Caller::ROOT, t(0));
        ns.apply(Command::Create { parent: ROOT, name: "f".into(), perm: 0o644, caller: ALICE, now: t(1) }).expect("create");
        let mut framed = vec![tag];
        framed.extend(bytes);
        if let Ok(cmd) = postcard::from_bytes::<Command>(&framed) {
            let before = ns.clone();
            if ns.apply(cmd).is_err() {
                prop_assert_eq!(ns, before);
            }
        }
    }
}
