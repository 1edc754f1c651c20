//! Extreme values through a real mount: offsets near `i64::MAX`, sizes of
//! zero and of the maximum, names and symlink targets at and over their
//! limits, extended attributes at and over theirs, and readdir far past the
//! end. Each gets its exact answer (bytes or errno), and the mount still
//! serves an ordinary write and read afterwards.

use crate::common;
use common::*;
use std::{
    ffi::CString,
    fs,
    os::unix::{ffi::OsStrExt, fs::OpenOptionsExt, io::AsRawFd},
    path::Path,
};

/// The errno of the last failed libc call.
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A libc call's result, `Err(errno)` when it returned -1.
fn sys(rc: isize) -> Result<usize, i32> {
    if rc < 0 {
        Err(errno())
    } else {
        Ok(rc as usize)
    }
}

fn pread(f: &fs::File, buf: &mut [u8], offset: i64) -> Result<usize, i32> {
    // SAFETY: a valid fd and a buffer of `buf.len()` writable bytes.
    sys(unsafe { libc::pread(f.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), offset) })
}

fn pwrite(f: &fs::File, buf: &[u8], offset: i64) -> Result<usize, i32> {
    // SAFETY: a valid fd and a buffer of `buf.len()` readable bytes.
    sys(unsafe { libc::pwrite(f.as_raw_fd(), buf.as_ptr().cast(), buf.len(), offset) })
}

fn lseek(f: &fs::File, offset: i64, whence: i32) -> Result<i64, i32> {
    // SAFETY: a valid fd.
    let rc = unsafe { libc::lseek(f.as_raw_fd(), offset, whence) };
    if rc < 0 {
        Err(errno())
    } else {
        Ok(rc)
    }
}

fn ftruncate(f: &fs::File, len: i64) -> Result<(), i32> {
    // SAFETY: a valid fd.
    sys(unsafe { libc::ftruncate(f.as_raw_fd(), len) } as isize).map(drop)
}

/// The errno of a failed `std::fs` call (0 when it succeeded).
fn err_of<T>(r: std::io::Result<T>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

#[test]
fn t10_reads_and_writes_at_extreme_offsets() {
    let d = Dirs::new();
    let m = Mount::start(&d, &["--fragment-size", "64K"]);
    let content = random(3 * 64 * 1024 + 17);
    fs::write(m.path("f"), &content).expect("write f");
    let f = open_rw(&m.path("f"));
    let mut buf = vec![0u8; 4096];

    // Reads past the end, up to the largest offset: nothing, no error.
    for off in [content.len() as i64, 1 << 44, 1 << 62, i64::MAX - 4096] {
        assert_eq!(pread(&f, &mut buf, off), Ok(0), "read at {off}");
        serves(&m);
    }
    // A read whose end overflows, or at a negative offset: EINVAL.
    assert_eq!(pread(&f, &mut buf, i64::MAX), Err(libc::EINVAL));
    assert_eq!(pread(&f, &mut buf, -1), Err(libc::EINVAL));
    // A read of size 0, and one larger than the file: exact bytes.
    assert_eq!(pread(&f, &mut [], 0), Ok(0));
    let mut all = vec![0u8; 16 << 20];
    let mut got = 0;
    while got < content.len() {
        let n = pread(&f, &mut all[got..], got as i64).expect("big read");
        assert!(n > 0, "short file read at {got}");
        got += n;
    }
    assert_eq!(&all[..got], &content[..], "a 16 MiB read returns the file");
    assert_eq!(pread(&f, &mut all, got as i64), Ok(0));

    // Writes past the largest file size: EFBIG, the file unchanged.
    for off in [1i64 << 50, 1 << 62, i64::MAX - 1] {
        assert_eq!(pwrite(&f, b"x", off), Err(libc::EFBIG), "write at {off}");
        serves(&m);
    }
    assert_eq!(pwrite(&f, b"x", -1), Err(libc::EINVAL));
    assert_eq!(pwrite(&f, &[], i64::MAX - 1), Ok(0), "empty write");
    assert_eq!(
        fs::metadata(m.path("f")).expect("stat").len(),
        content.len() as u64
    );

    // lseek to the extremes: the offset is kept, reading there gives nothing.
    assert_eq!(lseek(&f, i64::MAX, libc::SEEK_SET), Ok(i64::MAX));
    let mut one = [0u8; 1];
    // SAFETY: a valid fd and a 1-byte buffer.
    let n = unsafe { libc::read(f.as_raw_fd(), one.as_mut_ptr().cast(), 1) };
    assert_eq!(sys(n), Err(libc::EINVAL), "read at i64::MAX overflows");
    assert_eq!(lseek(&f, -1, libc::SEEK_SET), Err(libc::EINVAL));
    assert_eq!(lseek(&f, i64::MAX, libc::SEEK_END), Err(libc::EINVAL));
    assert_eq!(lseek(&f, 0, libc::SEEK_SET), Ok(0));
    assert_eq!(lseek(&f, 0, libc::SEEK_END), Ok(content.len() as i64));
    serves(&m);

    // Truncation to a negative size is EINVAL; data stays as it was.
    assert_eq!(ftruncate(&f, -1), Err(libc::EINVAL));
    drop(f);
    assert_eq!(fs::read(m.path("f")).expect("read back"), content);
    serves(&m);
}

/// A name of `n` bytes.
fn name(n: usize) -> String {
    "n".repeat(n)
}

#[test]
fn t20_names_at_and_over_name_max() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    fs::create_dir(m.path("d")).expect("mkdir d");
    let (ok, long) = (name(255), name(256));
    let p = |n: &str| m.path(&format!("d/{n}"));

    // Empty names never reach the mount: the kernel answers ENOENT.
    assert_eq!(err_of(fs::metadata(m.path("d/"))), 0, "d/ is d");
    let empty = CString::new("").expect("cstring");
    // SAFETY: a valid (empty) path.
    assert_eq!(
        sys(unsafe { libc::mkdir(empty.as_ptr(), 0o755) } as isize),
        Err(libc::ENOENT)
    );

    // 255 bytes: every call works.
    fs::write(p(&ok), b"255").expect("create a 255-byte name");
    assert_eq!(fs::read(p(&ok)).expect("read it"), b"255");
    fs::hard_link(p(&ok), p(&format!("{}l", name(254)))).expect("link to 255");
    fs::rename(p(&ok), p(&name(255).replace('n', "r"))).expect("rename to 255");
    std::os::unix::fs::symlink("target", p(&name(255).replace('n', "s"))).expect("symlink 255");
    fs::create_dir(p(&name(255).replace('n', "m"))).expect("mkdir 255");
    fs::remove_dir(p(&name(255).replace('n', "m"))).expect("rmdir 255");
    let fifo = CString::new(p(&name(255).replace('n', "f")).as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(
        unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) },
        0,
        "mkfifo 255"
    );
    serves(&m);

    // 256 bytes and far more: ENAMETOOLONG from every call, nothing made.
    for n in [256, 1024, 4000] {
        let bad = p(&name(n));
        let want = libc::ENAMETOOLONG;
        assert_eq!(err_of(fs::metadata(&bad)), want, "lookup {n}");
        assert_eq!(err_of(fs::write(&bad, b"x")), want, "create {n}");
        assert_eq!(err_of(fs::create_dir(&bad)), want, "mkdir {n}");
        assert_eq!(
            err_of(std::os::unix::fs::symlink("t", &bad)),
            want,
            "symlink {n}"
        );
        assert_eq!(
            err_of(fs::hard_link(p(&format!("{}l", name(254))), &bad)),
            want,
            "link {n}"
        );
        assert_eq!(
            err_of(fs::rename(p(&format!("{}l", name(254))), &bad)),
            want,
            "rename {n}"
        );
        assert_eq!(err_of(fs::remove_file(&bad)), want, "unlink {n}");
        assert_eq!(err_of(fs::remove_dir(&bad)), want, "rmdir {n}");
        let c = CString::new(bad.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, -1);
        assert_eq!(errno(), want, "mknod {n}");
        serves(&m);
    }
    let _ = long;
    let mut names: Vec<String> = fs::read_dir(m.path("d"))
        .expect("list d")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 4, "nothing over 255 bytes was made: {names:?}");
    assert!(names.iter().all(|n| n.len() == 255));
}

#[test]
fn t30_symlink_targets_at_and_over_path_max() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    // PATH_MAX counts the NUL: 4095 bytes is the longest target.
    let longest = "t/".repeat(2047) + "t";
    assert_eq!(longest.len(), 4095);
    std::os::unix::fs::symlink(&longest, m.path("l")).expect("4095-byte target");
    assert_eq!(
        fs::read_link(m.path("l"))
            .expect("readlink")
            .as_os_str()
            .as_bytes(),
        longest.as_bytes()
    );
    assert_eq!(
        fs::symlink_metadata(m.path("l")).expect("lstat").len(),
        4095
    );
    for n in [4096, 8192, 1 << 20] {
        let target = "t".repeat(n);
        assert_eq!(
            err_of(std::os::unix::fs::symlink(&target, m.path("over"))),
            libc::ENAMETOOLONG,
            "target of {n} bytes"
        );
        assert!(
            fs::symlink_metadata(m.path("over")).is_err(),
            "nothing made"
        );
        serves(&m);
    }
}

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

fn getxattr(p: &Path, name: &str, buf: &mut [u8]) -> Result<usize, i32> {
    let (p, n) = (cstr(p), c(name));
    let ptr = if buf.is_empty() {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr()
    };
    // SAFETY: valid C strings and a buffer of `buf.len()` bytes (or null and 0).
    sys(unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), ptr.cast(), buf.len()) })
}

fn listxattr(p: &Path, buf: &mut [u8]) -> Result<usize, i32> {
    let p = cstr(p);
    let ptr = if buf.is_empty() {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr()
    };
    // SAFETY: a valid C string and a buffer of `buf.len()` bytes (or null and 0).
    sys(unsafe { libc::listxattr(p.as_ptr(), ptr.cast(), buf.len()) })
}

#[test]
fn t40_xattrs_at_and_over_their_limits() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let f = m.path("f");
    fs::write(&f, b"x").expect("create f");
    // The longest name (255 bytes) and the largest value (64 KiB).
    let long = format!("user.{}", "a".repeat(250));
    let big = random(65_536);
    assert_eq!(setxattr(&f, &long, &big), Ok(()));
    assert_eq!(getxattr(&f, &long, &mut []), Ok(65_536), "size query");
    let mut back = vec![0u8; 65_536];
    assert_eq!(getxattr(&f, &long, &mut back), Ok(65_536));
    assert_eq!(back, big);
    assert_eq!(
        getxattr(&f, &long, &mut [0u8; 1]),
        Err(libc::ERANGE),
        "tiny buffer"
    );
    assert_eq!(
        getxattr(&f, &long, &mut vec![0u8; 65_535]),
        Err(libc::ERANGE)
    );
    // An empty value.
    assert_eq!(setxattr(&f, "user.e", b""), Ok(()));
    assert_eq!(getxattr(&f, "user.e", &mut []), Ok(0));
    assert_eq!(getxattr(&f, "user.e", &mut [0u8; 8]), Ok(0));
    serves(&m);

    // Over the limits: ERANGE for a name, E2BIG for a value; nothing set.
    let longer = format!("user.{}", "a".repeat(251));
    assert_eq!(setxattr(&f, &longer, b"v"), Err(libc::ERANGE));
    assert_eq!(getxattr(&f, &longer, &mut [0u8; 8]), Err(libc::ERANGE));
    assert_eq!(
        setxattr(&f, "user.big", &vec![0u8; 65_537]),
        Err(libc::E2BIG)
    );
    assert_eq!(
        setxattr(&f, "user.big", &vec![0u8; 1 << 20]),
        Err(libc::E2BIG)
    );
    assert_eq!(getxattr(&f, "user.big", &mut [0u8; 8]), Err(libc::ENODATA));
    assert_eq!(setxattr(&f, "", b"v"), Err(libc::ERANGE), "empty name");
    serves(&m);

    // listxattr: size query, exact buffer, tiny buffer.
    let mut want = Vec::new();
    for n in [long.as_str(), "user.e"] {
        want.extend_from_slice(n.as_bytes());
        want.push(0);
    }
    assert_eq!(listxattr(&f, &mut []), Ok(want.len()));
    let mut list = vec![0u8; want.len()];
    assert_eq!(listxattr(&f, &mut list), Ok(want.len()));
    let mut names: Vec<&[u8]> = list.split(|&b| b == 0).filter(|s| !s.is_empty()).collect();
    names.sort();
    assert_eq!(names, vec![long.as_bytes(), b"user.e".as_slice()]);
    assert_eq!(listxattr(&f, &mut [0u8; 1]), Err(libc::ERANGE));
    assert_eq!(
        listxattr(&f, &mut vec![0u8; want.len() - 1]),
        Err(libc::ERANGE)
    );
    serves(&m);
}

#[test]
fn t50_readdir_at_huge_offsets() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    fs::create_dir(m.path("d")).expect("mkdir");
    for i in 0..5 {
        fs::write(m.path(&format!("d/{i}")), b"x").expect("create");
    }
    let dir = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(m.path("d"))
        .expect("open dir");
    let mut buf = vec![0u8; 64 * 1024];
    let getdents = |buf: &mut [u8]| {
        // SAFETY: a valid directory fd and a buffer of `buf.len()` bytes.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        sys(rc as isize)
    };
    for off in [7i64, 1 << 32, 1 << 62, i64::MAX] {
        assert_eq!(lseek(&dir, off, libc::SEEK_SET), Ok(off));
        assert_eq!(getdents(&mut buf), Ok(0), "nothing past the end at {off}");
        serves(&m);
    }
    assert_eq!(lseek(&dir, 0, libc::SEEK_SET), Ok(0));
    let n = getdents(&mut buf).expect("list from the start");
    assert!(n > 0);
    assert_eq!(fs::read_dir(m.path("d")).expect("list").count(), 5);
}

#[test]
fn t45_an_inodes_xattrs_stay_listable_and_bounded() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let (f, g) = (m.path("f"), m.path("g"));
    fs::write(&f, b"x").expect("create f");
    fs::write(&g, b"x").expect("create g");
    // Names of 255 bytes take 256 of the 64 KiB list each: 256 fit.
    let long = |i: usize| format!("user.{i:03}{}", "n".repeat(247));
    for i in 0..256 {
        assert_eq!(setxattr(&f, &long(i), b""), Ok(()), "name {i}");
    }
    assert_eq!(setxattr(&f, &long(256), b""), Err(libc::E2BIG), "list full");
    assert_eq!(listxattr(&f, &mut []), Ok(65_536));
    let mut list = vec![0u8; 65_536];
    assert_eq!(listxattr(&f, &mut list), Ok(65_536));
    assert_eq!(
        list.split(|&b| b == 0).filter(|s| !s.is_empty()).count(),
        256
    );
    assert_eq!(
        setxattr(&f, &long(3), b"v"),
        Ok(()),
        "replacing still works"
    );
    serves(&m);
    // Values: 1 MiB per inode.
    let big = random(65_536);
    for i in 0..16 {
        assert_eq!(
            setxattr(&g, &format!("user.v{i}"), &big),
            Ok(()),
            "value {i}"
        );
    }
    assert_eq!(
        setxattr(&g, "user.v16", &big),
        Err(libc::E2BIG),
        "values full"
    );
    assert_eq!(getxattr(&g, "user.v16", &mut [0u8; 8]), Err(libc::ENODATA));
    assert_eq!(setxattr(&g, "user.v0", b"small"), Ok(()), "shrinking works");
    assert_eq!(setxattr(&g, "user.v16", b"fits now"), Ok(()));
    let mut back = vec![0u8; 65_536];
    assert_eq!(getxattr(&g, "user.v15", &mut back), Ok(65_536));
    assert_eq!(back, big);
    serves(&m);
}
