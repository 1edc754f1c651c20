//! The `fragfs` binary end to end: real node processes on 127.0.0.1, the CLI
//! talking to them through their control sockets or joining with `--peer`.

use crate::common;
use common::{
    cli::{assert_one_line_error, fragfs, stderr, stdout, NodeProc, BIN},
    random_bytes,
};
use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

fn start_node(data: &Path, peer: Option<&str>) -> NodeProc {
    let extra: Vec<&str> = peer.map(|p| vec!["--peer", p]).unwrap_or_default();
    common::cli::start_node(data, &extra)
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
    assert_one_line_error(&o, "is in use");
    assert!(
        stderr(&o).contains(&format!("(pid {})", a.pid())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn t10_sigterm_stops_a_node_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = start_node(&tmp.path().join("a"), None);
    assert!(a.data.join("control.sock").exists());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(a.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = a.proc.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!a.data.join("control.sock").exists());
}
