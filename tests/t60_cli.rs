//! The `fragfs` binary end to end: real node processes on 127.0.0.1, the CLI
//! talking to them through their control sockets or joining with `--peer`.

mod common;
use common::random_bytes;
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_fragfs");

/// A `fragfs node` process, killed (by its PID) when dropped.
struct NodeProc {
    child: Child,
    data: PathBuf,
    addr: String,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(data: &Path, peer: Option<&str>) -> NodeProc {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "node",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
        "--data",
    ])
    .arg(data);
    if let Some(p) = peer {
        cmd.args(["--peer", p]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn node");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut addr = None;
    let mut peer_id = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
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
    let addr = addr.expect("node printed its address");
    let peer_id = peer_id.expect("node printed its peer id");
    assert!(
        addr.starts_with("/ip4/127.0.0.1/tcp/") && addr.ends_with(&format!("/p2p/{peer_id}")),
        "{addr}"
    );
    NodeProc {
        child,
        data: data.to_path_buf(),
        addr,
    }
}

fn fragfs(args: &[&str], data: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run fragfs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn wait_for_peers(node: &NodeProc, n: usize) {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let o = fragfs(&["peers", "--json"], &node.data);
        if o.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            if v.as_array()
                .unwrap()
                .iter()
                .filter(|p| p["storage"] == true)
                .count()
                >= n
            {
                return;
            }
        }
        assert!(Instant::now() < until, "node did not see {n} peers");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn assert_one_line_error(o: &Output, contains: &str) {
    assert!(!o.status.success());
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("fragfs: error: "), "{err}");
    assert!(err.contains(contains), "{err} should mention {contains}");
}

#[test]
fn t10_put_get_peers_status_through_real_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), None);
    let b = start_node(&tmp.path().join("b"), Some(&a.addr));
    let c = start_node(&tmp.path().join("c"), Some(&a.addr));
    for n in [&a, &b, &c] {
        wait_for_peers(n, 2);
    }

    let data = random_bytes(3 * 1024 * 1024 + 12345);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let o = fragfs(&["put", src.to_str().unwrap()], &a.data);
    assert!(o.status.success(), "put: {}", stderr(&o));
    let id = stdout(&o).trim().to_string();
    assert_eq!(id.len(), 68, "prints the id: {id}");

    let out = tmp.path().join("out.bin");
    let o = fragfs(&["get", &id, out.to_str().unwrap()], &c.data);
    assert!(o.status.success(), "get: {}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), data);

    // A light client that only knows peer b.
    let out2 = tmp.path().join("out2.bin");
    let o = Command::new(BIN)
        .args(["get", &id, out2.to_str().unwrap(), "--peer", &b.addr])
        .output()
        .unwrap();
    assert!(o.status.success(), "light get: {}", stderr(&o));
    assert_eq!(std::fs::read(&out2).unwrap(), data);

    let o = fragfs(&["status", "--json"], &b.data);
    assert!(o.status.success());
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        s["store"]["fragments"], 5,
        "4 data fragments + the manifest: {s}"
    );
    assert_eq!(s["storage_peers"], 2);

    let o = fragfs(&["peers"], &a.data);
    assert!(stdout(&o).contains(&b.addr.rsplit('/').next().unwrap().to_string()));
}

#[test]
fn t20_bad_input_gives_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let none = tmp.path().join("no-node");
    assert_one_line_error(&fragfs(&["peers"], &none), "no node is running");
    assert_one_line_error(
        &fragfs(&["get", "not-an-id", "/tmp/x"], &none),
        "not a fragment id",
    );
    assert_one_line_error(
        &fragfs(&["put", "/nonexistent/file"], &none),
        "/nonexistent/file",
    );
    assert_one_line_error(
        &fragfs(&["put", "/etc/hostname", "--replicas", "0"], &none),
        "replica count 0",
    );
    assert_one_line_error(
        &fragfs(&["put", "/etc/hostname", "--fragment-size", "1K"], &none),
        "fragment size",
    );

    let a = start_node(&tmp.path().join("a"), None);
    let missing = "1620".to_string() + &"ab".repeat(32);
    let o = fragfs(
        &["get", &missing, tmp.path().join("o").to_str().unwrap()],
        &a.data,
    );
    assert_one_line_error(&o, "unavailable");
    // A second node on the same data directory is refused.
    let o = Command::new(BIN)
        .args([
            "node",
            "--no-mdns",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--data",
        ])
        .arg(&a.data)
        .output()
        .unwrap();
    assert_one_line_error(&o, "already running");
}

#[test]
fn t10_sigterm_stops_a_node_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = start_node(&tmp.path().join("a"), None);
    assert!(a.data.join("control.sock").exists());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(a.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = a.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!a.data.join("control.sock").exists());
}
