//! The metadata cluster as real processes: three `fragfs node --meta`
//! voters on 127.0.0.1, driven through the CLI. The leader is killed (-9),
//! writes resume under a new leader, every survivor holds the same tree, and
//! restarted voters catch up (through a snapshot when the log was compacted).

use crate::common;
use fragfs::testing::NodeProc;
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_fragfs");

/// A voter process; killed (-9) by its PID when dropped.
struct Voter {
    node: Option<NodeProc>,
    data: PathBuf,
    addr: String,
    node_id: u64,
    snapshot_every: u64,
}

impl Voter {
    fn start(data: &Path, listen: &str, peer: Option<&str>, snapshot_every: u64) -> Voter {
        let every = snapshot_every.to_string();
        let mut extra = vec!["--meta", "--meta-snapshot-every", &every];
        if let Some(p) = peer {
            extra.extend(["--peer", p]);
        }
        let mut node = NodeProc::start_on(Path::new(BIN), data, listen, &extra);
        let node_id = node
            .wait_line("metadata voter: node id ", Duration::from_secs(60))
            .expect("node id")
            .parse()
            .expect("a number");
        Voter {
            data: data.to_path_buf(),
            addr: node.addr.clone(),
            node: Some(node),
            node_id,
            snapshot_every,
        }
    }

    /// The same voter again, on the same data directory and port.
    fn restart(&mut self, peer: &str) {
        self.kill();
        let listen = self.addr.split("/p2p/").next().unwrap().to_string();
        let mut new = Voter::start(&self.data, &listen, Some(peer), self.snapshot_every);
        assert_eq!(new.node_id, self.node_id, "identity survives a restart");
        self.node = new.node.take();
        self.addr = new.addr.clone();
    }

    fn kill(&mut self) {
        if let Some(mut n) = self.node.take() {
            n.proc.kill9();
        }
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--data")
            .arg(&self.data)
            .output()
            .expect("run fragfs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.cli(args);
        assert!(
            o.status.success(),
            "fragfs {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["meta", "status", "--json"])).unwrap()
    }

    fn local_tree(&self) -> Vec<Value> {
        let v: Value = serde_json::from_str(&self.ok(&["tree", "--local", "--json"])).unwrap();
        v["paths"].as_array().unwrap().clone()
    }
}

fn until<T>(deadline: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn cluster(base: &Path, snapshot_every: u64) -> Vec<Voter> {
    let a = Voter::start(
        &base.join("a"),
        "/ip4/127.0.0.1/tcp/0",
        None,
        snapshot_every,
    );
    let b = Voter::start(
        &base.join("b"),
        "/ip4/127.0.0.1/tcp/0",
        Some(&a.addr),
        snapshot_every,
    );
    let c = Voter::start(
        &base.join("c"),
        "/ip4/127.0.0.1/tcp/0",
        Some(&a.addr),
        snapshot_every,
    );
    until(Duration::from_secs(10), "a leader", || {
        a.status()["leader"].as_u64()
    });
    a.ok(&["meta", "add", &b.addr]);
    a.ok(&["meta", "add", &c.addr]);
    let st = a.status();
    assert_eq!(st["voters"].as_array().unwrap().len(), 3, "{st}");
    vec![a, b, c]
}

/// Creates `n` directories in batches: /<prefix><i>/e<j>.
fn build_tree(v: &Voter, prefix: &str, dirs: usize, per_dir: usize) {
    for i in 0..dirs {
        let paths: Vec<String> = (0..per_dir).map(|j| format!("/{prefix}{i}/e{j}")).collect();
        let mut args = vec!["mkdir"];
        args.extend(paths.iter().map(String::as_str));
        v.ok(&args);
    }
}

#[test]
fn t10_leader_killed_new_leader_writes_resume_survivors_agree_restart_catches_up() {
    let tmp = tempfile::tempdir().unwrap();
    let mut voters = cluster(tmp.path(), 10_000);
    // 40 directories with 24 entries each: 1,000 entries.
    build_tree(&voters[0], "d", 40, 24);
    let full = voters[0].local_tree();
    assert_eq!(full.len(), 1000);

    let leader_id = voters[0].status()["leader"].as_u64().unwrap();
    let li = voters.iter().position(|v| v.node_id == leader_id).unwrap();
    voters[li].kill();
    let killed_at = Instant::now();
    let survivors: Vec<usize> = (0..3).filter(|&i| i != li).collect();
    // Writes resume through a survivor under a new leader.
    until(
        Duration::from_secs(10),
        "a write after the leader died",
        || {
            voters[survivors[0]]
                .cli(&["mkdir", "/after"])
                .status
                .success()
                .then_some(())
        },
    );
    let resumed = killed_at.elapsed();
    assert!(
        resumed < Duration::from_secs(5),
        "writes resumed after {resumed:?}"
    );
    let new_leader = voters[survivors[0]].status()["leader"].as_u64().unwrap();
    assert_ne!(new_leader, leader_id);

    // Every survivor holds the same tree.
    let expect = until(Duration::from_secs(10), "survivors to agree", || {
        let t0 = voters[survivors[0]].local_tree();
        let t1 = voters[survivors[1]].local_tree();
        (t0 == t1 && t0.len() == 1001).then_some(t0)
    });
    for e in &full {
        assert!(expect.contains(e), "{e} survived");
    }

    // The killed voter restarts and catches up.
    let peer = voters[survivors[0]].addr.clone();
    voters[li].restart(&peer);
    until(
        Duration::from_secs(20),
        "the restarted voter to catch up",
        || (voters[li].local_tree() == expect).then_some(()),
    );
}

#[test]
fn t20_a_voter_behind_a_compacted_log_is_restored_by_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let mut voters = cluster(tmp.path(), 50);
    build_tree(&voters[0], "x", 2, 5);
    let leader_id = voters[0].status()["leader"].as_u64().unwrap();
    // Stop a follower.
    let fi = voters.iter().position(|v| v.node_id != leader_id).unwrap();
    let li = voters.iter().position(|v| v.node_id == leader_id).unwrap();
    let behind = until(Duration::from_secs(10), "the follower to apply", || {
        voters[fi].status()["last_applied"].as_u64()
    });
    voters[fi].kill();
    // Enough writes for the leader to snapshot and purge past the follower.
    build_tree(&voters[li], "y", 10, 30);
    let purged = until(
        Duration::from_secs(10),
        "the leader to compact its log",
        || {
            voters[li].status()["purged"]
                .as_u64()
                .filter(|&p| p > behind)
        },
    );
    let expect = voters[li].local_tree();
    let peer = voters[li].addr.clone();
    voters[fi].restart(&peer);
    until(Duration::from_secs(20), "the follower to catch up", || {
        (voters[fi].local_tree() == expect).then_some(())
    });
    let snap = voters[fi].status()["snapshot"]
        .as_u64()
        .expect("the follower holds a snapshot");
    assert!(
        snap >= purged,
        "restored from a snapshot at {snap}, leader purged up to {purged}"
    );
}

/// A storage peer that is not a voter: its metadata requests go to the voters.
struct Plain(Voter);

fn start_plain(data: &Path, peer: &str) -> Plain {
    let node = NodeProc::start(Path::new(BIN), data, &["--peer", peer]);
    Plain(Voter {
        data: data.to_path_buf(),
        addr: node.addr.clone(),
        node: Some(node),
        node_id: 0,
        snapshot_every: 0,
    })
}

#[test]
fn t10_files_by_path_from_any_node() {
    let tmp = tempfile::tempdir().unwrap();
    let voters = cluster(tmp.path(), 10_000);
    let plain = start_plain(&tmp.path().join("plain"), &voters[0].addr);
    until(
        Duration::from_secs(20),
        "the plain node to see the voters",
        || {
            let v: Value = serde_json::from_str(&plain.0.ok(&["peers", "--json"])).ok()?;
            (v.as_array()?
                .iter()
                .filter(|p| p["storage"] == true)
                .count()
                >= 3)
                .then_some(())
        },
    );

    let data = common::random_bytes(2_500_000);
    let src = tmp.path().join("report.bin");
    std::fs::write(&src, &data).unwrap();
    voters[1].ok(&["put", src.to_str().unwrap(), "/docs/2026/"]);
    // A second version of the same path.
    let data2 = common::random_bytes(1_000_000);
    std::fs::write(&src, &data2).unwrap();
    voters[2].ok(&["put", src.to_str().unwrap(), "/docs/2026/report.bin"]);

    // ls from the plain node.
    let v: Value = serde_json::from_str(&plain.0.ok(&["ls", "/docs/2026", "--json"])).unwrap();
    let rows = v["entries"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "report.bin");
    assert_eq!(rows[0]["size"], 1_000_000);
    assert_eq!(rows[0]["versions"], 2);
    assert!(
        rows[0]["status"].as_str().unwrap().starts_with("ok 3/3"),
        "{}",
        rows[0]
    );
    assert_eq!(v["stale"], false);

    // info names fragments, their holders and both versions.
    let info: Value =
        serde_json::from_str(&voters[0].ok(&["info", "/docs/2026/report.bin", "--json"])).unwrap();
    assert_eq!(info["fragments"].as_array().unwrap().len(), 1);
    assert_eq!(info["fragments"][0]["holders"].as_array().unwrap().len(), 3);
    let versions = info["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["size"], 2_500_000);
    assert_eq!(versions[1]["parent"], 1);

    // search across the network, from every node.
    for n in [&voters[0], &voters[2], &plain.0] {
        let v: Value = serde_json::from_str(&n.ok(&["search", "REPORT", "--json"])).unwrap();
        let found: Vec<&str> = v["found"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(found, ["/docs/2026/report.bin"]);
    }

    // get by path from the plain node returns the newest version.
    let out = tmp.path().join("out.bin");
    plain
        .0
        .ok(&["get", "/docs/2026/report.bin", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap(), data2);
    // Errors name the path and the POSIX reason.
    let o = plain
        .0
        .cli(&["get", "/docs/missing", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file or directory"));
    let o = voters[0].cli(&["ls", "/docs/2026/report.bin/x"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a directory"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Membership: remove a voter, then the cluster has two.
    let last = voters[2].node_id.to_string();
    voters[0].ok(&["meta", "remove", &last]);
    assert_eq!(voters[0].status()["voters"].as_array().unwrap().len(), 2);
}
