//! The scrubber on real node processes on 127.0.0.1: a fragment damaged
//! on one node's disk is found by the background re-verification,
//! quarantined into `corrupt/` and replaced by a verified copy from the
//! other peers; `fragfs workers` and `fragfs status` show it. Bad
//! `--scrub-*` values are one-line errors, and `--scrub-rate 0` runs no
//! scrubber.

use crate::common;
use common::{
    cli::{assert_one_line_error, fragfs, start_node, stderr, wait_until, NodeProc},
    random_bytes,
};
use serde_json::Value;
use std::{
    io::{Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    process::Output,
    time::Duration,
};

/// The fragment size the test puts with (`--fragment-size 64K`).
const FRAG: usize = 64 * 1024;
const PATH: &str = "/scrub/f.bin";
/// A fast scrubber: a pass every second at 64 MiB/s.
const FAST: &[&str] = &["--scrub-rate", "64MiB", "--scrub-every", "1s"];

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("JSON")
}

fn storage_peers(node: &NodeProc) -> usize {
    let o = fragfs(&["peers", "--json"], &node.data);
    if !o.status.success() {
        return 0;
    }
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    v.as_array()
        .map_or(0, |a| a.iter().filter(|p| p["storage"] == true).count())
}

fn scrub_worker(node: &NodeProc) -> Option<Value> {
    let v = json(&fragfs(&["workers", "--json"], &node.data));
    v.as_array()?.iter().find(|w| w["name"] == "scrub").cloned()
}

/// The `scrub` counters of `fragfs status --json`.
fn scrub_status(node: &NodeProc) -> Value {
    json(&fragfs(&["status", "--json"], &node.data))["scrub"].clone()
}

/// Where `node`'s store keeps fragment `id` (`store/DESIGN.md`).
fn fragment_path(node: &NodeProc, id: &str) -> PathBuf {
    node.data.join("store/fragments").join(&id[4..6]).join(id)
}

/// The quarantined copies of `id` in `node`'s `corrupt/`.
fn quarantined(node: &NodeProc, id: &str) -> Vec<Vec<u8>> {
    let Ok(dir) = std::fs::read_dir(node.data.join("store/corrupt")) else {
        return vec![];
    };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(id))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect()
}

/// Flips 16 bytes of the file at `path` in place (same length, same
/// inode); returns the damaged bytes.
fn damage(path: &Path) -> Vec<u8> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open the fragment file");
    let good = std::fs::read(path).expect("read the fragment file");
    let at = 100;
    let flipped: Vec<u8> = good[at..at + 16].iter().map(|b| !b).collect();
    f.seek(SeekFrom::Start(at as u64)).expect("seek");
    f.write_all(&flipped).expect("overwrite");
    f.sync_all().expect("sync");
    let mut bad = good;
    bad[at..at + 16].copy_from_slice(&flipped);
    bad
}

#[test]
fn t10_a_corrupt_copy_is_quarantined_and_repaired_from_the_others() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = start_node(&tmp.path().join("a"), FAST);
    let peer = ["--peer", a.addr.as_str()];
    let b = start_node(&tmp.path().join("b"), &[&peer[..], FAST].concat());
    let c = start_node(&tmp.path().join("c"), &[&peer[..], FAST].concat());
    for n in [&a, &b, &c] {
        assert!(
            wait_until(Duration::from_secs(30), || storage_peers(n) >= 2),
            "the three nodes did not meet"
        );
    }
    let data = random_bytes(3 * FRAG + 1);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).expect("write the source");
    let o = fragfs(
        &[
            "put",
            src.to_str().expect("utf-8"),
            PATH,
            "--replicas",
            "3",
            "--fragment-size",
            "64K",
        ],
        &a.data,
    );
    assert!(o.status.success(), "put: {}", stderr(&o));
    let info = json(&fragfs(&["info", PATH, "--json"], &a.data));
    let id = info["fragments"][1]["id"]
        .as_str()
        .expect("a fragment id")
        .to_string();
    let on_disk = fragment_path(&c, &id);
    let good = std::fs::read(&on_disk).expect("c holds every fragment");
    assert_eq!(good, data[FRAG..2 * FRAG], "the fragment's bytes");

    let bad = damage(&on_disk);
    assert_ne!(bad, good);
    let repaired = wait_until(Duration::from_secs(60), || {
        std::fs::read(&on_disk).is_ok_and(|now| now == good)
            && quarantined(&c, &id).contains(&bad)
            && scrub_status(&c)["repaired"].as_u64() >= Some(1)
    });
    assert!(
        repaired,
        "not repaired: on disk {:?}, quarantined {}; workers {}",
        std::fs::read(&on_disk).map(|d| d == good),
        quarantined(&c, &id).len(),
        fragfs_out(&c, "workers")
    );

    let s = json(&fragfs(&["status", "--json"], &c.data));
    assert!(s["scrub"]["corrupt_found"].as_u64() >= Some(1), "{s}");
    assert!(s["scrub"]["repaired"].as_u64() >= Some(1), "{s}");
    assert!(s["scrub"]["fragments"].as_u64() >= Some(4), "{s}");
    assert!(s["store"]["corrupt_found"].as_u64() >= Some(1), "{s}");
    let text = fragfs_out(&c, "status");
    assert!(
        text.lines()
            .any(|l| l.starts_with("scrub:") && l.contains("repaired")),
        "{text}"
    );

    let w = scrub_worker(&c).expect("scrub is listed");
    assert_eq!(w["unit"], "bytes", "{w}");
    assert_eq!(w["rate_limit"], 64 << 20, "{w}");
    assert!(w["done_total"].as_u64() >= Some(good.len() as u64), "{w}");
    assert!(w["runs"].as_u64() >= Some(1), "{w}");
    // The repaired node serves the file whole again.
    let out = tmp.path().join("out.bin");
    let o = fragfs(&["get", PATH, out.to_str().expect("utf-8")], &c.data);
    assert!(o.status.success(), "get: {}", stderr(&o));
    assert_eq!(std::fs::read(&out).expect("read back"), data);
}

fn fragfs_out(node: &NodeProc, cmd: &str) -> String {
    String::from_utf8_lossy(&fragfs(&[cmd], &node.data).stdout).into_owned()
}

#[test]
fn t20_scrub_rate_zero_runs_no_scrubber_and_bad_values_are_one_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = start_node(&tmp.path().join("a"), &["--scrub-rate", "0"]);
    assert!(scrub_worker(&a).is_none(), "no scrub worker at rate 0");
    let on = start_node(&tmp.path().join("b"), &[]);
    let w = scrub_worker(&on).expect("scrubbing is on by default");
    assert_eq!(w["rate_limit"], 16 << 20, "{w}");

    let d = tmp.path().join("unused");
    let cases: &[(&[&str], &str)] = &[
        (&["node", "--scrub-rate", "fast"], "--scrub-rate"),
        (&["node", "--scrub-every", "10"], "needs a unit"),
        (&["node", "--scrub-every", "5w"], "unknown unit"),
        (&["node", "--scrub-every", "500ms"], "shorter than 1s"),
        (&["up", "--scrub-every", "soon"], "--scrub-every"),
    ];
    for (argv, want) in cases {
        let o = fragfs(argv, &d);
        assert_one_line_error(&o, want);
        assert_eq!(o.status.code(), Some(2), "{argv:?}: usage errors exit 2");
    }
}

#[test]
fn t30_a_repair_with_no_other_holder_fails_and_is_retried_until_one_is_back() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = start_node(&tmp.path().join("a"), FAST);
    let with_a = [&["--peer", a.addr.as_str()][..], FAST].concat();
    let mut b = start_node(&tmp.path().join("b"), &with_a);
    for n in [&a, &b] {
        assert!(
            wait_until(Duration::from_secs(30), || storage_peers(n) >= 1),
            "the two nodes did not meet"
        );
    }
    let data = random_bytes(2 * FRAG);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).expect("write the source");
    let o = fragfs(
        &[
            "put",
            src.to_str().expect("utf-8"),
            PATH,
            "--replicas",
            "2",
            "--fragment-size",
            "64K",
        ],
        &a.data,
    );
    assert!(o.status.success(), "put: {}", stderr(&o));
    let info = json(&fragfs(&["info", PATH, "--json"], &a.data));
    let id = info["fragments"][0]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let on_disk = fragment_path(&a, &id);
    let good = std::fs::read(&on_disk).expect("a holds every fragment");

    // The only other holder stops: the repair cannot be done.
    assert!(b.proc.terminate(), "b stops");
    let bad = damage(&on_disk);
    let failing = wait_until(Duration::from_secs(60), || {
        scrub_worker(&a).is_some_and(|w| {
            w["state"].get("Failing").is_some()
                && w["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("not repaired yet"))
        })
    });
    assert!(failing, "{:?}", scrub_worker(&a));
    assert!(quarantined(&a, &id).contains(&bad));
    assert!(!on_disk.exists(), "the corrupt copy is not served");

    // b comes back: the next retry repairs the copy.
    b = start_node(&tmp.path().join("b"), &with_a);
    let repaired = wait_until(Duration::from_secs(90), || {
        std::fs::read(&on_disk).is_ok_and(|now| now == good)
            && scrub_status(&a)["repaired"].as_u64() >= Some(1)
    });
    assert!(repaired, "not repaired: {:?}", scrub_worker(&a));
    drop(b);
}

#[test]
fn t40_an_unreadable_fragment_fails_the_pass_and_retries_with_backoff() {
    use fragfs::fragment::{FragmentId, HashAlgo};
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("a");
    // A directory where a fragment file should be: listed, never readable.
    let id = FragmentId::of(HashAlgo::Sha3_256, b"unreadable").to_hex();
    std::fs::create_dir_all(data.join("store/fragments").join(&id[4..6]).join(&id))
        .expect("make the directory");
    let a = start_node(&data, FAST);
    let errors = |n: &NodeProc| scrub_worker(n).and_then(|w| w["errors"].as_u64());
    assert!(
        wait_until(Duration::from_secs(30), || errors(&a) >= Some(1)),
        "{:?}",
        scrub_worker(&a)
    );
    let first = std::time::Instant::now();
    let w = scrub_worker(&a).expect("scrub");
    assert!(
        w["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("could not be checked") && e.contains(&id)),
        "{w}"
    );
    // Failed passes are retried after 1 s, then 2 s: not at once, even
    // with a pass due every second.
    assert!(
        wait_until(Duration::from_secs(30), || errors(&a) >= Some(3)),
        "{:?}",
        scrub_worker(&a)
    );
    assert!(
        first.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        first.elapsed()
    );
    let o = fragfs(&["status"], &a.data);
    assert!(o.status.success(), "the node still answers: {}", stderr(&o));
}
