//! The read-only history tree, `MOUNT/.fragfs/history/<path>/`, through
//! real mounts: one entry per version named `<n>@<RFC 3339 time>` holding
//! that version's bytes, directories nested as in the namespace, a version
//! committed on another node listed too; `.fragfs` reachable by path but
//! never listed in the root (nor walked by `ls -a`, `find`, `du`); every
//! change inside it refused with `EROFS`. (`write`, `fallocate` and
//! `copy_file_range` into the tree need a descriptor open for writing,
//! which no open there gives: the kernel refuses them with `EBADF` first.)

use crate::common;
use common::*;
use std::{
    ffi::CString,
    fs,
    io::{Read, Write},
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// A named system call returning its result.
type Call<'a> = Box<dyn Fn() -> i64 + 'a>;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Writes `data` to `p` as a new version: open (truncating), write, close.
fn save(p: &Path, data: &[u8]) {
    let mut f = fs::File::create(p).unwrap_or_else(|e| panic!("create {}: {e}", p.display()));
    f.write_all(data).expect("write");
    drop(f);
}

/// Seconds since the epoch of an RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SSZ`
/// (its exact shape checked here, its value by `date`).
fn rfc3339_secs(t: &str) -> u64 {
    let b = t.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    assert!(
        b.len() == 20
            && digits.iter().all(|&i| b[i].is_ascii_digit())
            && &t[4..5] == "-"
            && &t[7..8] == "-"
            && &t[10..11] == "T"
            && &t[13..14] == ":"
            && &t[16..17] == ":"
            && t.ends_with('Z'),
        "{t:?} is an RFC 3339 UTC time with seconds"
    );
    let out = Command::new("date")
        .args(["-u", "+%s", "-d", t])
        .output()
        .expect("run date");
    assert!(out.status.success(), "date parses {t}");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("seconds")
}

/// The history entries of file `rel` in mount `m`: (number, time, name),
/// in number order; checks their names' form.
fn versions(m: &Mount, rel: &str) -> Vec<(u64, u64, String)> {
    let mut v: Vec<(u64, u64, String)> = names(&m.path(&format!(".fragfs/history/{rel}")))
        .into_iter()
        .map(|n| {
            let (num, time) = n.split_once('@').unwrap_or_else(|| panic!("{n:?} has '@'"));
            let num = num
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{n:?} starts with a number"));
            (num, rfc3339_secs(time), n)
        })
        .collect();
    v.sort();
    v
}

/// Checks the three versions of `rel` against what was written.
fn check_versions(m: &Mount, rel: &str, written: &[Vec<u8>], (from, to): (u64, u64)) {
    let v = versions(m, rel);
    let numbers: Vec<u64> = v.iter().map(|x| x.0).collect();
    assert_eq!(numbers, [1, 2, 3], "{rel}: one entry per version");
    let mut last = 0;
    for ((_, secs, name), want) in v.iter().zip(written) {
        assert!(
            (from..=to).contains(secs) && *secs >= last,
            "{name}: time within the test and in order"
        );
        last = *secs;
        let p = m.path(&format!(".fragfs/history/{rel}/{name}"));
        let got = fs::read(&p).unwrap_or_else(|e| panic!("read {name}: {e}"));
        assert!(got == *want, "{rel}/{name} holds the bytes of that version");
        let md = fs::metadata(&p).expect("stat version");
        assert!(md.is_file(), "a version is a regular file");
        assert_eq!(md.len(), want.len() as u64, "{name}: size of that version");
        assert_eq!(md.mode() & 0o7777, 0o444, "{name}: read-only");
        assert_eq!(md.mtime() as u64, *secs, "{name}: mtime is its time");
    }
}

#[test]
fn t10_each_version_is_listed_and_reads_back_its_bytes() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    fs::create_dir_all(m.path("d/e")).expect("nested dirs");
    let from = now_secs();
    let big: Vec<Vec<u8>> = vec![
        random(5 * MIB / 2),
        random(5 * MIB / 2),
        random(3 * MIB / 2 + 7),
    ];
    let small: Vec<Vec<u8>> = vec![b"one\n".to_vec(), b"two, longer\n".to_vec(), Vec::new()];
    for (b, s) in big.iter().zip(&small) {
        save(&m.path("d/e/big.bin"), b);
        save(&m.path("d/small.txt"), s);
    }
    let to = now_secs();
    check_versions(&m, "d/e/big.bin", &big, (from, to));
    check_versions(&m, "d/small.txt", &small, (from, to));

    // Directories list their subdirectories and files, each a directory.
    assert_eq!(names(&m.path(".fragfs")), ["history"]);
    assert_eq!(names(&m.path(".fragfs/history")), ["d"]);
    assert_eq!(names(&m.path(".fragfs/history/d")), ["e", "small.txt"]);
    assert_eq!(names(&m.path(".fragfs/history/d/e")), ["big.bin"]);
    for dir in [
        ".fragfs",
        ".fragfs/history/d/e",
        ".fragfs/history/d/e/big.bin",
    ] {
        assert!(m.path(dir).is_dir(), "{dir} is a directory");
    }
    // A name that is no version, or a version with the wrong time, is not there.
    let (_, _, first) = &versions(&m, "d/small.txt")[0];
    let wrong = first.replace("1@", "4@");
    assert!(!m
        .path(&format!(".fragfs/history/d/small.txt/{wrong}"))
        .exists());
    assert!(!m
        .path(".fragfs/history/d/small.txt/1@2001-01-01T00:00:00Z")
        .exists());
    // The head is unchanged by reading the history.
    assert!(fs::read(m.path("d/e/big.bin")).expect("head") == big[2]);
}

/// Rewrites `p` with `data` through one open (`O_TRUNC`) and one close,
/// starting a child process once half is written: the child's copy of the
/// descriptor is closed at its exec (a flush from another process).
fn save_with_child_midway(p: &Path, data: &[u8]) {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(p)
        .unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
    let (head, tail) = data.split_at(data.len() / 2);
    f.write_all(head).expect("write the first half");
    let st = Command::new("true").status().expect("run a child");
    assert!(st.success());
    f.write_all(tail).expect("write the second half");
    drop(f);
}

#[test]
fn t15_each_rewrite_commits_one_version() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let p = m.path("r.bin");
    // Boundary sizes around the fragment size (1 MiB) and several
    // fragments; no two empty ones in a row (rewriting an empty file with
    // nothing changes nothing and commits nothing).
    let sizes = [1, 0, MIB - 1, MIB, 0, MIB + 1, 5 * MIB / 2, 5 * MIB / 2, 1];
    let mut written = Vec::new();
    for (n, &size) in sizes.iter().enumerate() {
        let data = random(size);
        match n % 3 {
            0 => fs::write(&p, &data).expect("std::fs::write"),
            1 => save(&p, &data),
            _ => save_with_child_midway(&p, &data),
        }
        let v = versions(&m, "r.bin");
        assert_eq!(
            v.len(),
            n + 1,
            "{} rewrite(s), the last of {size} bytes: one version each",
            n + 1
        );
        written.push(data);
    }
    for ((_, _, name), want) in versions(&m, "r.bin").iter().zip(&written) {
        let got = fs::read(m.path(&format!(".fragfs/history/r.bin/{name}"))).expect("version");
        assert!(got == *want, "{name} holds the bytes of its rewrite");
    }
}

#[test]
fn t20_fragfs_is_reachable_but_never_listed_or_walked() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    save(&m.path("f"), b"content");
    let md = fs::metadata(m.path(".fragfs")).expect("stat .fragfs");
    assert!(md.is_dir());
    assert_eq!(names(&m.path(".fragfs/history")), ["f"]);
    // A real entry of that name (made outside the mount) is shadowed and
    // not listed either.
    let st = Command::new(fragfs_bin())
        .arg("--data")
        .arg(d.data.path())
        .args(["mkdir", "/.fragfs"])
        .status()
        .expect("fragfs mkdir");
    assert!(st.success(), "fragfs mkdir /.fragfs: {st}");
    assert_eq!(names(&m.mnt), ["f"], "read_dir of the root");
    let ls = Command::new("ls")
        .arg("-a")
        .arg(&m.mnt)
        .output()
        .expect("ls");
    let ls = String::from_utf8_lossy(&ls.stdout);
    assert_eq!(ls.split_whitespace().collect::<Vec<_>>(), [".", "..", "f"]);
    for tool in [&["find"][..], &["du", "-a"][..]] {
        let out = Command::new(tool[0])
            .args(&tool[1..])
            .arg(&m.mnt)
            .output()
            .expect("run tool");
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("/f"), "{tool:?} walks the mount: {out}");
        assert!(
            !out.contains(".fragfs"),
            "{tool:?} does not walk .fragfs: {out}"
        );
    }
    assert_eq!(
        names(&m.path(".fragfs")),
        ["history"],
        "the tree, not the real dir"
    );
    let e = fs::create_dir(m.path(".fragfs")).expect_err("mkdir .fragfs");
    assert_eq!(e.raw_os_error(), Some(libc::EEXIST));
}

fn c(p: &Path) -> CString {
    cstr(p)
}

/// The errno of a libc call returning -1 on failure; 0 on success.
fn errno_of(rc: i64) -> i32 {
    match rc {
        -1 => std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        _ => 0,
    }
}

fn erofs<T: std::fmt::Debug>(what: &str, r: std::io::Result<T>) {
    match r {
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{what}: {e}"),
        Ok(v) => panic!("{what} succeeded: {v:?}"),
    }
}

#[test]
fn t30_every_change_in_the_tree_fails_with_erofs() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let data = random(100_000);
    save(&m.path("f"), &data);
    let dir = m.path(".fragfs/history/f");
    let (_, _, name) = versions(&m, "f").remove(0);
    let v: PathBuf = dir.join(&name);
    let top = m.path(".fragfs/history");
    let open = |flags: i32| {
        fs::OpenOptions::new()
            .read(flags & libc::O_ACCMODE != libc::O_WRONLY)
            .write(flags & libc::O_ACCMODE != libc::O_RDONLY)
            .custom_flags(flags & libc::O_TRUNC)
            .open(&v)
    };
    erofs("open O_WRONLY", open(libc::O_WRONLY));
    erofs("open O_RDWR", open(libc::O_RDWR));
    erofs(
        "open O_RDONLY|O_TRUNC",
        open(libc::O_RDONLY | libc::O_TRUNC),
    );
    erofs("create", fs::File::create(dir.join("new")));
    erofs("create in history", fs::File::create(top.join("new")));
    erofs("mkdir", fs::create_dir(dir.join("x")));
    erofs("mkdir in .fragfs", fs::create_dir(m.path(".fragfs/x")));
    erofs("unlink", fs::remove_file(&v));
    erofs("rmdir", fs::remove_dir(&dir));
    erofs("rmdir .fragfs", fs::remove_dir(m.path(".fragfs")));
    erofs("rename out", fs::rename(&v, m.path("g")));
    erofs("rename in", fs::rename(m.path("f"), dir.join("g")));
    erofs("rename .fragfs", fs::rename(m.path(".fragfs"), m.path("h")));
    erofs("link out", fs::hard_link(&v, m.path("l")));
    erofs("link in", fs::hard_link(m.path("f"), dir.join("l")));
    erofs("symlink", std::os::unix::fs::symlink("f", dir.join("s")));
    erofs(
        "chmod",
        fs::set_permissions(&v, std::os::unix::fs::PermissionsExt::from_mode(0o644)),
    );
    erofs(
        "chmod a directory",
        fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)),
    );
    let calls: [(&str, Call<'_>); 6] = [
        // SAFETY (all): libc calls on NUL-terminated paths that live
        // through the call, with plain integer or null arguments.
        (
            "mknod",
            Box::new(|| unsafe {
                libc::mknod(c(&dir.join("p")).as_ptr(), libc::S_IFIFO | 0o644, 0).into()
            }),
        ),
        (
            "truncate",
            Box::new(|| unsafe { libc::truncate(c(&v).as_ptr(), 0).into() }),
        ),
        (
            "utimes",
            Box::new(|| unsafe {
                libc::utimensat(libc::AT_FDCWD, c(&v).as_ptr(), std::ptr::null(), 0).into()
            }),
        ),
        (
            "chown",
            Box::new(|| unsafe { libc::chown(c(&v).as_ptr(), 1, 1).into() }),
        ),
        (
            "setxattr",
            Box::new(|| unsafe {
                let (n, val) = (CString::new("user.x").unwrap(), b"1");
                libc::setxattr(c(&v).as_ptr(), n.as_ptr(), val.as_ptr().cast(), 1, 0).into()
            }),
        ),
        (
            "removexattr",
            Box::new(|| unsafe {
                let n = CString::new("user.x").unwrap();
                libc::removexattr(c(&v).as_ptr(), n.as_ptr()).into()
            }),
        ),
    ];
    for (what, call) in calls {
        assert_eq!(errno_of(call()), libc::EROFS, "{what}");
    }
    // Reading works like on a read-only filesystem.
    let mut f = fs::File::open(&v).expect("open for reading");
    // Locks would be namespace writes on an inode it does not have.
    // SAFETY: flock(2) on a descriptor this test holds open.
    let rc = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_SH) };
    assert_eq!(errno_of(rc.into()), libc::ENOLCK, "flock in the tree");
    let mut got = Vec::new();
    f.read_to_end(&mut got).expect("read");
    assert!(got == data, "the version reads back");
    // SAFETY: as above; listxattr with a null buffer asks for the size.
    let size = unsafe { libc::listxattr(c(&v).as_ptr(), std::ptr::null_mut(), 0) };
    assert_eq!(size, 0, "no extended attributes");
    let n = CString::new("user.x").unwrap();
    // SAFETY: as above; a null buffer of size 0 asks for the size.
    let rc = unsafe { libc::getxattr(c(&v).as_ptr(), n.as_ptr(), std::ptr::null_mut(), 0) };
    assert_eq!(errno_of(rc as i64), libc::ENODATA);
    assert_eq!(
        fs::read_link(&v).expect_err("readlink").raw_os_error(),
        Some(libc::EINVAL)
    );
    // Nothing changed: the file, its one version, the tree.
    assert!(fs::read(m.path("f")).expect("f") == data);
    assert_eq!(names(&dir), [name]);
    assert_eq!(names(&m.mnt), ["f"]);
}

#[test]
fn t40_a_version_written_on_another_node_appears() {
    let (da, db) = (Dirs::new(), Dirs::new());
    let (a, b) = Mount::start_pair(&da, &db, &[]);
    let first = random(3 * MIB / 2);
    save(&a.path("shared.bin"), &first);
    assert!(
        wait_until(Duration::from_secs(20), || {
            fs::read(b.path("shared.bin")).is_ok_and(|d| d == first)
        }),
        "b reads a's version"
    );
    let second = random(MIB / 3);
    save(&b.path("shared.bin"), &second);
    let listed = wait_until(Duration::from_secs(20), || {
        fs::read_dir(a.path(".fragfs/history/shared.bin")).is_ok_and(|rd| rd.count() == 2)
    });
    assert!(listed, "a lists the version b committed");
    let v = versions(&a, "shared.bin");
    for ((n, _, name), want) in v.iter().zip([&first, &second]) {
        let got = fs::read(a.path(&format!(".fragfs/history/shared.bin/{name}")))
            .unwrap_or_else(|e| panic!("read version {n} on a: {e}"));
        assert!(got == *want, "version {n} on a holds what was written");
    }
}
