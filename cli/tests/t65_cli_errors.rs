//! Every way the `fragfs` command line can fail says so on one line,
//! `fragfs: error: …`, with a non-zero exit and no panic or backtrace
//! (`RUST_BACKTRACE=1` is set): bad arguments, no node running, a data
//! directory in use, a voter that does not exist; an unreachable `--peer`
//! is reported while the node keeps running; and a voter started with
//! `--meta --peer` joins the cluster and finds its leader by itself.

use crate::common;
use common::cli::{assert_one_line_error, fragfs, start_node, stderr, stdout, wait_until, BIN};
use fragfs::testing::{ChildGuard, MountGuard, NodeProc};
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

const JOIN_DEADLINE: Duration = Duration::from_secs(60);

/// A program built beside `fragfs` (`cargo build --workspace`).
fn sibling(name: &str) -> PathBuf {
    let p = Path::new(BIN).with_file_name(name);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build --workspace`",
        p.display()
    );
    p
}

#[test]
fn t10_argument_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let cases: &[(&[&str], &str)] = &[
        (&[], "requires a subcommand"),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (&["node", "--capacity", "lots"], "--capacity"),
        (&["node", "--listen", "not-an-address"], "--listen"),
        (&["node", "--meta", "--no-meta"], "--no-meta"),
        (&["put"], "<FILE>"),
        (&["put", "f", "--replicas", "many"], "--replicas"),
        (&["put", "f", "--hash", "md5"], "--hash"),
        (&["get", "id"], "<OUT>"),
        (&["get", "id", "out", "--peer", "x"], "--peer"),
        (&["peers", "--bogus"], "--bogus"),
        (&["status", "extra"], "'extra'"),
        (&["ls", "/", "/more"], "'/more'"),
        (&["info"], "<PATH>"),
        (&["search"], "<TEXT>"),
        (&["mkdir"], "<PATH>"),
        (&["history"], "<PATH>"),
        (&["revert", "/a"], "<VERSION>"),
        (&["revert", "/a", "x"], "not a version number"),
        (&["policy", "/a", "maybe"], "'maybe'"),
        (&["conflicts", "--limit", "lots"], "--limit"),
        (&["tree", "--json=yes"], "--json"),
        (&["up", "--replicas", "0"], "--replicas"),
        (&["up", "--meta-timeout", "0"], "--meta-timeout"),
        (&["up", "--cache-size", "lots"], "--cache-size"),
        (&["meta"], "requires a subcommand"),
        (&["meta", "add"], "<MULTIADDR>"),
        (&["meta", "remove", "x"], "<NODE_ID>"),
        (&["meta", "frobnicate"], "'frobnicate'"),
        (&["demo", "--size", "lots"], "--size"),
        (&["bench", "--size", "x"], "--size"),
        (&["bench-meta", "--ops", "-1"], "-1"),
    ];
    for (argv, want) in cases {
        let o = fragfs(argv, d);
        assert_one_line_error(&o, want);
        assert_eq!(o.status.code(), Some(2), "{argv:?}: usage errors exit 2");
    }
}

#[test]
fn t10_help_and_version_print_and_exit_zero() {
    let tmp = tempfile::tempdir().unwrap();
    for argv in [
        &["--help"][..],
        &["--version"],
        &["put", "--help"],
        &["up", "--help"],
        &["meta", "remove", "--help"],
    ] {
        let o = fragfs(argv, tmp.path());
        assert!(o.status.success(), "{argv:?}: {}", stderr(&o));
        assert!(stdout(&o).contains("fragfs"), "{argv:?}: {}", stdout(&o));
        assert!(stderr(&o).is_empty(), "{argv:?}: {}", stderr(&o));
    }
    let o = Command::new(sibling("mount-fragfs"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success(), "mount.fragfs --help: {}", stderr(&o));
    let help = stdout(&o);
    assert!(help.starts_with("usage: mount.fragfs SOURCE DIR"), "{help}");
    for option in ["data=DIR", "peer=MULTIADDR", "cache_size=BYTES", "no_store"] {
        assert!(help.contains(option), "{option} missing: {help}");
    }
    // fragfs up and fragfs-mountd take the same options.
    let up = stdout(&fragfs(&["up", "--help"], tmp.path()));
    let mountd = Command::new(sibling("fragfs-mountd"))
        .arg("--help")
        .output()
        .unwrap();
    let mountd = stdout(&mountd);
    let longs = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .split_whitespace()
            .filter(|w| w.starts_with("--"))
            .map(|w| w.trim_end_matches(',').to_string())
            .filter(|w| !["--data", "--log", "--help", "--version"].contains(&w.as_str()))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(longs(&up), longs(&mountd), "up:\n{up}\nmountd:\n{mountd}");
    assert!(longs(&up).len() >= 12, "{up}");
}

#[test]
fn t20_every_command_without_a_node_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let none = tmp.path().join("no-node");
    let src = tmp.path().join("src");
    std::fs::write(&src, b"x").unwrap();
    let out = tmp.path().join("out");
    let id = "1620".to_string() + &"ab".repeat(32);
    let src = src.to_str().unwrap();
    let out = out.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["peers"],
        &["status", "--json"],
        &["ls"],
        &["info", "/a"],
        &["search", "a"],
        &["mkdir", "/a"],
        &["tree"],
        &["meta", "status"],
        &["meta", "add", "/ip4/127.0.0.1/tcp/1"],
        &["meta", "remove", "1"],
        &["put", src, "/a"],
        &["get", &id, out],
        &["get", "/a", out],
        &["pin", "/a"],
        &["pin", "--list"],
        &["unpin", "/a"],
        &["pins"],
        &["sync"],
        &["history", "/a"],
        &["revert", "/a", "1"],
        &["policy", "/a"],
        &["policy", "/a", "lww"],
        &["conflicts", "--json"],
    ];
    for argv in cases {
        let o = fragfs(argv, &none);
        assert_one_line_error(&o, "no node is running");
        assert_eq!(o.status.code(), Some(1), "{argv:?}");
    }
    // A light client whose peer does not answer.
    let o = fragfs(&["get", &id, out, "--peer", "/ip4/127.0.0.1/tcp/1"], &none);
    assert_one_line_error(&o, "cannot reach any storage peer");
}

#[test]
fn t20_a_data_directory_in_use_is_one_line_naming_the_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &[]);
    let in_use = format!("(pid {})", a.pid());
    let o = fragfs(
        &["node", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"],
        &a.data,
    );
    assert_one_line_error(&o, "is in use");
    assert!(stderr(&o).contains(&in_use), "{}", stderr(&o));
    let mnt = tmp.path().join("mnt");
    let o = fragfs(&["up", mnt.to_str().unwrap()], &a.data);
    assert_one_line_error(&o, "is in use");
    assert!(stderr(&o).contains(&in_use), "{}", stderr(&o));
    assert!(!mnt.exists(), "nothing was created for a refused mount");
}

#[test]
fn t30_an_unreachable_peer_is_reported_and_the_node_keeps_running() {
    let tmp = tempfile::tempdir().unwrap();
    // A real peer's address, then nobody listening there.
    let dead = start_node(&tmp.path().join("dead"), &[]).addr.clone();
    let mut b = start_node(&tmp.path().join("b"), &["--peer", &dead]);
    let said = format!("fragfs: warning: peer {dead} could not be reached");
    assert!(
        wait_until(Duration::from_secs(30), || b.stderr().contains(&said)),
        "stderr: {}",
        b.stderr()
    );
    let lines: Vec<String> = b
        .stderr()
        .lines()
        .filter(|l| l.contains(&dead))
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 1, "said once, on one line: {lines:?}");
    assert!(b.running(), "the node keeps running");
    let o = fragfs(&["status", "--json"], &b.data);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn t40_removing_a_voter_that_does_not_exist_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &[]);
    let me = meta_status(&a)["node_id"].as_u64().expect("node id");
    let other = me.wrapping_add(1);
    let o = fragfs(&["meta", "remove", &other.to_string()], &a.data);
    assert_one_line_error(&o, &format!("node {other} is not a metadata voter"));
    assert!(stderr(&o).contains(&me.to_string()), "names the voters");
    assert_eq!(voters(&meta_status(&a)), [me]);
}

fn meta_status(n: &NodeProc) -> serde_json::Value {
    let o = fragfs(&["meta", "status", "--json"], &n.data);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("json")
}

fn voters(s: &serde_json::Value) -> Vec<u64> {
    s["voters"]
        .as_array()
        .expect("voters")
        .iter()
        .filter_map(|v| v[0].as_u64())
        .collect()
}

#[test]
fn t50_a_voter_started_with_a_peer_joins_and_finds_the_leader() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &[]);
    let leader = meta_status(&a)["node_id"].as_u64().expect("node id");
    let b = start_node(&tmp.path().join("b"), &["--meta", "--peer", &a.addr]);
    let b_id = meta_status(&b)["node_id"].as_u64().expect("node id");
    let joined = wait_until(JOIN_DEADLINE, || {
        let s = meta_status(&b);
        s["leader"].as_u64() == Some(leader) && voters(&s).contains(&b_id)
    });
    assert!(joined, "b: {} stderr: {}", meta_status(&b), b.stderr());
    // The line follows the membership change that the status already shows.
    let said = format!("fragfs: joined the metadata cluster as voter {b_id}");
    assert!(
        wait_until(JOIN_DEADLINE, || b.stderr().contains(&said)),
        "{}",
        b.stderr()
    );
    let mut both = voters(&meta_status(&a));
    both.sort();
    let mut want = vec![leader, b_id];
    want.sort();
    assert_eq!(both, want);
    // A non-voter that knows only b reads and writes the namespace.
    let c = start_node(&tmp.path().join("c"), &["--peer", &b.addr]);
    let o = fragfs(&["mkdir", "/through-b"], &c.data);
    assert!(o.status.success(), "mkdir via c: {}", stderr(&o));
    let o = fragfs(&["tree", "--json"], &a.data);
    assert!(o.status.success(), "{}", stderr(&o));
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(t["stale"], false);
    assert!(
        t["paths"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["path"] == "/through-b"),
        "{t}"
    );
    let o = fragfs(&["tree", "--json"], &c.data);
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        t["stale"], false,
        "c reads through a voter that knows the leader"
    );
}

#[test]
fn t50_a_mount_through_a_voter_that_is_still_joining_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &[]);
    let b = start_node(&tmp.path().join("b"), &["--meta", "--peer", &a.addr]);
    // At once, while b may not yet know any leader.
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let log = tmp.path().join("mountd.log");
    let child = Command::new(sibling("fragfs-mountd"))
        .args([
            "--no-mdns",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--peer",
            &b.addr,
        ])
        .arg("--data")
        .arg(tmp.path().join("m"))
        .arg(&mnt)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn fragfs-mountd");
    let mut m = MountGuard {
        proc: ChildGuard::new(child),
        mnt: mnt.clone(),
    };
    let mounted = wait_until(JOIN_DEADLINE, || {
        std::fs::read_to_string(&log).is_ok_and(|s| s.contains("mounted at"))
            || !matches!(m.proc.child.try_wait(), Ok(None))
    });
    assert!(
        mounted && matches!(m.proc.child.try_wait(), Ok(None)),
        "the mount did not start; b: {}",
        b.stderr()
    );
    std::fs::create_dir(mnt.join("made-in-mount")).unwrap();
    let o = fragfs(&["tree", "--json"], &a.data);
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        t["paths"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["path"] == "/made-in-mount"),
        "{t}"
    );
}
