//! Helpers for tests that mount through real FUSE and run real processes.
//! Every guard here stops only processes the test started, and unmounts
//! what it mounted, even when the test fails.
#![allow(dead_code)]

pub mod posix;

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

pub const MIB: usize = 1 << 20;

#[allow(unused_imports)]
pub use fragfs::testing::{force_unmount, random_bytes as random, terminate, wait_until, POLL};
pub use fragfs_mountd::mountinfo::is_mounted;

/// The seed of a randomised test: `FRAGFS_SEED`, or a fresh one (printed).
pub fn seed() -> u64 {
    let s = std::env::var("FRAGFS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::Rng::random(&mut rand::rng()));
    println!("seed {s} (set FRAGFS_SEED to repeat)");
    s
}

pub fn cstr(p: &Path) -> std::ffi::CString {
    std::ffi::CString::new(p.to_string_lossy().as_bytes()).expect("path without NUL")
}

/// `setxattr(2)` of `name` = `value` on `p`; the errno on failure.
pub fn setxattr(p: &Path, name: &str, value: &[u8]) -> Result<(), i32> {
    let (p, n) = (cstr(p), std::ffi::CString::new(name).expect("no NUL"));
    // SAFETY: valid C strings and a value of `value.len()` bytes.
    let rc = unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    match rc {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)),
    }
}

pub fn statvfs(p: &Path) -> libc::statvfs {
    let c = cstr(p);
    // SAFETY: a valid path and a zeroed out-struct the call fills.
    let mut out: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    assert_eq!(
        unsafe { libc::statvfs(c.as_ptr(), &mut out) },
        0,
        "statvfs: {}",
        std::io::Error::last_os_error()
    );
    out
}

/// Makes this test process the reaper of its orphaned descendants: a
/// daemon whose parent (the mount helper, mount(8)) exits becomes this
/// process's child, so its exit status can be waited for.
pub fn become_subreaper() {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes plain integers.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "prctl: {}", std::io::Error::last_os_error());
}

/// A daemon started on this test's behalf (by the mount helper) that
/// became this process's child (see [`become_subreaper`]). Dropping it
/// stops it if it still runs and unmounts `mnt` if still mounted.
pub struct Daemon {
    pub pid: i32,
    pub mnt: PathBuf,
    exited: Option<i32>,
}

impl Daemon {
    /// The daemon whose pid is in `pid_file`, serving `mnt`.
    pub fn from_pid_file(pid_file: &Path, mnt: &Path) -> Daemon {
        let text = fs::read_to_string(pid_file)
            .unwrap_or_else(|e| panic!("pid file {}: {e}", pid_file.display()));
        let pid: i32 = text.trim().parse().expect("a pid in the pid file");
        let mut d = Daemon {
            pid,
            mnt: mnt.to_path_buf(),
            exited: None,
        };
        assert_eq!(
            d.poll().map_err(|e| e.to_string()),
            Ok(None),
            "the daemon {pid} runs and is this process's child"
        );
        d
    }

    /// The exit code once the daemon exited (reaping it), `None` while it
    /// runs; an error if the pid is not this process's child.
    fn poll(&mut self) -> std::io::Result<Option<i32>> {
        if self.exited.is_some() {
            return Ok(self.exited);
        }
        let mut status = 0;
        // SAFETY: waitpid on a pid with a valid out-pointer.
        let rc = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if rc == 0 {
            return Ok(None);
        }
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            // Killed by a signal: reported as the shell does.
            128 + libc::WTERMSIG(status)
        };
        self.exited = Some(code);
        Ok(self.exited)
    }

    /// The exit code if the daemon exited; also `None` if it cannot be
    /// waited for (not this process's child), which callers treat as gone.
    fn try_wait(&mut self) -> Option<i32> {
        match self.poll() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("waitpid({}): {e}", self.pid);
                self.exited = Some(-1);
                self.exited
            }
        }
    }

    /// Waits at most `deadline` for the daemon to exit; its exit code.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<i32> {
        wait_until(deadline, || self.try_wait().is_some());
        self.try_wait()
    }

    /// Sends `sig` to the daemon if it still runs (unreaped, so its pid
    /// cannot have been reused).
    pub fn signal(&mut self, sig: i32) {
        if self.try_wait().is_none() {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe { libc::kill(self.pid, sig) };
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.exited.is_none() {
            self.signal(libc::SIGTERM);
            if self.wait_exit(Duration::from_secs(20)).is_none() {
                self.signal(libc::SIGKILL);
                self.wait_exit(Duration::from_secs(5));
            }
        }
        force_unmount(&self.mnt);
    }
}

/// The `fragfs` binary beside `fragfs-mountd`. Cargo builds only this
/// crate's binaries for its tests: `cargo test` at the workspace root, or
/// `cargo build --workspace`, builds `fragfs` too. Refused when older than
/// any source of the `fragfs` library or the `fragfs-cli` crate, so a stale build cannot pass or fail
/// this test by accident.
pub fn fragfs_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_fragfs-mountd")).with_file_name("fragfs");
    let hint = "run `cargo build --workspace` (or `cargo test` at the workspace root) first";
    let built = fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}; {hint}", bin.display()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let src = root.join("src");
    let newest = newest_mtime(&src).max(newest_mtime(&root.join("cli/src")));
    assert!(
        newest <= built,
        "{} is older than {}; {hint}",
        bin.display(),
        src.display()
    );
    bin
}

fn newest_mtime(dir: &Path) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    for e in fs::read_dir(dir)
        .expect("read source dir")
        .map_while(Result::ok)
    {
        let Ok(meta) = e.metadata() else { continue };
        let t = if meta.is_dir() {
            newest_mtime(&e.path())
        } else {
            meta.modified().unwrap_or(newest)
        };
        newest = newest.max(t);
    }
    newest
}

/// A `fragfs-mountd` process (`--listen` on loopback, no mDNS) on a data
/// directory that outlives it, its log in [`Dirs`]. Dropping it stops the
/// process (SIGTERM, then SIGKILL) and unmounts.
pub struct Mount {
    pub child: Child,
    pub mnt: PathBuf,
    pub log: PathBuf,
    /// The directories of a mount that owns them ([`Mount::start_owned`]).
    owned: Option<Dirs>,
}

/// A mount's data directory, mount point and log directory, removed when
/// dropped.
pub struct Dirs {
    pub data: tempfile::TempDir,
    pub mnt: tempfile::TempDir,
    pub logs: tempfile::TempDir,
}

impl Dirs {
    pub fn new() -> Dirs {
        Dirs {
            data: tempfile::tempdir().expect("data dir"),
            mnt: tempfile::tempdir().expect("mount point"),
            logs: tempfile::tempdir().expect("log dir"),
        }
    }
}

impl Mount {
    pub fn start(d: &Dirs, extra: &[&str]) -> Mount {
        Self::spawn(d, extra, Stdio::null())
    }

    /// A mount on directories of its own, removed after it stops.
    pub fn start_owned(extra: &[&str]) -> Mount {
        let d = Dirs::new();
        let mut m = Self::start(&d, extra);
        m.owned = Some(d);
        m
    }

    fn spawn(d: &Dirs, extra: &[&str], stdout: Stdio) -> Mount {
        let mnt = d.mnt.path().canonicalize().expect("canonical mount point");
        let log = d.logs.path().join("mountd.log");
        let child = Command::new(env!("CARGO_BIN_EXE_fragfs-mountd"))
            .arg("--data")
            .arg(d.data.path())
            .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
            .args(fragfs::testing::lab_network(extra))
            .arg(&mnt)
            // No user keys but those a test makes: an empty configuration.
            .env("XDG_CONFIG_HOME", d.logs.path().join("config"))
            .env_remove("FRAGFS_USER")
            // `FRAGFS_MOUNT_LOG` overrides the daemon's filter (debugging).
            .env(
                "RUST_LOG",
                std::env::var("FRAGFS_MOUNT_LOG").unwrap_or("warn,fragfs_mountd=info".into()),
            )
            .stdout(stdout)
            .stderr(fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start fragfs-mountd");
        let mut m = Mount {
            child,
            mnt,
            log,
            owned: None,
        };
        let until = Instant::now() + Duration::from_secs(60);
        while !is_mounted(&m.mnt) {
            if let Some(status) = m.child.try_wait().expect("child status") {
                panic!(
                    "fragfs-mountd exited before mounting: {status}\n{}",
                    fs::read_to_string(&m.log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < until, "not mounted within 60 s");
            sleep(Duration::from_millis(20));
        }
        m
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.mnt.join(rel)
    }

    /// SIGTERM and wait; returns the daemon's log.
    pub fn stop(mut self) -> String {
        assert!(self.terminate(), "fragfs-mountd stops on SIGTERM");
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM and wait (SIGKILL after a deadline), leaving the mount
    /// point as the daemon left it; whether it exited by itself.
    pub fn terminate(&mut self) -> bool {
        terminate(&mut self.child)
    }

    /// SIGKILL: no chance to save anything.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        force_unmount(&self.mnt);
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        self.terminate();
        force_unmount(&self.mnt);
        if std::thread::panicking() {
            eprintln!(
                "fragfs-mountd log:\n{}",
                fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// Bytes of fragments in the node's store (files under `DATA/**/fragments`).
pub fn stored(data: &Path) -> u64 {
    fn walk(p: &Path, inside: bool) -> u64 {
        let Ok(rd) = fs::read_dir(p) else { return 0 };
        rd.filter_map(Result::ok)
            .map(|e| {
                let inside = inside || e.file_name() == "fragments";
                match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&e.path(), inside),
                    Ok(t) if t.is_file() && inside => e.metadata().map_or(0, |m| m.len()),
                    _ => 0,
                }
            })
            .sum()
    }
    walk(data, false)
}

/// The fragments a stopped mount took from its cache and fetched, from
/// the counters in its log (`Mount::stop`).
pub fn fragments_read(log: &str) -> (u64, u64) {
    log.lines()
        .rev()
        .find_map(|l| {
            let counts = &l[l.find("fragments: ")? + "fragments: ".len()..];
            let (cached, rest) = counts.split_once(" from cache, ")?;
            let fetched = rest.split(' ').next()?;
            Some((cached.parse().ok()?, fetched.parse().ok()?))
        })
        .unwrap_or_else(|| panic!("no counters in the log:\n{log}"))
}

impl Mount {
    /// Two mounts on two nodes sharing one namespace: `a` holds the
    /// metadata voter, `b` joins it through its address. `extra` goes to
    /// both.
    pub fn start_pair(a: &Dirs, b: &Dirs, extra: &[&str]) -> (Mount, Mount) {
        let mut all = Self::start_group(&[a, b], extra).into_iter();
        let first = all.next().expect("first mount");
        (first, all.next().expect("second mount"))
    }

    /// One mount per directory set, on nodes sharing one namespace: the
    /// first holds the metadata voter, the others join it through its
    /// address. Each stores one copy of a replicated fragment; `extra`
    /// goes to all.
    pub fn start_group(dirs: &[&Dirs], extra: &[&str]) -> Vec<Mount> {
        use std::io::{BufRead, BufReader};
        let first_dirs = dirs.first().expect("at least one mount");
        let mut first = Self::spawn(
            first_dirs,
            &[extra, &["--replicas", "1"]].concat(),
            Stdio::piped(),
        );
        let out = first.child.stdout.take().expect("stdout");
        // Read up to the last line it prints, so it never writes to a closed pipe.
        let mut addr = None;
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(x) = line.strip_prefix("listening on ") {
                addr.get_or_insert_with(|| x.to_string());
            }
            if line.starts_with("mounted at ") {
                break;
            }
        }
        let addr = addr.expect("the first mount prints its address");
        let peer = ["--peer", addr.as_str(), "--replicas", "1"];
        let mut mounts = vec![first];
        for d in &dirs[1..] {
            mounts.push(Self::start(d, &[extra, &peer].concat()));
        }
        mounts
    }
}

/// Asserts that the mount still serves: a small file written through it
/// reads back byte for byte, then goes away.
pub fn serves(m: &Mount) {
    let p = m.path(".serves-probe");
    let data = random(10_000);
    fs::write(&p, &data).expect("the mount still takes a write");
    assert_eq!(
        fs::read(&p).expect("the mount still serves a read"),
        data,
        "a write reads back after the previous call"
    );
    fs::remove_file(&p).expect("the mount still removes a file");
}

/// Runs `sh -c script` as user `uid` with primary group `gid` and exactly
/// the supplementary `groups` (through `setpriv`; needs root), with `$M`
/// set to `mnt`. Returns its output.
pub fn as_user(
    uid: u32,
    gid: u32,
    groups: &[u32],
    mnt: &Path,
    script: &str,
) -> std::process::Output {
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"));
    if groups.is_empty() {
        cmd.arg("--clear-groups");
    } else {
        let list: Vec<String> = groups.iter().map(u32::to_string).collect();
        cmd.arg(format!("--groups={}", list.join(",")));
    }
    cmd.args(["sh", "-c", script])
        .env("M", mnt)
        .output()
        .expect("run setpriv")
}

/// Whether this test runs as root (needed to act as other users).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `path` opened for reading and writing, created if missing, kept as it is.
pub fn open_rw(p: &Path) -> fs::File {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(p)
        .unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
}

/// The names in directory `p`, sorted.
pub fn names(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(p)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", p.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
