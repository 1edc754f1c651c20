//! Running the real `fragfs` binary: node processes on 127.0.0.1
//! ([`NodeProc`], stopped by their PID when dropped, their output kept),
//! one-shot commands, and the shape every error must have.

use std::{
    path::Path,
    process::{Command, Output},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_fragfs");

#[allow(unused_imports)]
pub use fragfs::testing::{wait_until, NodeProc};

/// Starts `fragfs node` on loopback without mDNS, with `extra` arguments,
/// once it printed its address (stopped by its pid when dropped).
pub fn start_node(data: &Path, extra: &[&str]) -> NodeProc {
    let node = NodeProc::start(Path::new(BIN), data, extra);
    let peer_id = node.stdout();
    let peer_id = peer_id
        .lines()
        .find_map(|l| l.strip_prefix("peer id: "))
        .expect("the node printed its peer id");
    assert!(
        node.addr.starts_with("/ip4/127.0.0.1/tcp/")
            && node.addr.ends_with(&format!("/p2p/{peer_id}")),
        "{}",
        node.addr
    );
    node
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
