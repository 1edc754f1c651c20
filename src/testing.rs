//! Helpers for the integration tests of every crate of the workspace
//! (feature `test-utils`): waiting for a condition, random bytes, guards
//! that stop the processes a test started (by their pid, never by name) and
//! unmount what it mounted, and `fragfs node` processes on 127.0.0.1.
//!
//! Not part of the library's API: nothing outside tests calls it.

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    thread::sleep,
    time::{Duration, Instant},
};

/// How often a condition is looked at while a test waits for it.
pub const POLL: Duration = Duration::from_millis(50);

/// How long a process has to exit on SIGTERM before it is killed.
pub const STOP_DEADLINE: Duration = Duration::from_secs(20);

/// Waits until `cond` holds, at most `deadline`; returns whether it did.
pub fn wait_until(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + deadline;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        sleep(POLL);
    }
}

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::fill(&mut v[..]);
    v
}

/// Stops `child`, a process this test started: SIGTERM, then SIGKILL if
/// it has not exited within [`STOP_DEADLINE`]. Returns whether it exited
/// by itself (at once when it had already exited).
pub fn terminate(child: &mut Child) -> bool {
    let running = |c: &mut Child| matches!(c.try_wait(), Ok(None));
    if !running(child) {
        return true;
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) on our own unreaped child: its pid is not reused.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    if wait_until(STOP_DEADLINE, || !running(child)) {
        return true;
    }
    eprintln!("process {} did not stop on SIGTERM; killing it", child.id());
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// A process this test started. Dropping it stops it if it still runs:
/// SIGCONT (it may be frozen), SIGTERM, then SIGKILL after
/// [`STOP_DEADLINE`]. Signals go to its pid only while it is unreaped, so
/// the pid cannot have been reused.
pub struct ChildGuard {
    pub child: Child,
}

impl ChildGuard {
    pub fn new(child: Child) -> ChildGuard {
        ChildGuard { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `sig` if the process still runs (unreaped).
    pub fn signal(&mut self, sig: i32) {
        if !self.running() {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe { libc::kill(pid, sig) };
        }
    }

    /// Waits at most `within` for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        wait_until(within, || !self.running())
    }

    /// SIGTERM (after SIGCONT), then SIGKILL if it has not exited within
    /// [`STOP_DEADLINE`]. Returns whether it exited by itself.
    pub fn terminate(&mut self) -> bool {
        self.signal(libc::SIGCONT);
        terminate(&mut self.child)
    }

    /// SIGKILL: no chance to save anything.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Lazily detaches whatever is mounted on `mnt` (nothing happens when
/// nothing is): `umount2(MNT_DETACH)`, else (not root) `fusermount3 -u -z`.
pub fn force_unmount(mnt: &Path) {
    let Ok(c) = std::ffi::CString::new(mnt.as_os_str().as_encoded_bytes()) else {
        return;
    };
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } != 0
        && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL)
    {
        let _ = Command::new("fusermount3")
            .args(["-u", "-z", "-q"])
            .arg(mnt)
            .stderr(Stdio::null())
            .status();
    }
}

/// A process serving a mount on `mnt`: dropping it stops the process
/// (as [`ChildGuard`]) and then lazily unmounts `mnt`.
pub struct MountGuard {
    pub proc: ChildGuard,
    pub mnt: PathBuf,
}

impl Drop for MountGuard {
    fn drop(&mut self) {
        self.proc.terminate();
        force_unmount(&self.mnt);
    }
}

/// A `fragfs node` process on 127.0.0.1 without mDNS, stopped when
/// dropped. Its standard output is read to the end (kept, see
/// [`NodeProc::stdout`]) and so is its standard error. A node started
/// with neither `--peer`, `--join` nor `--private` (which only these
/// helpers know) founds an open network (`--open`): the peers of a test
/// join it with `--peer`, as on a lab bench.
pub struct NodeProc {
    pub proc: ChildGuard,
    pub data: PathBuf,
    /// The first address it listens on, `/ip4/127.0.0.1/tcp/PORT/p2p/ID`.
    pub addr: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    _own_data: Option<tempfile::TempDir>,
}

/// `extra` with `--open` added for a node that founds a network, and
/// without `--private`.
pub fn lab_network<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let joins = extra
        .iter()
        .any(|a| matches!(*a, "--peer" | "--join" | "--private"));
    let mut out: Vec<&str> = extra
        .iter()
        .copied()
        .filter(|a| *a != "--private")
        .collect();
    if !joins {
        out.push("--open");
    }
    out
}

impl NodeProc {
    /// `BIN node --listen /ip4/127.0.0.1/tcp/0 --no-mdns --data DATA EXTRA…`,
    /// once it printed its address.
    pub fn start(bin: &Path, data: &Path, extra: &[&str]) -> NodeProc {
        Self::start_on(bin, data, "/ip4/127.0.0.1/tcp/0", extra)
    }

    /// The same on a data directory of its own, removed after it stops.
    pub fn start_temp(bin: &Path, extra: &[&str]) -> NodeProc {
        let dir = tempfile::tempdir().expect("node data dir");
        let mut n = Self::start(bin, dir.path(), extra);
        n._own_data = Some(dir);
        n
    }

    /// Listening on `listen` (to restart a node on its port).
    pub fn start_on(bin: &Path, data: &Path, listen: &str, extra: &[&str]) -> NodeProc {
        let mut child = Command::new(bin)
            .args(["node", "--listen", listen, "--no-mdns", "--data"])
            .arg(data)
            .args(lab_network(extra))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {} node: {e}", bin.display()));
        let stderr = Arc::new(Mutex::new(String::new()));
        keep(child.stderr.take().expect("stderr"), stderr.clone());
        let stdout = Arc::new(Mutex::new(String::new()));
        keep_lines(child.stdout.take().expect("stdout"), stdout.clone());
        let mut node = NodeProc {
            proc: ChildGuard::new(child),
            data: data.to_path_buf(),
            addr: String::new(),
            stdout,
            stderr,
            _own_data: None,
        };
        match node.wait_line("listening on ", Duration::from_secs(60)) {
            Some(a) => node.addr = a,
            None => panic!("the node printed no address; stderr: {}", node.stderr()),
        }
        node
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.proc.running()
    }

    /// What the node wrote on its standard output so far.
    pub fn stdout(&self) -> String {
        text(&self.stdout)
    }

    /// What the node wrote on its standard error so far.
    pub fn stderr(&self) -> String {
        text(&self.stderr)
    }

    /// The rest of the first output line starting with `prefix`, waiting
    /// at most `deadline` for it (`None` also when the node exited).
    pub fn wait_line(&mut self, prefix: &str, deadline: Duration) -> Option<String> {
        let find = |out: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(prefix).map(|r| r.trim().to_string()))
        };
        let mut found = None;
        wait_until(deadline, || {
            found = find(&self.stdout());
            found.is_some() || !self.proc.running()
        });
        found.or_else(|| find(&self.stdout()))
    }
}

fn text(t: &Mutex<String>) -> String {
    t.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Reads `from` to its end on a thread, appending to `into`.
fn keep(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let t = String::from_utf8_lossy(&buf[..n]).into_owned();
            into.lock().unwrap_or_else(|e| e.into_inner()).push_str(&t);
        }
    });
}

/// Reads `from` line by line to its end on a thread, appending to `into`
/// (a line is there whole or not at all).
fn keep_lines(from: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let mut t = into.lock().unwrap_or_else(|e| e.into_inner());
            t.push_str(&line);
            t.push('\n');
        }
    });
}

/// The attributes of an empty regular file `ino` owned by root, mode 0644,
/// all times zero: for tests that need some.
pub fn file_attr(ino: crate::meta::Ino) -> crate::meta::Attr {
    let zero = crate::meta::Time::default();
    crate::meta::Attr {
        ino,
        kind: crate::meta::Kind::File,
        perm: 0o644,
        uid: 0,
        gid: 0,
        size: 0,
        nlink: 1,
        atime: zero,
        mtime: zero,
        ctime: zero,
        rdev: 0,
    }
}
