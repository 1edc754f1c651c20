//! Running the real `fragfs` binary: node processes on 127.0.0.1 (killed by
//! their PID when dropped, their stderr kept), one-shot commands, and the
//! shape every error must have.

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_fragfs");

/// A `fragfs node` process, killed (by its PID) when dropped.
pub struct NodeProc {
    pub child: Child,
    pub data: PathBuf,
    pub addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeProc {
    /// Starts `fragfs node` on loopback without mDNS, with `extra`
    /// arguments, and waits until it prints its address.
    pub fn start(data: &Path, extra: &[&str]) -> NodeProc {
        let mut child = Command::new(BIN)
            .args([
                "node",
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
                "--no-mdns",
                "--data",
            ])
            .arg(data)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn node");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_str(&text);
            }
        });
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut addr, mut peer_id) = (None, None);
        for line in lines.by_ref() {
            let line = line.expect("stdout line");
            if let Some(id) = line.strip_prefix("peer id: ") {
                peer_id = Some(id.to_string());
            }
            if let Some(a) = line.strip_prefix("listening on ") {
                addr = Some(a.to_string());
                break;
            }
        }
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let mut node = NodeProc {
            child,
            data: data.to_path_buf(),
            addr: String::new(),
            stderr,
        };
        let (Some(addr), Some(peer_id)) = (addr, peer_id) else {
            panic!("the node printed no address; stderr: {}", node.stderr());
        };
        assert!(
            addr.starts_with("/ip4/127.0.0.1/tcp/") && addr.ends_with(&format!("/p2p/{peer_id}")),
            "{addr}"
        );
        node.addr = addr;
        node
    }

    /// What the node wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// Runs `fragfs ARGS --data DATA` with `RUST_BACKTRACE=1`, so that a panic
/// or an error report with a backtrace would show.
pub fn fragfs(args: &[&str], data: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run fragfs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Polls `cond` every 100 ms until it holds or `deadline` passes.
pub fn wait_until(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + deadline;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A failed command that said `fragfs: error: …` on exactly one line,
/// mentioning `contains`, and neither panicked nor printed a backtrace.
pub fn assert_one_line_error(o: &Output, contains: &str) {
    let err = stderr(o);
    assert!(!o.status.success(), "should fail: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("fragfs: error: "), "{err}");
    assert!(err.contains(contains), "{err} should mention {contains}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}
