//! Behaviour (t10) and error (t20) tests of the namespace, one POSIX error
//! per t20 test, produced by the command that should produce it.

use super::{Body, Namespace};
use crate::fragment::{FragmentEntry, FragmentId, FragmentSize, HashAlgo, Manifest};
use crate::meta::types::*;
use crate::redundancy::Redundancy;

pub(super) const ALICE: Caller = Caller {
    uid: 1000,
    gid: 1000,
};
pub(super) const BOB: Caller = Caller {
    uid: 1001,
    gid: 1001,
};

const REPLACE: RenameFlags = RenameFlags {
    noreplace: false,
    exchange: false,
};
const NOREPLACE: RenameFlags = RenameFlags {
    noreplace: true,
    exchange: false,
};
const EXCHANGE: RenameFlags = RenameFlags {
    noreplace: false,
    exchange: true,
};

pub(super) fn t(secs: i64) -> Time {
    Time { secs, nanos: 0 }
}

fn ns() -> Namespace {
    Namespace::new(Caller::ROOT, t(1))
}

/// A consistent manifest of a `size`-byte file cut into 64 KiB fragments.
pub(super) fn manifest(size: u64) -> Manifest {
    let fs = FragmentSize::new(65536).expect("64 KiB is a valid fragment size");
    let fragments = (0..fs.count(size))
        .map(|i| FragmentEntry {
            id: FragmentId::of(HashAlgo::Sha3_256, &i.to_le_bytes()),
            len: fs.len_of(size, i),
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

// Commands, each kind stamped with its own time so tests can tell who set a time.

pub(super) fn create_cmd(parent: Ino, name: &str) -> Command {
    Command::Create {
        parent,
        name: name.into(),
        perm: 0o644,
        caller: ALICE,
        now: t(2),
    }
}

fn mkdir_cmd(parent: Ino, name: &str, perm: u16, caller: Caller) -> Command {
    Command::Mkdir {
        parent,
        name: name.into(),
        perm,
        caller,
        now: t(2),
    }
}

fn mknod_cmd(parent: Ino, name: &str, kind: Kind, rdev: u64) -> Command {
    Command::Mknod {
        parent,
        name: name.into(),
        kind,
        perm: 0o600,
        rdev,
        caller: ALICE,
        now: t(2),
    }
}

fn symlink_cmd(parent: Ino, name: &str, target: &str) -> Command {
    Command::Symlink {
        parent,
        name: name.into(),
        target: target.into(),
        caller: ALICE,
        now: t(2),
    }
}

pub(super) fn link_cmd(ino: Ino, new_parent: Ino, new_name: &str) -> Command {
    Command::Link {
        ino,
        new_parent,
        new_name: new_name.into(),
        now: t(3),
    }
}

pub(super) fn unlink_cmd(parent: Ino, name: &str) -> Command {
    Command::Unlink {
        parent,
        name: name.into(),
        now: t(4),
    }
}

pub(super) fn rmdir_cmd(parent: Ino, name: &str) -> Command {
    Command::Rmdir {
        parent,
        name: name.into(),
        now: t(4),
    }
}

pub(super) fn rename_cmd(
    parent: Ino,
    name: &str,
    new_parent: Ino,
    new_name: &str,
    flags: RenameFlags,
) -> Command {
    Command::Rename {
        parent,
        name: name.into(),
        new_parent,
        new_name: new_name.into(),
        flags,
        now: t(5),
    }
}

fn setattr_cmd(
    ino: Ino,
    caller: Caller,
    perm: Option<u16>,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Command {
    Command::SetAttr {
        ino,
        caller,
        perm,
        uid,
        gid,
        size: None,
        atime: None,
        mtime: None,
        now: t(6),
    }
}

fn chmod_cmd(ino: Ino, caller: Caller, perm: u16) -> Command {
    setattr_cmd(ino, caller, Some(perm), None, None)
}

fn truncate_cmd(ino: Ino, caller: Caller, size: u64) -> Command {
    let (perm, uid, gid, atime, mtime) = (None, None, None, None, None);
    Command::SetAttr {
        ino,
        caller,
        perm,
        uid,
        gid,
        size: Some(size),
        atime,
        mtime,
        now: t(6),
    }
}

fn commit_cmd(ino: Ino, base: Option<u64>, size: u64, caller: Caller) -> Command {
    let hlc = Hlc {
        wall_ms: 7,
        logical: 0,
        node: 1,
    };
    let author = "alice@node1".into();
    Command::CommitVersion {
        ino,
        base,
        manifest: manifest(size),
        author,
        hlc,
        caller,
        now: t(7),
    }
}

fn xattr_cmd(ino: Ino, name: &str, value: Vec<u8>, mode: XattrMode) -> Command {
    Command::SetXattr {
        ino,
        name: name.into(),
        value,
        mode,
        now: t(8),
    }
}

/// The attributes a successful create, link or setattr returned.
fn attr(r: Result<Reply, FsError>) -> Attr {
    match r {
        Ok(Reply::Attr(a)) => a,
        other => panic!("expected attributes, got {other:?}"),
    }
}

pub(super) fn mkdir(ns: &mut Namespace, parent: Ino, name: &str) -> Ino {
    attr(ns.apply(mkdir_cmd(parent, name, 0o755, ALICE))).ino
}

pub(super) fn create(ns: &mut Namespace, parent: Ino, name: &str) -> Ino {
    attr(ns.apply(create_cmd(parent, name))).ino
}

/// Applies `cmd`, expects `err`, and checks the namespace did not change.
pub(super) fn fails(ns: &mut Namespace, cmd: Command, err: FsError) {
    let before = ns.clone();
    assert_eq!(ns.apply(cmd), Err(err));
    assert_eq!(*ns, before, "a failed command changed the namespace");
    ns.check_invariants().unwrap();
}

// ---- behaviour ----

#[test]
fn t10_new_namespace_has_only_the_root() {
    let ns = ns();
    let root = ns.getattr(ROOT).unwrap();
    assert_eq!(
        (root.kind, root.perm, root.nlink, root.uid),
        (Kind::Dir, 0o755, 2, 0)
    );
    assert_eq!(ns.len(), 1);
    assert_eq!(ns.path_of(ROOT).as_deref(), Some("/"));
    assert_eq!(ns.resolve("/").unwrap(), ROOT);
    assert!(ns.walk().is_empty());
    ns.check_invariants().unwrap();
}

#[test]
fn t10_mkdir_p_tree_counts_links() {
    let mut ns = ns();
    let a = mkdir(&mut ns, ROOT, "a");
    let b = mkdir(&mut ns, a, "b");
    let c = mkdir(&mut ns, b, "c");
    let f = create(&mut ns, b, "f");
    mkdir(&mut ns, a, "b2");
    assert_eq!(ns.getattr(ROOT).unwrap().nlink, 3);
    assert_eq!(ns.getattr(a).unwrap().nlink, 4);
    assert_eq!(ns.getattr(b).unwrap().nlink, 3);
    assert_eq!(ns.getattr(c).unwrap().nlink, 2);
    assert_eq!(ns.getattr(f).unwrap().nlink, 1);
    assert_eq!(ns.getattr(a).unwrap().mtime, t(2));
    assert_eq!(ns.resolve("/a/b/c").unwrap(), c);
    assert_eq!(ns.resolve("/a/./b/../b//f").unwrap(), f);
    assert_eq!(ns.resolve("/../a").unwrap(), a);
    assert_eq!(ns.lookup(b, "..").unwrap().ino, a);
    assert_eq!(ns.lookup(ROOT, "..").unwrap().ino, ROOT);
    assert_eq!(ns.path_of(f).as_deref(), Some("/a/b/f"));
    let paths: Vec<String> = ns.walk().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["/a", "/a/b", "/a/b/c", "/a/b/f", "/a/b2"]);
    let names: Vec<String> = ns.readdir(a).unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["b", "b2"]);
    ns.apply(rmdir_cmd(b, "c")).unwrap();
    assert_eq!(ns.getattr(b).unwrap().nlink, 2);
    ns.check_invariants().unwrap();
}

#[test]
fn t10_setgid_directory_is_inherited() {
    let mut ns = ns();
    let shared = attr(ns.apply(mkdir_cmd(
        ROOT,
        "shared",
        0o2775,
        Caller { uid: 0, gid: 50 },
    )))
    .ino;
    assert_eq!(ns.getattr(shared).unwrap().gid, 50);
    let sub = attr(ns.apply(mkdir_cmd(shared, "sub", 0o755, BOB))).ino;
    let sub_attr = ns.getattr(sub).unwrap();
    assert_eq!(
        (sub_attr.uid, sub_attr.gid, sub_attr.perm),
        (BOB.uid, 50, 0o2755)
    );
    let f = attr(ns.apply(Command::Create {
        parent: sub,
        name: "f".into(),
        perm: 0o640,
        caller: BOB,
        now: t(2),
    }));
    assert_eq!((f.uid, f.gid, f.perm), (BOB.uid, 50, 0o640));
    let plain = attr(ns.apply(mkdir_cmd(ROOT, "plain", 0o17777, BOB))).ino;
    assert_eq!(
        (
            ns.getattr(plain).unwrap().gid,
            ns.getattr(plain).unwrap().perm
        ),
        (BOB.gid, 0o7777)
    );
}

#[test]
fn t10_mknod_and_symlink_attributes() {
    let mut ns = ns();
    let mk = |kind, rdev| mknod_cmd(ROOT, &format!("{kind:?}"), kind, rdev);
    assert_eq!(attr(ns.apply(mk(Kind::CharDev, 0x0501))).rdev, 0x0501);
    assert_eq!(attr(ns.apply(mk(Kind::Fifo, 7))).rdev, 0);
    assert_eq!(attr(ns.apply(mk(Kind::File, 7))).kind, Kind::File);
    let l = attr(ns.apply(symlink_cmd(ROOT, "l", "Fifo")));
    assert_eq!((l.size, l.perm), (4, 0o777));
    assert_eq!(ns.readlink(l.ino).unwrap(), "Fifo");
    ns.check_invariants().unwrap();
}

#[test]
fn t10_hard_links_count_and_last_unlink_removes() {
    let mut ns = ns();
    let d = mkdir(&mut ns, ROOT, "d");
    let f = create(&mut ns, ROOT, "f");
    ns.apply(commit_cmd(f, None, 10, ALICE)).unwrap();
    let a = attr(ns.apply(link_cmd(f, d, "g")));
    assert_eq!((a.nlink, a.ctime), (2, t(3)));
    ns.apply(link_cmd(f, ROOT, "h")).unwrap();
    assert_eq!(ns.getattr(f).unwrap().nlink, 3);
    assert_eq!(ns.resolve("/d/g").unwrap(), f);
    ns.check_invariants().unwrap();
    ns.apply(unlink_cmd(ROOT, "f")).unwrap();
    ns.apply(unlink_cmd(d, "g")).unwrap();
    let a = ns.getattr(f).unwrap();
    assert_eq!((a.nlink, a.ctime), (1, t(4)));
    assert_eq!(ns.path_of(f).as_deref(), Some("/h"));
    ns.apply(unlink_cmd(ROOT, "h")).unwrap();
    assert_eq!(ns.getattr(f), Err(FsError::NotFound));
    assert_eq!(ns.versions(f), Err(FsError::NotFound));
    assert_eq!(ns.len(), 2);
    ns.check_invariants().unwrap();
}

#[test]
fn t10_rename_replace_and_noreplace() {
    let mut ns = ns();
    let a = create(&mut ns, ROOT, "a");
    let b = create(&mut ns, ROOT, "b");
    assert_eq!(
        ns.apply(rename_cmd(ROOT, "a", ROOT, "b", NOREPLACE)),
        Err(FsError::Exists)
    );
    ns.apply(rename_cmd(ROOT, "a", ROOT, "c", NOREPLACE))
        .unwrap();
    assert_eq!(ns.resolve("/c").unwrap(), a);
    ns.apply(rename_cmd(ROOT, "c", ROOT, "b", REPLACE)).unwrap();
    assert_eq!(ns.resolve("/b").unwrap(), a);
    assert_eq!(ns.getattr(b), Err(FsError::NotFound));
    assert_eq!(ns.getattr(a).unwrap().ctime, t(5));
    // Renaming onto itself or onto another link of the same inode does nothing.
    let before = ns.clone();
    ns.apply(rename_cmd(ROOT, "b", ROOT, "b", REPLACE)).unwrap();
    ns.apply(link_cmd(a, ROOT, "b2")).unwrap();
    let linked = ns.clone();
    ns.apply(rename_cmd(ROOT, "b", ROOT, "b2", REPLACE))
        .unwrap();
    assert_eq!(ns, linked);
    assert_ne!(ns, before);
    // A directory replaces an empty directory; the old one is gone.
    let d1 = mkdir(&mut ns, ROOT, "d1");
    let d2 = mkdir(&mut ns, ROOT, "d2");
    assert_eq!(ns.getattr(ROOT).unwrap().nlink, 4);
    ns.apply(rename_cmd(ROOT, "d1", ROOT, "d2", REPLACE))
        .unwrap();
    assert_eq!(ns.resolve("/d2").unwrap(), d1);
    assert_eq!(ns.getattr(d2), Err(FsError::NotFound));
    assert_eq!(ns.getattr(ROOT).unwrap().nlink, 3);
    ns.check_invariants().unwrap();
}

#[test]
fn t10_rename_directory_across_parents_moves_links() {
    let mut ns = ns();
    let p = mkdir(&mut ns, ROOT, "p");
    let q = mkdir(&mut ns, ROOT, "q");
    let d = mkdir(&mut ns, p, "d");
    let inner = create(&mut ns, d, "inner");
    ns.apply(rename_cmd(p, "d", q, "e", REPLACE)).unwrap();
    assert_eq!(ns.getattr(p).unwrap().nlink, 2);
    assert_eq!(ns.getattr(q).unwrap().nlink, 3);
    assert_eq!(ns.lookup(d, "..").unwrap().ino, q);
    assert_eq!(ns.path_of(inner).as_deref(), Some("/q/e/inner"));
    assert_eq!(
        (ns.getattr(p).unwrap().mtime, ns.getattr(q).unwrap().ctime),
        (t(5), t(5))
    );
    ns.check_invariants().unwrap();
}

#[test]
fn t10_rename_exchange_swaps_and_fixes_links() {
    let mut ns = ns();
    let p = mkdir(&mut ns, ROOT, "p");
    let q = mkdir(&mut ns, ROOT, "q");
    let d = mkdir(&mut ns, p, "d");
    let f = create(&mut ns, q, "f");
    ns.apply(rename_cmd(p, "d", q, "f", EXCHANGE)).unwrap();
    assert_eq!(ns.resolve("/p/d").unwrap(), f);
    assert_eq!(ns.resolve("/q/f").unwrap(), d);
    assert_eq!(ns.getattr(p).unwrap().nlink, 2);
    assert_eq!(ns.getattr(q).unwrap().nlink, 3);
    assert_eq!(ns.lookup(d, "..").unwrap().ino, q);
    assert_eq!(ns.getattr(f).unwrap().ctime, t(5));
    ns.check_invariants().unwrap();
    // Two directories in one parent: nlink unchanged.
    let e = mkdir(&mut ns, q, "e");
    ns.apply(rename_cmd(q, "e", q, "f", EXCHANGE)).unwrap();
    assert_eq!(
        (ns.resolve("/q/f").unwrap(), ns.resolve("/q/e").unwrap()),
        (e, d)
    );
    assert_eq!(ns.getattr(q).unwrap().nlink, 4);
    // Exchange with itself is a no-op.
    let before = ns.clone();
    ns.apply(rename_cmd(q, "e", q, "e", EXCHANGE)).unwrap();
    assert_eq!(ns, before);
    // Neither side may end up inside itself.
    fails(
        &mut ns,
        rename_cmd(ROOT, "q", d, "x", EXCHANGE),
        FsError::NotFound,
    );
    mkdir(&mut ns, d, "x");
    fails(
        &mut ns,
        rename_cmd(ROOT, "q", d, "x", EXCHANGE),
        FsError::Invalid,
    );
    fails(
        &mut ns,
        rename_cmd(d, "x", ROOT, "q", EXCHANGE),
        FsError::Invalid,
    );
    ns.check_invariants().unwrap();
}

#[test]
fn t10_chown_clears_setuid_and_setgid() {
    let mut ns = ns();
    let f = create(&mut ns, ROOT, "f");
    assert_eq!(attr(ns.apply(chmod_cmd(f, ALICE, 0o6755))).perm, 0o6755);
    // Root chowns: setuid goes, and setgid too since group-exec is set.
    let a = attr(ns.apply(setattr_cmd(f, Caller::ROOT, None, Some(BOB.uid), None)));
    assert_eq!((a.uid, a.perm, a.ctime), (BOB.uid, 0o755, t(6)));
    // Without group-exec the setgid bit (mandatory locking) stays.
    ns.apply(setattr_cmd(
        f,
        Caller::ROOT,
        Some(0o6745),
        Some(ALICE.uid),
        None,
    ))
    .unwrap();
    let a = attr(ns.apply(setattr_cmd(f, ALICE, None, None, Some(ALICE.gid))));
    assert_eq!(a.perm, 0o2745);
    // A directory keeps its bits on chown.
    let d = attr(ns.apply(mkdir_cmd(ROOT, "d", 0o2775, ALICE))).ino;
    let a = attr(ns.apply(setattr_cmd(d, Caller::ROOT, None, None, Some(50))));
    assert_eq!((a.gid, a.perm), (50, 0o2775));
    // chmod by the owner outside the file's group drops setgid.
    let a = attr(ns.apply(chmod_cmd(d, ALICE, 0o2755)));
    assert_eq!(a.perm, 0o755);
    // A non-root truncate drops setuid too.
    ns.apply(chmod_cmd(f, ALICE, 0o4755)).unwrap();
    let a = attr(ns.apply(truncate_cmd(f, ALICE, 3)));
    assert_eq!((a.perm, a.size, a.mtime), (0o755, 3, t(6)));
}

#[test]
fn t10_commit_versions_chain() {
    let mut ns = ns();
    let f = create(&mut ns, ROOT, "f");
    assert_eq!(ns.head(f).unwrap(), None);
    assert!(matches!(
        ns.apply(commit_cmd(f, None, 5, ALICE)),
        Ok(Reply::Committed { version: 1, .. })
    ));
    assert!(matches!(
        ns.apply(commit_cmd(f, Some(1), 70_000, ALICE)),
        Ok(Reply::Committed { version: 2, .. })
    ));
    ns.apply(chmod_cmd(f, ALICE, 0o4755)).unwrap();
    let Ok(Reply::Committed { version: 3, attr }) = ns.apply(commit_cmd(f, Some(2), 0, ALICE))
    else {
        panic!("third commit failed")
    };
    assert_eq!((attr.size, attr.mtime, attr.perm), (0, t(7), 0o755));
    let chain: Vec<(u64, Option<u64>, u64)> = ns
        .versions(f)
        .unwrap()
        .iter()
        .map(|v| (v.id, v.parent, v.manifest.size))
        .collect();
    assert_eq!(chain, [(1, None, 5), (2, Some(1), 70_000), (3, Some(2), 0)]);
    assert_eq!(ns.head(f).unwrap().map(|v| v.id), Some(3));
    assert_eq!(
        ns.head(f).unwrap().map(|v| v.author.peer.as_str()),
        Some("alice@node1")
    );
    ns.check_invariants().unwrap();
}

#[test]
fn t10_head_query_by_inode() {
    use crate::meta::query::{answer, Query, QueryReply};
    let mut ns = ns();
    let f = create(&mut ns, ROOT, "f");
    let head = |ns: &Namespace, ino| match answer(ns, &Query::Head { ino }) {
        Ok(QueryReply::Head { attr, head, .. }) => {
            (attr.ino, head.map(|v| (v.id, v.manifest.size)))
        }
        other => panic!("unexpected answer {other:?}"),
    };
    assert_eq!(head(&ns, f), (f, None));
    ns.apply(commit_cmd(f, None, 5, ALICE)).unwrap();
    ns.apply(commit_cmd(f, Some(1), 70_000, ALICE)).unwrap();
    assert_eq!(head(&ns, f), (f, Some((2, 70_000))));
    assert_eq!(
        head(&ns, ROOT),
        (ROOT, None),
        "a directory has no head version"
    );
    assert_eq!(
        answer(&ns, &Query::Head { ino: 999 }),
        Err(FsError::NotFound)
    );
}

#[test]
fn t10_xattrs_set_replace_list_remove() {
    let mut ns = ns();
    let f = create(&mut ns, ROOT, "f");
    ns.apply(xattr_cmd(f, "user.b", b"1".to_vec(), XattrMode::Create))
        .unwrap();
    ns.apply(xattr_cmd(f, "user.a", b"2".to_vec(), XattrMode::Any))
        .unwrap();
    ns.apply(xattr_cmd(f, "user.b", b"3".to_vec(), XattrMode::Replace))
        .unwrap();
    assert_eq!(ns.listxattr(f).unwrap(), ["user.a", "user.b"]);
    assert_eq!(ns.getxattr(f, "user.b").unwrap(), b"3");
    assert_eq!(ns.getattr(f).unwrap().ctime, t(8));
    ns.apply(Command::RemoveXattr {
        ino: f,
        name: "user.a".into(),
        now: t(9),
    })
    .unwrap();
    assert_eq!(ns.listxattr(f).unwrap(), ["user.b"]);
}

#[test]
fn t10_symlinks_resolve_relative_and_absolute() {
    let mut ns = ns();
    let a = mkdir(&mut ns, ROOT, "a");
    let b = mkdir(&mut ns, a, "b");
    let f = create(&mut ns, b, "f");
    let rel = attr(ns.apply(symlink_cmd(a, "rel", "b/f"))).ino;
    let up = attr(ns.apply(symlink_cmd(b, "up", "../rel"))).ino;
    attr(ns.apply(symlink_cmd(ROOT, "abs", "/a/b")));
    assert_eq!(ns.resolve("/a/rel").unwrap(), f);
    assert_eq!(ns.resolve("/a/b/up").unwrap(), f);
    assert_eq!(ns.resolve_nofollow("/a/b/up").unwrap(), up);
    assert_eq!(ns.resolve_nofollow("/a/rel").unwrap(), rel);
    assert_eq!(ns.resolve("/abs/f").unwrap(), f);
    assert_eq!(ns.resolve_nofollow("/abs/").unwrap(), b);
    assert_eq!(ns.resolve("/abs/../b/f").unwrap(), f);
    assert_eq!(ns.resolve("/a/rel/"), Err(FsError::NotDir));
    assert_eq!(ns.resolve("a"), Err(FsError::Invalid));
}

#[test]
fn t10_failed_commands_change_nothing() {
    let mut ns = ns();
    let d = mkdir(&mut ns, ROOT, "d");
    let f = create(&mut ns, d, "f");
    ns.apply(commit_cmd(f, None, 1, ALICE)).unwrap();
    let cases = [
        (mkdir_cmd(d, "f", 0o755, ALICE), FsError::Exists),
        (rmdir_cmd(ROOT, "d"), FsError::NotEmpty),
        (unlink_cmd(ROOT, "d"), FsError::IsDir),
        (rename_cmd(ROOT, "d", d, "x", REPLACE), FsError::Invalid),
        // The target is an ancestor of the source: Linux says ENOTEMPTY before looking at kinds.
        (rename_cmd(d, "f", ROOT, "d", REPLACE), FsError::NotEmpty),
        (chmod_cmd(f, BOB, 0o777), FsError::NotPermitted),
        (
            setattr_cmd(f, ALICE, Some(0o777), Some(0), None),
            FsError::NotPermitted,
        ),
        (
            xattr_cmd(f, "user.x", vec![], XattrMode::Replace),
            FsError::NoData,
        ),
        (
            commit_cmd(f, None, 3, ALICE),
            FsError::Conflict { head: Some(1) },
        ),
        (link_cmd(d, ROOT, "d2"), FsError::NotPermitted),
    ];
    for (cmd, err) in cases {
        fails(&mut ns, cmd, err);
    }
}

#[test]
fn t10_snapshot_round_trips_through_postcard() {
    let mut ns = ns();
    let d = mkdir(&mut ns, ROOT, "d");
    let f = create(&mut ns, d, "f");
    ns.apply(commit_cmd(f, None, 100_000, ALICE)).unwrap();
    ns.apply(symlink_cmd(ROOT, "l", "d/f")).unwrap();
    ns.apply(xattr_cmd(f, "user.k", vec![1, 2, 3], XattrMode::Any))
        .unwrap();
    ns.apply(link_cmd(f, ROOT, "g")).unwrap();
    let bytes = postcard::to_stdvec(&ns).unwrap();
    let back: Namespace = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, ns);
    back.check_invariants().unwrap();
}

fn entries_of(ns: &mut Namespace, dir: Ino) -> &mut std::collections::BTreeMap<String, Ino> {
    match &mut ns.inodes.get_mut(&dir).expect("directory exists").body {
        Body::Dir { entries } => entries,
        _ => panic!("{dir} is not a directory"),
    }
}

#[test]
fn t10_check_invariants_catches_corruption() {
    let mut ns = ns();
    let d = mkdir(&mut ns, ROOT, "d");
    let f = create(&mut ns, d, "f");
    ns.apply(commit_cmd(f, None, 1, ALICE)).unwrap();
    ns.check_invariants().unwrap();
    let corruptions: [fn(&mut Namespace, Ino, Ino); 9] = [
        |ns, d, _| ns.inodes.get_mut(&d).unwrap().attr.nlink = 3,
        |ns, _, f| ns.inodes.get_mut(&f).unwrap().attr.nlink = 2,
        |ns, _, f| ns.inodes.get_mut(&f).unwrap().attr.ino = 77,
        |ns, _, f| ns.inodes.get_mut(&f).unwrap().attr.kind = Kind::Fifo,
        |ns, d, _| ns.inodes.get_mut(&d).unwrap().links.clear(),
        |ns, _, _| ns.next_ino = 2,
        |ns, d, _| _ = entries_of(ns, d).insert("x".into(), 999),
        |ns, d, _| _ = entries_of(ns, d).insert("self".into(), d),
        |ns, d, _| _ = entries_of(ns, d).remove("f"),
    ];
    for (i, corrupt) in corruptions.into_iter().enumerate() {
        let mut bad = ns.clone();
        corrupt(&mut bad, d, f);
        assert!(
            bad.check_invariants().is_err(),
            "corruption {i} went unnoticed"
        );
    }
}

// ---- errors ----

#[test]
fn t20_notfound_missing_parent_entry_and_empty_symlink_target() {
    let mut ns = ns();
    fails(&mut ns, create_cmd(99, "a"), FsError::NotFound);
    fails(&mut ns, unlink_cmd(ROOT, "a"), FsError::NotFound);
    fails(&mut ns, symlink_cmd(ROOT, "l", ""), FsError::NotFound);
    assert_eq!(ns.resolve("/nope/x"), Err(FsError::NotFound));
}

#[test]
fn t20_exists_create_over_existing_name() {
    let mut ns = ns();
    create(&mut ns, ROOT, "a");
    fails(&mut ns, create_cmd(ROOT, "a"), FsError::Exists);
    fails(&mut ns, mkdir_cmd(ROOT, "a", 0o755, ALICE), FsError::Exists);
}

#[test]
fn t20_notempty_rmdir_and_rename_over_full_directory() {
    let mut ns = ns();
    let d = mkdir(&mut ns, ROOT, "d");
    create(&mut ns, d, "f");
    mkdir(&mut ns, ROOT, "e");
    fails(&mut ns, rmdir_cmd(ROOT, "d"), FsError::NotEmpty);
    fails(
        &mut ns,
        rename_cmd(ROOT, "e", ROOT, "d", REPLACE),
        FsError::NotEmpty,
    );
}

#[test]
fn t20_notdir_parent_is_a_file() {
    let mut ns = ns();
    let f = create(&mut ns, ROOT, "f");
    mkdir(&mut ns, ROOT, "d");
    fails(&mut ns, create_cmd(f, "a"), FsError::NotDir);
    fails(&mut ns, rmdir_cmd(ROOT, "f"), FsError::NotDir);
    fails(
        &mut ns,
        rename_cmd(ROOT, "d", ROOT, "f", REPLACE),
        FsError::NotDir,
    );
    assert_eq!(ns.resolve("/f/x"), Err(FsError::NotDir));
    assert_eq!(ns.readdir(f), Err(FsError::NotDir));
}

#[test]
fn t20_isdir_unlink_directory_and_truncate_directory() {
    let mut ns = ns();
    let d = mkdir(&mut ns, ROOT, "d");
    fails(&mut ns, unlink_cmd(ROOT, "d"), FsError::IsDir);
    fails(&mut ns, truncate_cmd(d, ALICE, 0), FsError::IsDir);
    create(&mut ns, ROOT, "f");
    fails(
        &mut ns,
        rename_cmd(ROOT, "f", ROOT, "d", REPLACE),
        FsError::IsDir,
    );
    fails(&mut ns, commit_cmd(d, None, 0, ALICE), FsError::IsDir);
}

#[test]
fn t20_invalid_names_flags_and_kinds() {
    let mut ns = ns();
    let d = mkdir(&mut ns, ROOT, "d");
    let l = attr(ns.apply(symlink_cmd(ROOT, "l", "d"))).ino;
    for bad in ["", ".", "..", "a/b", "a\0b"] {
        fails(&mut ns, create_cmd(ROOT, bad), FsError::Invalid);
    }
    fails(
        &mut ns,
        rename_cmd(
            ROOT,
            "d",
            ROOT,
            "e",
            RenameFlags {
                noreplace: true,
                exchange: true,
            },
        ),
        FsError::Invalid,
    );
    fails(
        &mut ns,
        rename_cmd(ROOT, "d", d, "e", REPLACE),
        FsError::Invalid,
    );
    fails(
        &mut ns,
        mknod_cmd(ROOT, "m", Kind::Dir, 0),
        FsError::Invalid,
    );
    fails(&mut ns, truncate_cmd(l, ALICE, 0), FsError::Invalid);
    fails(&mut ns, commit_cmd(l, None, 0, ALICE), FsError::Invalid);
    assert_eq!(ns.readlink(d), Err(FsError::Invalid));
    assert_eq!(ns.resolve("relative"), Err(FsError::Invalid));
}

#[test]
fn t20_nametoolong_256_byte_name() {
    let mut ns = ns();
    let long = "x".repeat(NAME_MAX + 1);
    fails(&mut ns, create_cmd(ROOT, &long), FsError::NameTooLong);
    create(&mut ns, ROOT, &"x".repeat(NAME_MAX));
    let target = "y".repeat(PATH_MAX + 1);
    fails(
        &mut ns,
        symlink_cmd(ROOT, "l", &target),
        FsError::NameTooLong,
    );
    assert_eq!(ns.resolve(&format!("/{long}")), Err(FsError::NameTooLong));
}

#[test]
fn t20_toomanylinks_link_and_mkdir_at_link_max() {
    let mut ns = ns();
    let f = create(&mut ns, ROOT, "f");
    let d = mkdir(&mut ns, ROOT, "d");
    // Building 65,000 real entries is slow; set the counts directly.
    ns.inodes.get_mut(&f).unwrap().attr.nlink = LINK_MAX;
    ns.inodes.get_mut(&d).unwrap().attr.nlink = LINK_MAX;
    fails_unchecked(&mut ns, link_cmd(f, ROOT, "g"), FsError::TooManyLinks);
    fails_unchecked(
        &mut ns,
        mkdir_cmd(d, "e", 0o755, ALICE),
        FsError::TooManyLinks,
    );
    let e = mkdir(&mut ns, ROOT, "e");
    fails_unchecked(
        &mut ns,
        rename_cmd(ROOT, "e", d, "e", REPLACE),
        FsError::TooManyLinks,
    );
    // A file may still be created in a full directory.
    create(&mut ns, d, "file");
    assert_eq!(ns.getattr(e).unwrap().nlink, 2);
}

/// [`fails`] for states whose link counts were forged.
fn fails_unchecked(ns: &mut Namespace, cmd: Command, err: FsError) {
    let before = ns.clone();
    assert_eq!(ns.apply(cmd), Err(err));
    assert_eq!(*ns, before);
}

#[test]
fn t20_loop_two_symlinks_pointing_at_each_other() {
    let mut ns = ns();
    ns.apply(symlink_cmd(ROOT, "a", "b")).unwrap();
    let b = attr(ns.apply(symlink_cmd(ROOT, "b", "/a"))).ino;
    assert_eq!(ns.resolve("/a"), Err(FsError::Loop));
    assert_eq!(ns.resolve("/b/x"), Err(FsError::Loop));
    assert_eq!(ns.resolve_nofollow("/b").unwrap(), b);
    // A chain of exactly SYMLOOP_MAX links still resolves.
    let f = create(&mut ns, ROOT, "l0");
    for i in 1..=SYMLOOP_MAX {
        ns.apply(symlink_cmd(ROOT, &format!("l{i}"), &format!("l{}", i - 1)))
            .unwrap();
    }
    assert_eq!(ns.resolve(&format!("/l{SYMLOOP_MAX}")).unwrap(), f);
    ns.apply(symlink_cmd(ROOT, "over", &format!("l{SYMLOOP_MAX}")))
        .unwrap();
    assert_eq!(ns.resolve("/over"), Err(FsError::Loop));
}

#[test]
fn t20_nodata_missing_xattr() {
    let mut ns = ns();
    let f = create(&mut ns, ROOT, "f");
    assert_eq!(ns.getxattr(f, "user.none"), Err(FsError::NoData));
    fails(
        &mut ns,
        Command::RemoveXattr {
            ino: f,
            name: "user.none".into(),
            now: t(9),
        },
        FsError::NoData,
    );
    fails(
        &mut ns,
        xattr_cmd(f, "user.none", vec![1], XattrMode::Replace),
        FsError::NoData,
    );
    ns.apply(xattr_cmd(f, "user.a", vec![], XattrMode::Any))
        .unwrap();
    fails(
        &mut ns,
        xattr_cmd(f, "user.a", vec![1], XattrMode::Create),
        FsError::Exists,
    );
    fails(
        &mut ns,
        xattr_cmd(f, "", vec![1], XattrMode::Any),
        FsError::Invalid,
    );
    fails(
        &mut ns,
        xattr_cmd(f, &"n".repeat(256), vec![1], XattrMode::Any),
        FsError::NameTooLong,
    );
}

#[test]
fn t20_toobig_xattr_value() {
    let mut ns = ns();
    let f = create(&mut ns, ROOT, "f");
    ns.apply(xattr_cmd(
        f,
        "user.max",
        vec![0; XATTR_SIZE_MAX],
        XattrMode::Any,
    ))
    .unwrap();
    fails(
        &mut ns,
        xattr_cmd(f, "user.big", vec![0; XATTR_SIZE_MAX + 1], XattrMode::Any),
        FsError::TooBig,
    );
}

#[test]
fn t20_notpermitted_chmod_chown_and_link_to_dir() {
    let mut ns = ns();
    let f = create(&mut ns, ROOT, "f");
    let d = mkdir(&mut ns, ROOT, "d");
    fails(&mut ns, chmod_cmd(f, BOB, 0o777), FsError::NotPermitted);
    fails(
        &mut ns,
        setattr_cmd(f, ALICE, None, Some(BOB.uid), None),
        FsError::NotPermitted,
    );
    fails(
        &mut ns,
        setattr_cmd(f, ALICE, None, None, Some(BOB.gid)),
        FsError::NotPermitted,
    );
    fails(
        &mut ns,
        setattr_cmd(f, BOB, None, None, Some(BOB.gid)),
        FsError::NotPermitted,
    );
    fails(&mut ns, link_cmd(d, ROOT, "d2"), FsError::NotPermitted);
    // The owner may keep its own uid and pick its own group.
    ns.apply(setattr_cmd(
        f,
        ALICE,
        None,
        Some(ALICE.uid),
        Some(ALICE.gid),
    ))
    .unwrap();
}

#[test]
fn t20_conflict_commit_on_stale_base() {
    let mut ns = ns();
    let f = create(&mut ns, ROOT, "f");
    fails(
        &mut ns,
        commit_cmd(f, Some(1), 0, ALICE),
        FsError::Conflict { head: None },
    );
    ns.apply(commit_cmd(f, None, 0, ALICE)).unwrap();
    ns.apply(commit_cmd(f, Some(1), 0, ALICE)).unwrap();
    fails(
        &mut ns,
        commit_cmd(f, Some(1), 0, ALICE),
        FsError::Conflict { head: Some(2) },
    );
}

#[test]
fn t10_a_batch_applies_in_order_and_each_command_stands_alone() {
    let mut n = ns();
    let c = Caller::ROOT;
    let mk = |name: &str| Command::Mkdir {
        parent: ROOT,
        name: name.into(),
        perm: 0o755,
        caller: c,
        now: t(5),
    };
    let r = n
        .apply(Command::Batch(vec![
            mk("a"),
            mk("a"),
            Command::Batch(vec![mk("x")]),
            mk("b"),
        ]))
        .unwrap();
    let Reply::Batch(results) = r else {
        panic!("{r:?}")
    };
    assert_eq!(results.len(), 4);
    assert!(matches!(results[0], Ok(Reply::Attr(_))));
    assert_eq!(results[1], Err(FsError::Exists));
    assert_eq!(results[2], Err(FsError::Invalid), "batches do not nest");
    assert!(matches!(results[3], Ok(Reply::Attr(_))));
    let names: Vec<String> = n
        .readdir(ROOT)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
    n.check_invariants().unwrap();
}
