//! The mount end to end: a real `fragfs-mountd` process, a real FUSE mount,
//! plain `std::fs` calls against it.

use crate::common;
use common::*;
use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
    thread::sleep,
    time::{Duration, Instant},
};

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    v.sort();
    v
}

#[test]
fn t10_files_of_boundary_sizes_read_back_byte_for_byte() {
    let mut m = Mount::start_owned(&["--capacity", "64M"]);
    let sizes = [0, 1, MIB - 1, MIB, MIB + 1, 3 * MIB + 5];
    let mut written = Vec::new();
    for size in sizes {
        let data = random(size);
        let p = m.path(&format!("f{size}"));
        fs::write(&p, &data).unwrap_or_else(|e| panic!("write {size}: {e}"));
        written.push((p, data));
    }
    for (p, data) in &written {
        let back = fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
        assert_eq!(back.len(), data.len(), "{}", p.display());
        assert!(back == *data, "{}: bytes differ", p.display());
        assert_eq!(fs::metadata(p).expect("stat").len(), data.len() as u64);
    }
    // statfs reports the node's store: its capacity (--capacity) and what
    // the files above took of it.
    let vfs = statvfs(&m.mnt);
    let total = vfs.f_blocks * vfs.f_frsize;
    let free = vfs.f_bfree * vfs.f_frsize;
    let stored: u64 = sizes.iter().map(|&s| s as u64).sum();
    assert_eq!(total, 64 << 20, "capacity");
    assert!(
        total - free >= stored,
        "used {} < stored {stored}",
        total - free
    );

    let mut want: Vec<String> = sizes.iter().map(|s| format!("f{s}")).collect();
    want.sort();
    assert_eq!(names(&m.mnt), want);
    assert!(m.terminate(), "fragfs-mountd stops on SIGTERM");
    assert!(!is_mounted(&m.mnt), "unmounted after SIGTERM");
}

#[test]
fn t20_namespace_operations() {
    let m = Mount::start_owned(&[]);
    // mkdir -p of a deep tree.
    let deep = m.path("a/b/c/d/e/f/g/h");
    fs::create_dir_all(&deep).expect("mkdir -p");
    assert!(fs::metadata(&deep).expect("stat deep").is_dir());
    assert_eq!(names(&m.path("a/b/c")), vec!["d".to_string()]);

    // rename a file over another: the target takes the source's bytes.
    let (x, y) = (m.path("a/x"), m.path("a/y"));
    fs::write(&x, b"the x bytes").expect("write x");
    fs::write(&y, b"the y bytes, longer").expect("write y");
    fs::rename(&x, &y).expect("rename over");
    assert_eq!(fs::read(&y).expect("read y"), b"the x bytes");
    assert!(fs::metadata(&x).is_err(), "x is gone");
    assert_eq!(names(&m.path("a")), vec!["b".to_string(), "y".to_string()]);

    // unlink.
    fs::remove_file(&y).expect("unlink");
    assert_eq!(
        fs::metadata(&y).expect_err("y gone").raw_os_error(),
        Some(libc::ENOENT)
    );
    assert_eq!(names(&m.path("a")), vec!["b".to_string()]);

    // rmdir: refused on a non-empty directory, then done bottom-up.
    assert_eq!(
        fs::remove_dir(m.path("a/b/c/d/e/f/g"))
            .expect_err("not empty")
            .raw_os_error(),
        Some(libc::ENOTEMPTY)
    );
    fs::remove_dir(&deep).expect("rmdir h");
    assert_eq!(names(&m.path("a/b/c/d/e/f/g")), Vec::<String>::new());
    fs::remove_dir(m.path("a/b/c/d/e/f/g")).expect("rmdir g");
    assert_eq!(names(&m.path("a/b/c/d/e/f")), Vec::<String>::new());

    // symlink + readlink, and following it.
    fs::write(m.path("target.txt"), b"pointed at").expect("write target");
    std::os::unix::fs::symlink("target.txt", m.path("link")).expect("symlink");
    assert_eq!(
        fs::read_link(m.path("link")).expect("readlink"),
        PathBuf::from("target.txt")
    );
    assert!(fs::symlink_metadata(m.path("link"))
        .expect("lstat")
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read(m.path("link")).expect("read through link"),
        b"pointed at"
    );

    // chmod is seen by stat.
    fs::set_permissions(m.path("target.txt"), fs::Permissions::from_mode(0o600)).expect("chmod");
    assert_eq!(
        fs::metadata(m.path("target.txt"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o600
    );
    fs::set_permissions(m.path("a"), fs::Permissions::from_mode(0o751)).expect("chmod dir");
    assert_eq!(
        fs::metadata(m.path("a"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o751
    );

    // hard link: same bytes, two links.
    fs::hard_link(m.path("target.txt"), m.path("hard")).expect("link");
    assert_eq!(
        fs::read(m.path("hard")).expect("read hard link"),
        b"pointed at"
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(m.path("hard")).expect("stat").nlink(), 2);

    // rename with RENAME_NOREPLACE refuses to replace; RENAME_EXCHANGE swaps.
    fs::write(m.path("p"), b"P").expect("write p");
    fs::write(m.path("q"), b"Q").expect("write q");
    let (cp, cq) = (cstr(&m.path("p")), cstr(&m.path("q")));
    // SAFETY: valid NUL-terminated paths, AT_FDCWD directories.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            cp.as_ptr(),
            libc::AT_FDCWD,
            cq.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    assert_eq!(
        (rc, std::io::Error::last_os_error().raw_os_error()),
        (-1, Some(libc::EEXIST))
    );
    // SAFETY: as above.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            cp.as_ptr(),
            libc::AT_FDCWD,
            cq.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    assert_eq!(rc, 0, "exchange: {}", std::io::Error::last_os_error());
    assert_eq!(
        (
            fs::read(m.path("p")).expect("p"),
            fs::read(m.path("q")).expect("q")
        ),
        (b"Q".to_vec(), b"P".to_vec())
    );
    fs::remove_file(m.path("p")).expect("rm p");
    fs::remove_file(m.path("q")).expect("rm q");

    // A fifo made with mknod.
    let fifo = cstr(&m.path("pipe"));
    // SAFETY: valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(fifo.as_ptr(), 0o640) },
        0,
        "mkfifo: {}",
        std::io::Error::last_os_error()
    );
    use std::os::unix::fs::FileTypeExt;
    let meta = fs::symlink_metadata(m.path("pipe")).expect("stat fifo");
    assert!(meta.file_type().is_fifo());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    fs::remove_file(m.path("pipe")).expect("rm fifo");

    // A file written and unlinked while open: close still succeeds.
    {
        use std::io::Write;
        let mut f = fs::File::create(m.path("scratch")).expect("create scratch");
        f.write_all(b"soon gone").expect("write scratch");
        fs::remove_file(m.path("scratch")).expect("unlink while open");
        f.sync_all().expect("fsync after unlink");
    }

    // A listing longer than one readdir reply.
    fs::create_dir(m.path("many")).expect("mkdir many");
    let mut want: Vec<String> = (0..400)
        .map(|i| format!("entry-with-a-longish-name-{i:04}"))
        .collect();
    for n in &want {
        fs::File::create(m.path("many").join(n)).expect("create entry");
    }
    want.sort();
    assert_eq!(names(&m.path("many")), want);
    for n in &want {
        fs::remove_file(m.path("many").join(n)).expect("remove entry");
    }
    fs::remove_dir(m.path("many")).expect("rmdir many");

    // ls of the root.
    assert_eq!(names(&m.mnt), vec!["a", "hard", "link", "target.txt"]);
}

#[test]
fn t40_new_files_belong_to_the_caller_and_modes_are_enforced() {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to act as another user");
        return;
    }
    let m = Mount::start_owned(&["--allow-other"]);
    let shared = m.path("shared");
    fs::create_dir(&shared).expect("mkdir shared");
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).expect("chmod 777");
    fs::create_dir(m.path("private")).expect("mkdir private");
    fs::set_permissions(m.path("private"), fs::Permissions::from_mode(0o700)).expect("chmod 700");
    let as_user = |script: &str| {
        Command::new("setpriv")
            .args([
                "--reuid=4242",
                "--regid=4343",
                "--clear-groups",
                "sh",
                "-c",
                script,
            ])
            .env("M", &m.mnt)
            .status()
            .expect("run setpriv")
    };
    let st = as_user("umask 022 && echo hello > \"$M/shared/f\" && mkdir \"$M/shared/d\" && ln -s f \"$M/shared/l\"");
    assert!(st.success(), "user writes in a 0777 directory");
    for name in ["f", "d"] {
        let meta = fs::metadata(shared.join(name)).expect("stat");
        assert_eq!((meta.uid(), meta.gid()), (4242, 4343), "{name}");
    }
    assert_eq!(
        fs::symlink_metadata(shared.join("l")).expect("lstat").uid(),
        4242
    );
    assert_eq!(
        fs::metadata(shared.join("f"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o644
    );
    assert_eq!(
        fs::metadata(shared.join("d"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o755
    );
    assert_eq!(fs::read(shared.join("f")).expect("read"), b"hello\n");
    // Refused by the modes: another user's private directory, a root-owned file.
    assert!(
        !as_user("exec 2>/dev/null; echo x > \"$M/private/g\"").success(),
        "0700 directory of root"
    );
    assert!(
        !as_user("exec 2>/dev/null; chmod 666 \"$M/private\"").success(),
        "chmod of root's directory"
    );
    assert_eq!(
        fs::metadata(m.path("private"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o700
    );
}

#[test]
fn t30_rewrites_are_seen_by_a_fresh_open() {
    use std::io::{Seek, SeekFrom, Write};
    let m = Mount::start_owned(&[]);
    let p = m.path("doc");
    let first = random(MIB + 10);
    fs::write(&p, &first).expect("first write");
    assert!(fs::read(&p).expect("read first") == first);

    // Overwrite with shorter content (O_TRUNC).
    let second = random(1000);
    fs::write(&p, &second).expect("second write");
    assert!(fs::read(&p).expect("read second") == second);

    // Write into the middle of the existing content, without truncating.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .expect("open for writing");
    f.seek(SeekFrom::Start(10)).expect("seek");
    f.write_all(b"MIDDLE").expect("write middle");
    drop(f);
    let mut want = second.clone();
    want[10..16].copy_from_slice(b"MIDDLE");
    assert!(fs::read(&p).expect("read third") == want);

    // Append.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .expect("open for append");
    f.write_all(b"TAIL").expect("append");
    drop(f);
    want.extend_from_slice(b"TAIL");
    assert!(fs::read(&p).expect("read fourth") == want);
    assert_eq!(fs::metadata(&p).expect("stat").len(), want.len() as u64);

    // truncate(2) by path: shorter, then longer (zero-filled).
    let f = fs::OpenOptions::new().write(true).open(&p).expect("open");
    f.set_len(7).expect("ftruncate shorter");
    drop(f);
    assert_eq!(fs::read(&p).expect("read truncated"), want[..7].to_vec());
    let f = fs::OpenOptions::new().write(true).open(&p).expect("open");
    f.set_len(20).expect("ftruncate longer");
    drop(f);
    let mut longer = want[..7].to_vec();
    longer.resize(20, 0);
    assert_eq!(fs::read(&p).expect("read extended"), longer);

    // Extended attributes round-trip; unknown names are ENODATA.
    let c = std::ffi::CString::new(p.to_string_lossy().as_bytes()).expect("path");
    let (name, value) = (c"user.colour", b"blue");
    // SAFETY: valid NUL-terminated strings and a buffer of the given length.
    let rc = unsafe {
        libc::setxattr(
            c.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(rc, 0, "setxattr: {}", std::io::Error::last_os_error());
    let mut buf = [0u8; 64];
    // SAFETY: as above.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    assert_eq!(n, value.len() as isize);
    assert_eq!(&buf[..value.len()], value);
    // SAFETY: as above.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"user.nothing".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    assert_eq!(n, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ENODATA)
    );
}

#[test]
fn t50_files_survive_a_restart_on_the_same_data_directory() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let data = random(2 * MIB + 3);
    fs::create_dir_all(m.path("keep/this")).expect("mkdir -p");
    fs::write(m.path("keep/this/file"), &data).expect("write");
    std::os::unix::fs::symlink("this/file", m.path("keep/link")).expect("symlink");
    m.stop();
    let m = Mount::start(&d, &[]);
    assert!(fs::read(m.path("keep/this/file")).expect("read after restart") == data);
    assert!(fs::read(m.path("keep/link")).expect("read through link after restart") == data);
    assert_eq!(
        names(&m.path("keep")),
        vec!["link".to_string(), "this".to_string()]
    );
}

/// A second mount whose node joins the first through `--peer` (not a
/// metadata voter: it forwards to the first): what one writes, the other
/// reads.
#[test]
fn t60_two_mounts_on_two_nodes_share_one_namespace() {
    let (da, db) = (Dirs::new(), Dirs::new());
    let (a, b) = Mount::start_pair(&da, &db, &[]);

    let data = random(MIB + 77);
    fs::write(b.path("from-b"), &data).expect("write through b");
    fs::create_dir(a.path("dir-from-a")).expect("mkdir through a");
    // Directory entries are cached for up to the TTL (1 s).
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        match fs::read(a.path("from-b")) {
            Ok(back) => {
                assert!(back == data, "bytes written through b read through a");
                break;
            }
            Err(e) => assert!(Instant::now() < until, "a never saw b's file: {e}"),
        }
        sleep(Duration::from_millis(200));
    }
    assert!(fs::metadata(b.path("dir-from-a"))
        .expect("b sees a's directory")
        .is_dir());
    assert_eq!(names(&a.mnt), names(&b.mnt));
}

/// When the metadata voter is gone, calls on a mount that relied on it fail
/// with an error in bounded time instead of hanging.
#[test]
fn t70_calls_fail_in_bounded_time_when_the_voter_is_gone() {
    let (da, db) = (Dirs::new(), Dirs::new());
    let (mut a, b) = Mount::start_pair(&da, &db, &[]);
    fs::write(b.path("before"), b"ok").expect("write while the voter is up");

    // The voter dies without warning.
    a.child.kill().expect("kill the voter");
    a.child.wait().expect("reap the voter");

    let (tx, rx) = std::sync::mpsc::channel();
    let (mkdir_at, stat_at) = (b.path("after"), b.path("never-looked-up"));
    std::thread::spawn(move || {
        let mkdir = fs::create_dir(&mkdir_at).map_err(|e| e.raw_os_error());
        let stat = fs::metadata(&stat_at)
            .map(|_| ())
            .map_err(|e| e.raw_os_error());
        let _ = tx.send((mkdir, stat));
    });
    let (mkdir, stat) = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the calls returned within their deadlines");
    assert!(
        matches!(mkdir, Err(Some(libc::EIO | libc::ETIMEDOUT))),
        "mkdir without a voter: {mkdir:?}"
    );
    assert!(
        matches!(stat, Err(Some(libc::EIO | libc::ETIMEDOUT))),
        "lookup without a voter: {stat:?}"
    );
}

/// Stopping the mount commits what files still open have written.
#[test]
fn t80_stopping_commits_the_writes_of_files_still_open() {
    use std::io::Write;
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let data = random(MIB + 9);
    let mut f = fs::File::create(m.path("unsaved")).expect("create");
    f.write_all(&data).expect("write without closing");
    m.stop();
    drop(f); // the mount is gone: this close reaches nobody
    let m = Mount::start(&d, &[]);
    assert!(fs::read(m.path("unsaved")).expect("read after restart") == data);
}
