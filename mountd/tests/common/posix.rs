//! One system call as a given user, for POSIX conformance tables: the call
//! is described by an [`Op`] (paths relative to a base directory), run in
//! a forked child that takes the user's credentials (setgroups, setresgid,
//! setresuid) and umask 0, and reports 0 or its errno through a pipe.
//! Plus [`Checks`], which collects failed expectations so that one run
//! shows all of them, and `stat` helpers.
//!
//! The child runs in a process with other threads: everything it touches
//! (C strings, tables) is prepared before the fork, and it allocates
//! nothing, takes no lock and leaves through `_exit`.

use super::cstr;
use std::{
    ffi::CString,
    fmt::Debug,
    panic::Location,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// Credentials a call runs with: uid, primary gid, supplementary groups.
#[derive(Clone, Copy, Debug)]
pub struct Who {
    pub uid: u32,
    pub gid: u32,
    pub groups: &'static [u32],
}

pub const ROOT: Who = Who {
    uid: 0,
    gid: 0,
    groups: &[],
};
/// An unprivileged user (nobody:nogroup).
pub const U1: Who = Who {
    uid: 65534,
    gid: 65534,
    groups: &[],
};
/// Another unprivileged user, in no group of `U1`'s.
pub const U2: Who = Who {
    uid: 65533,
    gid: 65533,
    groups: &[],
};

/// A `timespec` for [`Op::Utimens`]: seconds and nanoseconds, or
/// `libc::UTIME_NOW` / `libc::UTIME_OMIT` as the nanoseconds.
pub fn ts(sec: i64, nsec: i64) -> libc::timespec {
    libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    }
}

pub const NOW: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: libc::UTIME_NOW,
};
pub const OMIT: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: libc::UTIME_OMIT,
};

/// A system call on paths relative to the base directory.
#[derive(Clone, Debug)]
pub enum Op<'a> {
    Chmod(&'a str, u32),
    /// chown(2); -1 leaves the id as it is.
    Chown(&'a str, i64, i64),
    Lchown(&'a str, i64, i64),
    Link(&'a str, &'a str),
    Mkdir(&'a str, u32),
    Mkfifo(&'a str, u32),
    Mknod(&'a str, u32, u64),
    /// open(2) with flags and mode; the descriptor is closed again.
    Open(&'a str, i32, u32),
    /// open(2) with umask set first.
    OpenUmask(&'a str, i32, u32, u32),
    Rename(&'a str, &'a str),
    /// renameat2(2) with RENAME_NOREPLACE / RENAME_EXCHANGE flags.
    Rename2(&'a str, &'a str, u32),
    Rmdir(&'a str),
    /// symlink(target, path): the target is taken as it is.
    Symlink(&'a str, &'a str),
    Truncate(&'a str, i64),
    Unlink(&'a str),
    /// utimensat(AT_FDCWD, path, [atime, mtime], flags).
    Utimens(&'a str, libc::timespec, libc::timespec, i32),
    Lstat(&'a str),
    /// access(2) with a mode (F_OK, R_OK, W_OK, X_OK).
    Access(&'a str, i32),
    /// open(2) with flags and mode, write one byte, close.
    OpenWrite(&'a str, i32, u32),
}

impl Op<'_> {
    /// The C strings the call needs, prepared before the fork.
    fn args(&self, base: &Path) -> [CString; 2] {
        let p = |s: &str| cstr(&base.join(s));
        let raw = |s: &str| CString::new(s).expect("target without NUL");
        let none = || CString::default();
        match *self {
            Op::Link(a, b) | Op::Rename(a, b) | Op::Rename2(a, b, _) => [p(a), p(b)],
            Op::Symlink(target, path) => [raw(target), p(path)],
            Op::Chmod(a, _)
            | Op::Chown(a, ..)
            | Op::Lchown(a, ..)
            | Op::Mkdir(a, _)
            | Op::Mkfifo(a, _)
            | Op::Mknod(a, ..)
            | Op::Open(a, ..)
            | Op::OpenUmask(a, ..)
            | Op::Rmdir(a)
            | Op::Truncate(a, _)
            | Op::Unlink(a)
            | Op::Utimens(a, ..)
            | Op::Lstat(a)
            | Op::OpenWrite(a, ..)
            | Op::Access(a, _) => [p(a), none()],
        }
    }

    /// Performs the call: its return value, -1 with errno set on failure.
    ///
    /// # Safety
    /// `c` are this op's [`Op::args`].
    unsafe fn call(&self, c: &[CString; 2]) -> i64 {
        let (a, b) = (c[0].as_ptr(), c[1].as_ptr());
        let id = |v: i64| v as u32; // -1 becomes (uid_t)-1
        match *self {
            Op::Chmod(_, m) => libc::chmod(a, m).into(),
            Op::Chown(_, u, g) => libc::chown(a, id(u), id(g)).into(),
            Op::Lchown(_, u, g) => libc::lchown(a, id(u), id(g)).into(),
            Op::Link(..) => libc::link(a, b).into(),
            Op::Mkdir(_, m) => libc::mkdir(a, m).into(),
            Op::Mkfifo(_, m) => libc::mkfifo(a, m).into(),
            Op::Mknod(_, m, dev) => libc::mknod(a, m, dev).into(),
            Op::Open(_, flags, mode) => close_fd(libc::open(a, flags, mode)),
            Op::OpenUmask(_, flags, mode, mask) => {
                libc::umask(mask);
                close_fd(libc::open(a, flags, mode))
            }
            Op::Rename(..) => libc::rename(a, b).into(),
            Op::Rename2(_, _, flags) => {
                libc::renameat2(libc::AT_FDCWD, a, libc::AT_FDCWD, b, flags).into()
            }
            Op::Rmdir(_) => libc::rmdir(a).into(),
            Op::Symlink(..) => libc::symlink(a, b).into(),
            Op::Truncate(_, len) => libc::truncate(a, len).into(),
            Op::Unlink(_) => libc::unlink(a).into(),
            Op::Utimens(_, at, mt, flags) => {
                let times = [at, mt];
                libc::utimensat(libc::AT_FDCWD, a, times.as_ptr(), flags).into()
            }
            Op::OpenWrite(_, flags, mode) => {
                let fd = libc::open(a, flags, mode);
                if fd < 0 {
                    return -1;
                }
                let n = libc::write(fd, b"x".as_ptr().cast(), 1);
                let closed = libc::close(fd);
                if n != 1 || closed != 0 {
                    -1
                } else {
                    0
                }
            }
            Op::Access(_, m) => libc::access(a, m).into(),
            Op::Lstat(_) => {
                let mut st: libc::stat = std::mem::zeroed();
                libc::lstat(a, &mut st).into()
            }
        }
    }
}

/// Closes `fd` if the open succeeded; the open's result.
unsafe fn close_fd(fd: libc::c_int) -> i64 {
    if fd >= 0 {
        libc::close(fd);
    }
    fd.into()
}

/// What a child reports when it could not take the credentials.
const SETUP_FAILED: i32 = -1;
/// What [`run`] reports for a call that did not finish in time.
pub const HUNG: i32 = -2;

/// Runs `op` on paths under `base` as `who` (umask 0) in a child process;
/// returns 0 or the errno the call failed with, [`HUNG`] if it did not
/// return within 20 s (the child is then killed).
pub fn run(base: &Path, who: Who, op: &Op) -> i32 {
    let args = op.args(base);
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the child only makes system calls on memory prepared before
    // the fork, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: as above.
        unsafe {
            let code = child(who, op, &args);
            libc::write(fds[1], (&code as *const i32).cast(), 4);
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(fds[1]) };
    assert!(pid > 0, "fork: {}", std::io::Error::last_os_error());
    let mut status = 0;
    // Most calls take a millisecond or two: look often.
    let until = Instant::now() + Duration::from_secs(20);
    let done = loop {
        // SAFETY: waitpid on our own child with a valid out-pointer.
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            break true;
        }
        if Instant::now() >= until {
            break false;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let mut code = HUNG;
    if done {
        // SAFETY: reading at most 4 bytes into `code`.
        let n = unsafe { libc::read(fds[0], (&mut code as *mut i32).cast(), 4) };
        if n != 4 {
            code = HUNG;
        }
    } else {
        // SAFETY: our own unreaped child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, &mut status, 0);
        }
    }
    // SAFETY: our read end.
    unsafe { libc::close(fds[0]) };
    assert_ne!(code, SETUP_FAILED, "the child could not become {who:?}");
    code
}

unsafe fn child(who: Who, op: &Op, args: &[CString; 2]) -> i32 {
    libc::umask(0);
    let groups = who.groups;
    if libc::setgroups(groups.len(), groups.as_ptr()) != 0
        || libc::setresgid(who.gid, who.gid, who.gid) != 0
        || libc::setresuid(who.uid, who.uid, who.uid) != 0
    {
        return SETUP_FAILED;
    }
    if op.call(args) < 0 {
        *libc::__errno_location()
    } else {
        0
    }
}

/// An errno as text, for messages: "EACCES (13)".
pub fn errno_name(e: i32) -> String {
    let name = match e {
        0 => "success",
        HUNG => "no answer within 20 s",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ENXIO => "ENXIO",
        libc::EACCES => "EACCES",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EFBIG => "EFBIG",
        libc::EMLINK => "EMLINK",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::EIO => "EIO",
        _ => "",
    };
    format!("{name} ({e})")
}

/// Expectations that failed, reported together by [`Checks::finish`].
#[derive(Default)]
pub struct Checks {
    failed: Vec<String>,
}

impl Checks {
    #[track_caller]
    pub fn that(&mut self, what: &str, ok: bool) {
        if !ok {
            let at = Location::caller();
            self.failed.push(format!("line {}: {what}", at.line()));
        }
    }

    #[track_caller]
    pub fn eq<T: PartialEq + Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            let at = Location::caller();
            self.failed.push(format!(
                "line {}: {what}: got {got:?}, want {want:?}",
                at.line()
            ));
        }
    }

    /// Runs `op` as `who` under `base` and expects errno `want` (0: success).
    #[track_caller]
    pub fn call(&mut self, base: &Path, who: Who, op: Op, want: i32) {
        let got = run(base, who, &op);
        if got != want {
            let at = Location::caller();
            self.failed.push(format!(
                "line {}: {op:?} as uid {}: got {}, want {}",
                at.line(),
                who.uid,
                errno_name(got),
                errno_name(want)
            ));
        }
    }

    /// Fails the test with every failed expectation.
    pub fn finish(self) {
        assert!(
            self.failed.is_empty(),
            "{} expectation(s) failed:\n{}",
            self.failed.len(),
            self.failed.join("\n")
        );
    }
}

/// lstat(2) of `p`, `None` if it fails.
pub fn lstat(p: &Path) -> Option<libc::stat> {
    let c = cstr(p);
    // SAFETY: a valid path and a zeroed out-struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    (unsafe { libc::lstat(c.as_ptr(), &mut st) } == 0).then_some(st)
}

/// lstat(2) of `p`, which must exist.
#[track_caller]
pub fn st(p: &Path) -> libc::stat {
    lstat(p).unwrap_or_else(|| panic!("lstat {}: {}", p.display(), std::io::Error::last_os_error()))
}

/// (seconds, nanoseconds) of a file's three times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Times {
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

pub fn times(p: &Path) -> Times {
    let s = st(p);
    Times {
        atime: (s.st_atime, s.st_atime_nsec),
        mtime: (s.st_mtime, s.st_mtime_nsec),
        ctime: (s.st_ctime, s.st_ctime_nsec),
    }
}

/// The file-type bits and permission bits of `p`.
pub fn mode(p: &Path) -> u32 {
    st(p).st_mode
}

/// (uid, gid) of `p`.
pub fn owner(p: &Path) -> (u32, u32) {
    let s = st(p);
    (s.st_uid, s.st_gid)
}

pub const CREAT: i32 = libc::O_CREAT | libc::O_WRONLY;
pub const RD: i32 = libc::O_RDONLY;
pub const WR: i32 = libc::O_WRONLY;
/// A group none of the test users is in.
pub const G: u32 = 4242;

/// A mount (`--allow-other`) with a world-writable directory `t` to work
/// in, and the expectations that failed so far.
pub struct Fx {
    pub m: super::Mount,
    _d: super::Dirs,
    pub base: PathBuf,
    pub c: Checks,
}

impl Fx {
    pub fn new() -> Fx {
        let d = super::Dirs::new();
        let m = super::Mount::start(&d, &["--allow-other"]);
        assert_eq!(run(&m.mnt, ROOT, &Op::Mkdir("t", 0o777)), 0, "mkdir t");
        Fx {
            base: m.path("t"),
            m,
            _d: d,
            c: Checks::default(),
        }
    }

    pub fn p(&self, rel: &str) -> PathBuf {
        self.base.join(rel)
    }

    /// Expects `op` as `who` to fail with `errno` (0: to succeed).
    #[track_caller]
    pub fn expect(&mut self, who: Who, op: Op, errno: i32) {
        self.c.call(&self.base, who, op, errno);
    }

    /// Setup that must succeed.
    #[track_caller]
    pub fn ok(&self, who: Who, op: Op) {
        let got = run(&self.base, who, &op);
        assert_eq!(got, 0, "{op:?} as {who:?}: {}", errno_name(got));
    }

    #[track_caller]
    pub fn mode_is(&mut self, rel: &str, want: u32) {
        let got = lstat(&self.p(rel)).map(|s| Oct(s.st_mode));
        self.c.eq(&format!("mode of {rel}"), got, Some(Oct(want)));
    }

    #[track_caller]
    pub fn owner_is(&mut self, rel: &str, want: (u32, u32)) {
        let got = lstat(&self.p(rel)).map(|s| (s.st_uid, s.st_gid));
        self.c.eq(&format!("owner of {rel}"), got, Some(want));
    }

    #[track_caller]
    pub fn exists(&mut self, rel: &str, want: bool) {
        let got = lstat(&self.p(rel)).is_some();
        self.c.eq(&format!("{rel} exists"), got, want);
    }

    /// The times of `rel`.
    pub fn times(&self, rel: &str) -> Times {
        times(&self.p(rel))
    }

    /// Expects `rel`'s mtime and ctime to have moved (`true`) or stayed
    /// since `before`.
    #[track_caller]
    pub fn moved(&mut self, what: &str, rel: &str, before: Times, mtime: bool, ctime: bool) {
        let after = self.times(rel);
        moved(&mut self.c, what, before, after, mtime, ctime);
    }

    pub fn finish(self) {
        self.c.finish();
    }
}

/// A mode printed in octal.
#[derive(PartialEq)]
pub struct Oct(pub u32);

impl Debug for Oct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0o{:o}", self.0)
    }
}

/// Expects the mtime and ctime of one object to have moved (`true`) or
/// stayed (`false`) between `a` and `b`.
#[track_caller]
pub fn moved(c: &mut Checks, what: &str, a: Times, b: Times, mtime: bool, ctime: bool) {
    let says = |moved: bool| if moved { "moves" } else { "stays" };
    let m = if mtime {
        b.mtime > a.mtime
    } else {
        b.mtime == a.mtime
    };
    let t = if ctime {
        b.ctime > a.ctime
    } else {
        b.ctime == a.ctime
    };
    c.that(&format!("{what}: mtime {} ({a:?} → {b:?})", says(mtime)), m);
    c.that(&format!("{what}: ctime {} ({a:?} → {b:?})", says(ctime)), t);
}
