//! POSIX conformance through a real mount (`--allow-other`, the kernel
//! checking permissions): chmod, chown, link, mkdir, mkfifo, mknod, open,
//! rename, rmdir, symlink, truncate, unlink and utimensat, as root and as
//! unprivileged users, modelled on pjdfstest's tests of the same calls and
//! on what Linux ext4 does. Each call runs in a child process with the
//! user's credentials (`common::posix`); tables name the call, the user
//! and the errno expected, then the state left behind is compared.

use crate::common;
use common::posix::{lstat, moved, times, ts, Fx, Op::*, Who, CREAT, G, NOW, RD, ROOT, U1, U2, WR};
use libc::{
    EACCES, EEXIST, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, ENOTEMPTY, ENXIO, EPERM,
    S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK,
};
use std::{fs, path::PathBuf};

mod owners;
#[path = "t90_conformance/times.rs"]
mod times_of_calls;

/// ENOENT, ENOTDIR, ENAMETOOLONG, ELOOP, EEXIST, EISDIR, ENOTEMPTY,
/// EINVAL, EPERM and ENXIO of every call, as root; nothing changes.
#[test]
fn t10_errors_of_paths_and_names() {
    let mut fx = Fx::new();
    for op in [
        Mkdir("d", 0o755),
        Mkdir("d/sub", 0o755),
        Mkdir("e", 0o755),
        Open("f", CREAT, 0o644),
        Mkfifo("fifo", 0o644),
        Mknod("sock", S_IFSOCK | 0o644, 0),
        Symlink("loop2", "loop1"),
        Symlink("loop1", "loop2"),
        Symlink("nowhere", "dangle"),
        Symlink("d", "dsym"),
    ] {
        fx.ok(ROOT, op);
    }
    let long = "x".repeat(256);
    let long_path = format!("d/{long}");
    let ln = long_path.as_str();
    let long_target = "t".repeat(4096);
    let table = [
        // chmod, chown
        (Chmod("nope", 0o600), ENOENT),
        (Chmod("nope/f", 0o600), ENOENT),
        (Chmod("f/x", 0o600), ENOTDIR),
        (Chmod(ln, 0o600), ENAMETOOLONG),
        (Chmod("loop1", 0o600), ELOOP),
        (Chmod("dangle", 0o600), ENOENT),
        (Chown("nope", 1, 1), ENOENT),
        (Chown("f/x", 1, 1), ENOTDIR),
        (Chown(ln, 1, 1), ENAMETOOLONG),
        (Chown("loop1", 1, 1), ELOOP),
        // link
        (Link("nope", "l"), ENOENT),
        (Link("f", "nope/l"), ENOENT),
        (Link("f", "f/l"), ENOTDIR),
        (Link("f/x", "l"), ENOTDIR),
        (Link("f", ln), ENAMETOOLONG),
        (Link("f", "e"), EEXIST),
        (Link("f", "dangle"), EEXIST),
        (Link("d", "l"), EPERM),
        (Link("loop1/x", "l"), ELOOP),
        // mkdir, mkfifo, mknod
        (Mkdir("nope/x", 0o755), ENOENT),
        (Mkdir("f/x", 0o755), ENOTDIR),
        (Mkdir(ln, 0o755), ENAMETOOLONG),
        (Mkdir("d", 0o755), EEXIST),
        (Mkdir("f", 0o755), EEXIST),
        (Mkdir("dangle", 0o755), EEXIST),
        (Mkdir("loop1/x", 0o755), ELOOP),
        (Mkfifo("nope/x", 0o644), ENOENT),
        (Mkfifo("f/x", 0o644), ENOTDIR),
        (Mkfifo(ln, 0o644), ENAMETOOLONG),
        (Mkfifo("fifo", 0o644), EEXIST),
        (Mkfifo("d", 0o644), EEXIST),
        (Mkfifo("loop1/x", 0o644), ELOOP),
        (Mknod("nope/x", S_IFIFO | 0o644, 0), ENOENT),
        (Mknod("f/x", S_IFCHR | 0o644, 0), ENOTDIR),
        (Mknod(ln, S_IFIFO | 0o644, 0), ENAMETOOLONG),
        (Mknod("sock", S_IFSOCK | 0o644, 0), EEXIST),
        (Mknod("x", S_IFDIR | 0o755, 0), EPERM),
        (Mknod("loop1/x", S_IFIFO | 0o644, 0), ELOOP),
        // open
        (Open("nope", RD, 0), ENOENT),
        (Open("nope/x", CREAT, 0o644), ENOENT),
        (Open("dangle", RD, 0), ENOENT),
        (Open("f/x", RD, 0), ENOTDIR),
        (Open("f/", RD, 0), ENOTDIR),
        (Open("f", RD | libc::O_DIRECTORY, 0), ENOTDIR),
        (Open(ln, CREAT, 0o644), ENAMETOOLONG),
        (Open("loop1", RD, 0), ELOOP),
        (Open("dsym", RD | libc::O_NOFOLLOW, 0), ELOOP),
        (Open("f", CREAT | libc::O_EXCL, 0o644), EEXIST),
        (Open("dangle", CREAT | libc::O_EXCL, 0o644), EEXIST),
        (Open("d", WR, 0), EISDIR),
        (Open("d", libc::O_RDWR, 0), EISDIR),
        (Open("d", CREAT, 0o644), EISDIR),
        (Open("fifo", WR | libc::O_NONBLOCK, 0), ENXIO),
        (Open("sock", RD, 0), ENXIO),
        // rename
        (Rename("nope", "x"), ENOENT),
        (Rename("f", "nope/x"), ENOENT),
        (Rename("f/x", "x"), ENOTDIR),
        (Rename("f", "f/x"), ENOTDIR),
        (Rename("f", ln), ENAMETOOLONG),
        (Rename("d", "d/sub/x"), EINVAL),
        (Rename("d", "d/x"), EINVAL),
        (Rename("f", "d"), EISDIR),
        (Rename("e", "f"), ENOTDIR),
        (Rename("e", "d"), ENOTEMPTY),
        (Rename("d/sub", "d"), ENOTEMPTY),
        (Rename("loop1/x", "x"), ELOOP),
        // rmdir
        (Rmdir("nope"), ENOENT),
        (Rmdir("f"), ENOTDIR),
        (Rmdir("f/x"), ENOTDIR),
        (Rmdir("dsym"), ENOTDIR),
        (Rmdir("d"), ENOTEMPTY),
        (Rmdir("d/."), EINVAL),
        (Rmdir("d/sub/.."), ENOTEMPTY),
        (Rmdir(ln), ENAMETOOLONG),
        (Rmdir("loop1/x"), ELOOP),
        // symlink
        (Symlink("t", "nope/x"), ENOENT),
        (Symlink("t", "f/x"), ENOTDIR),
        (Symlink("t", ln), ENAMETOOLONG),
        (Symlink(&long_target, "x"), ENAMETOOLONG),
        (Symlink("", "x"), ENOENT),
        (Symlink("t", "f"), EEXIST),
        (Symlink("t", "dangle"), EEXIST),
        (Symlink("t", "loop1/x"), ELOOP),
        // truncate
        (Truncate("nope", 0), ENOENT),
        (Truncate("f/x", 0), ENOTDIR),
        (Truncate(ln, 0), ENAMETOOLONG),
        (Truncate("loop1", 0), ELOOP),
        (Truncate("d", 0), EISDIR),
        (Truncate("f", -1), EINVAL),
        (Truncate("fifo", 0), EINVAL),
        // unlink
        (Unlink("nope"), ENOENT),
        (Unlink("f/x"), ENOTDIR),
        (Unlink(ln), ENAMETOOLONG),
        (Unlink("loop1/x"), ELOOP),
        (Unlink("d"), EISDIR),
        // utimensat
        (Utimens("nope", NOW, NOW, 0), ENOENT),
        (Utimens("f/x", NOW, NOW, 0), ENOTDIR),
        (Utimens(ln, NOW, NOW, 0), ENAMETOOLONG),
        (Utimens("loop1", NOW, NOW, 0), ELOOP),
        (Utimens("f", ts(0, 1_000_000_000), NOW, 0), EINVAL),
    ];
    let before = times(&fx.p("."));
    for (op, errno) in table {
        fx.expect(ROOT, op, errno);
    }
    // Nothing changed: the same entries, the same directory times.
    let mut names: Vec<String> = fs::read_dir(&fx.base)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    let want = [
        "d", "dangle", "dsym", "e", "f", "fifo", "loop1", "loop2", "sock",
    ];
    fx.c.eq(
        "entries after the failed calls",
        names,
        want.map(String::from).to_vec(),
    );
    let after = times(&fx.p("."));
    moved(
        &mut fx.c,
        "the directory after failed calls",
        before,
        after,
        false,
        false,
    );
    fx.mode_is("f", S_IFREG | 0o644);
    fx.finish();
}

/// What successful calls leave: kinds, modes after the umask, owners,
/// device numbers, link counts, symlink targets, sizes.
#[test]
fn t20_results_of_successful_calls() {
    let mut fx = Fx::new();
    let dev = libc::makedev(1, 3);
    for op in [
        Open("f755", CREAT, 0o755),
        Open("f151", CREAT, 0o151),
        OpenUmask("f077", CREAT, 0o151, 0o077),
        OpenUmask("f070", CREAT, 0o345, 0o070),
        OpenUmask("f501", CREAT, 0o345, 0o501),
        Mkdir("d", 0o755),
        Mkdir("sticky", 0o1777),
        Mkdir("sgid", 0o2755),
        Mkfifo("fifo", 0o640),
        Mknod("reg", S_IFREG | 0o600, 0),
        Mknod("chr", S_IFCHR | 0o644, dev),
        Mknod("blk", S_IFBLK | 0o644, dev),
        Mknod("sock", S_IFSOCK | 0o600, 0),
        Symlink("some/where", "sym"),
        Link("f755", "d/hard"),
        Chmod("f151", 0o7777),
        Chown("reg", 123, 456),
        Lchown("sym", 321, 654),
    ] {
        fx.expect(ROOT, op, 0);
    }
    fx.mode_is("f755", S_IFREG | 0o755);
    fx.mode_is("f151", S_IFREG | 0o7777);
    fx.mode_is("f077", S_IFREG | 0o100);
    fx.mode_is("f070", S_IFREG | 0o305);
    fx.mode_is("f501", S_IFREG | 0o244);
    fx.mode_is("d", S_IFDIR | 0o755);
    fx.mode_is("sticky", S_IFDIR | 0o1777);
    // mkdir takes permission and sticky bits only (Linux).
    fx.mode_is("sgid", S_IFDIR | 0o755);
    fx.mode_is("fifo", S_IFIFO | 0o640);
    fx.mode_is("reg", S_IFREG | 0o600);
    fx.mode_is("chr", S_IFCHR | 0o644);
    fx.mode_is("blk", S_IFBLK | 0o644);
    fx.mode_is("sock", S_IFSOCK | 0o600);
    fx.mode_is("sym", S_IFLNK | 0o777);
    for n in ["chr", "blk"] {
        let rdev = lstat(&fx.p(n)).map(|s| s.st_rdev);
        fx.c.eq(&format!("rdev of {n}"), rdev, Some(dev));
    }
    fx.owner_is("f755", (0, 0));
    fx.owner_is("reg", (123, 456));
    fx.owner_is("sym", (321, 654));
    let target = fs::read_link(fx.p("sym")).ok();
    fx.c.eq("symlink target", target, Some(PathBuf::from("some/where")));
    let sym = lstat(&fx.p("sym")).map(|s| s.st_size);
    fx.c.eq("symlink size", sym, Some(10));
    let (a, b) = (lstat(&fx.p("f755")), lstat(&fx.p("d/hard")));
    fx.c.eq(
        "hard link: one inode",
        a.map(|s| s.st_ino),
        b.map(|s| s.st_ino),
    );
    fx.c.eq("hard link: nlink", a.map(|s| s.st_nlink), Some(2));
    fx.c.eq(
        "nlink of a directory with one subdirectory",
        lstat(&fx.base).map(|s| s.st_nlink),
        Some(5),
    );

    // rename moves the inode; over an existing file it replaces it.
    let ino = a.map(|s| s.st_ino);
    fx.expect(ROOT, Rename("f755", "d/moved"), 0);
    fx.exists("f755", false);
    let moved_ino = lstat(&fx.p("d/moved")).map(|s| s.st_ino);
    fx.c.eq("renamed inode", moved_ino, ino);
    fx.expect(ROOT, Rename("f070", "d/moved"), 0);
    let hard = lstat(&fx.p("d/hard")).map(|s| s.st_nlink);
    fx.c.eq("nlink of a file renamed over", hard, Some(1));
    fx.expect(ROOT, Rename("d/hard", "d/hard"), 0);
    fx.exists("d/hard", true);
    // A directory moves with its ".." link.
    fx.expect(ROOT, Rename("sticky", "d/sticky"), 0);
    fx.c.eq(
        "nlink of the directory left",
        lstat(&fx.base).map(|s| s.st_nlink),
        Some(4),
    );
    fx.c.eq(
        "nlink of the directory entered",
        lstat(&fx.p("d")).map(|s| s.st_nlink),
        Some(3),
    );
    fx.expect(ROOT, Mkdir("empty", 0o700), 0);
    fx.expect(ROOT, Rename("d/sticky", "empty"), 0);
    fx.mode_is("empty", S_IFDIR | 0o1777);
    fx.expect(ROOT, Rmdir("empty"), 0);
    fx.exists("empty", false);
    fx.c.eq(
        "nlink after rmdir",
        lstat(&fx.p("d")).map(|s| s.st_nlink),
        Some(2),
    );
    fx.expect(ROOT, Unlink("d/hard"), 0);
    fx.exists("d/hard", false);

    // Boundaries: a 255-byte name, a 4095-byte symlink target.
    let (name255, target4095) = ("n".repeat(255), "t".repeat(4095));
    fx.expect(ROOT, Mkdir(&name255, 0o755), 0);
    fx.expect(ROOT, Symlink(&target4095, "longsym"), 0);
    let target = fs::read_link(fx.p("longsym")).ok();
    fx.c.eq("4095-byte target", target, Some(PathBuf::from(&target4095)));
    // link(2) links a symlink itself; chmod follows it, lchown does not.
    fx.expect(ROOT, Link("sym", "sym2"), 0);
    fx.mode_is("sym2", S_IFLNK | 0o777);
    fx.c.eq(
        "nlink of a linked symlink",
        lstat(&fx.p("sym")).map(|s| s.st_nlink),
        Some(2),
    );
    fx.expect(ROOT, Symlink("reg", "to_reg"), 0);
    fx.expect(ROOT, Chmod("to_reg", 0o640), 0);
    fx.mode_is("reg", S_IFREG | 0o640);
    // rename between two links of one inode does nothing.
    fx.expect(ROOT, Rename("sym", "sym2"), 0);
    fx.exists("sym", true);
    fx.exists("sym2", true);
    // O_CREAT through a dangling symlink creates its target; unlink of a
    // symlink removes the link only; mkdir takes a trailing slash.
    fx.expect(ROOT, Symlink("nowhere", "dangle"), 0);
    fx.expect(ROOT, Open("dangle", CREAT, 0o600), 0);
    fx.mode_is("nowhere", S_IFREG | 0o600);
    fx.expect(ROOT, Symlink("d", "dsym"), 0);
    fx.expect(ROOT, Unlink("dsym"), 0);
    fx.exists("dsym", false);
    fx.exists("d", true);
    fx.expect(ROOT, Mkdir("slash/", 0o700), 0);
    fx.mode_is("slash", S_IFDIR | 0o700);
    // renameat2: RENAME_NOREPLACE refuses an existing target,
    // RENAME_EXCHANGE swaps two entries (a file and a directory here).
    let (noreplace, exchange) = (libc::RENAME_NOREPLACE, libc::RENAME_EXCHANGE);
    fx.expect(ROOT, Rename2("reg", "f151", noreplace), EEXIST);
    fx.expect(ROOT, Rename2("reg", "nope", exchange), ENOENT);
    fx.expect(ROOT, Rename2("reg", "d", noreplace | exchange), EINVAL);
    fx.expect(ROOT, Rename2("reg", "f151", exchange), 0);
    fx.mode_is("reg", S_IFREG | 0o7777);
    fx.expect(ROOT, Rename2("reg", "slash", exchange), 0);
    fx.mode_is("reg", S_IFDIR | 0o700);
    fx.mode_is("slash", S_IFREG | 0o7777);
    fx.expect(ROOT, Rename2("slash", "reg", exchange), 0);
    fx.expect(ROOT, Rename2("reg", "f151", exchange), 0);
    fx.expect(ROOT, Rename2("reg", "renamed", noreplace), 0);
    fx.expect(ROOT, Rename("renamed", "reg"), 0);
    // A fifo opens for reading without a writer when non-blocking.
    fx.expect(ROOT, Open("fifo", RD | libc::O_NONBLOCK, 0), 0);

    // truncate grows with zeros and shrinks.
    fx.expect(ROOT, Truncate("reg", 12345), 0);
    let size = lstat(&fx.p("reg")).map(|s| s.st_size);
    fx.c.eq("size after growing", size, Some(12345));
    let bytes = fs::read(fx.p("reg")).unwrap_or_default();
    fx.c.that(
        "grown bytes are zeros",
        bytes.len() == 12345 && bytes.iter().all(|&b| b == 0),
    );
    fx.expect(ROOT, Truncate("reg", 7), 0);
    let size = lstat(&fx.p("reg")).map(|s| s.st_size);
    fx.c.eq("size after shrinking", size, Some(7));
    fx.finish();
}

/// Search and write permission (EACCES), ownership rules (EPERM) and
/// what unprivileged users may do; refused calls change nothing.
#[test]
fn t30_permissions_of_unprivileged_users() {
    let mut fx = Fx::new();
    for op in [
        Mkdir("priv", 0o755),
        Open("priv/f", CREAT, 0o644),
        Mkdir("priv/sub", 0o755),
        Mkdir("nox", 0o755),
        Open("nox/f", CREAT, 0o666),
        Chmod("nox", 0o666),
        Open("ro", CREAT, 0o644),
        Open("rw", CREAT, 0o666),
        Open("none", CREAT, 0o000),
        Mkdir("pub", 0o777),
        Mkdir("rdir", 0o755),
    ] {
        fx.ok(ROOT, op);
    }
    fx.ok(U1, Open("mine", CREAT, 0o644));
    // Group permission: a directory for group G only, and a file whose
    // group (U1's) may not read although others may.
    fx.ok(ROOT, Mkdir("grp", 0o770));
    fx.ok(ROOT, Chown("grp", 0, G as i64));
    fx.ok(ROOT, Open("others_only", CREAT, 0o604));
    fx.ok(ROOT, Chown("others_only", 0, 65534));
    let member = Who {
        uid: 65533,
        gid: 65533,
        groups: &[G],
    };
    fx.expect(member, Mkdir("grp/m", 0o755), 0);
    fx.expect(U2, Mkdir("grp/x", 0o755), EACCES);
    fx.expect(U2, Open("others_only", RD, 0), 0);
    fx.expect(U1, Open("others_only", RD, 0), EACCES);
    fx.owner_is("grp/m", (65533, 65533));
    let table = [
        // No search permission on a directory of the path.
        (Lstat("nox/f"), EACCES),
        (Chmod("nox/f", 0o600), EACCES),
        (Chown("nox/f", -1, -1), EACCES),
        (Link("nox/f", "pub/l"), EACCES),
        (Link("mine", "nox/l"), EACCES),
        (Mkdir("nox/x", 0o755), EACCES),
        (Mkfifo("nox/x", 0o644), EACCES),
        (Mknod("nox/x", S_IFIFO | 0o644, 0), EACCES),
        (Open("nox/f", RD, 0), EACCES),
        (Rename("nox/f", "pub/x"), EACCES),
        (Rmdir("nox/x"), EACCES),
        (Symlink("t", "nox/x"), EACCES),
        (Truncate("nox/f", 0), EACCES),
        (Unlink("nox/f"), EACCES),
        (Utimens("nox/f", NOW, NOW, 0), EACCES),
        // No write permission on the directory.
        (Mkdir("priv/x", 0o755), EACCES),
        (Mkfifo("priv/x", 0o644), EACCES),
        (Mknod("priv/x", S_IFIFO | 0o644, 0), EACCES),
        (Open("priv/x", CREAT, 0o644), EACCES),
        (Symlink("t", "priv/x"), EACCES),
        (Link("mine", "priv/x"), EACCES),
        (Unlink("priv/f"), EACCES),
        (Rename("priv/f", "pub/f"), EACCES),
        (Rename("mine", "priv/mine"), EACCES),
        (Rmdir("priv/sub"), EACCES),
        // Moving a directory to another parent rewrites its "..".
        (Rename("rdir", "pub/rdir"), EACCES),
        // No permission on the file.
        (Open("ro", WR, 0), EACCES),
        (Open("ro", libc::O_RDWR, 0), EACCES),
        (Open("ro", RD | libc::O_TRUNC, 0), EACCES),
        (Open("none", RD, 0), EACCES),
        (Truncate("ro", 0), EACCES),
        (Open("ro", RD, 0), 0),
        (Open("priv/f", RD, 0), 0),
        // access(2) asks the same questions.
        (Access("nox/f", libc::F_OK), EACCES),
        (Access("ro", libc::W_OK), EACCES),
        (Access("none", libc::R_OK), EACCES),
        (Access("ro", libc::R_OK), 0),
        (Access("rw", libc::R_OK | libc::W_OK), 0),
        (Access("rw", libc::X_OK), EACCES),
        // Ownership.
        (Chmod("ro", 0o666), EPERM),
        (Chown("ro", 65534, -1), EPERM),
        (Chown("ro", -1, 65534), EPERM),
        (Lchown("ro", 65534, 65534), EPERM),
        (Chown("mine", 65533, -1), EPERM),
        (Chown("mine", -1, 0), EPERM),
        (Chown("ro", -1, -1), 0),
        (Chown("mine", 65534, 65534), 0),
        (Chmod("mine", 0o600), 0),
        // Devices need privilege; fifos and sockets do not.
        (Mknod("pub/c", S_IFCHR | 0o644, libc::makedev(1, 3)), EPERM),
        (Mknod("pub/b", S_IFBLK | 0o644, libc::makedev(1, 3)), EPERM),
        (Mknod("pub/p", S_IFIFO | 0o644, 0), 0),
        (Mknod("pub/s", S_IFSOCK | 0o644, 0), 0),
        // Hard links to others' files need read and write access
        // (fs.protected_hardlinks, as on ext4).
        (Link("ro", "pub/l"), EPERM),
        (Link("rw", "pub/l2"), 0),
        (Link("mine", "pub/l3"), 0),
        // A directory renamed within its parent keeps its "..".
        (Rename("rdir", "rdir2"), 0),
        // The owner too needs write permission on the file's mode...
        (Chmod("mine", 0o444), 0),
        (Open("mine", WR, 0), EACCES),
        (Truncate("mine", 1), EACCES),
        (Open("ro", CREAT, 0o644), EACCES),
        // ...but a file created read-only is writable through that open.
        (OpenWrite("pub/new444", CREAT | libc::O_EXCL, 0o444), 0),
        (Chmod("mine", 0o600), 0),
        // Others with write permission may truncate and write.
        (Open("rw", WR | libc::O_TRUNC, 0), 0),
        (Truncate("rw", 3), 0),
        (OpenWrite("rw", WR | libc::O_APPEND, 0), 0),
    ];
    for (op, errno) in table {
        fx.expect(U1, op, errno);
    }
    fx.mode_is("ro", S_IFREG | 0o644);
    fx.owner_is("ro", (0, 0));
    fx.mode_is("mine", S_IFREG | 0o600);
    fx.owner_is("mine", (65534, 65534));
    fx.mode_is("pub/new444", S_IFREG | 0o444);
    let new444 = fs::read(fx.p("pub/new444")).ok();
    fx.c.eq(
        "bytes written through the creating open",
        new444,
        Some(b"x".to_vec()),
    );
    for rel in [
        "priv/f", "priv/sub", "nox/f", "rdir2", "pub/p", "pub/s", "pub/l2",
    ] {
        fx.exists(rel, true);
    }
    for rel in [
        "priv/x",
        "priv/mine",
        "pub/f",
        "pub/x",
        "pub/c",
        "pub/l",
        "rdir",
    ] {
        fx.exists(rel, false);
    }
    let sizes = ["ro", "rw"].map(|n| lstat(&fx.p(n)).map(|s| s.st_size));
    fx.c.eq(
        "sizes after refused and allowed truncates",
        sizes,
        [Some(0), Some(4)],
    );
    // Root passes every permission check.
    for op in [
        Open("none", libc::O_RDWR, 0),
        Open("nox/f", RD, 0),
        Unlink("priv/f"),
        Chown("mine", 1, 2),
    ] {
        fx.expect(ROOT, op, 0);
    }
    fx.finish();
}
