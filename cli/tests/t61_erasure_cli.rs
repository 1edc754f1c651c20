//! `fragfs put --redundancy rs:K+M` through real node processes: the file
//! is stored as shards and comes back byte-identical through another node
//! and through a light client; a spec that does not fit the network, or
//! none at all, is one line of error.

use crate::common;
use common::{
    cli::{assert_one_line_error, fragfs, stderr, stdout, wait_until, NodeProc, BIN},
    random_bytes,
};
use fragfs::fragment::{FragmentId, HashAlgo};
use std::{path::Path, process::Command, time::Duration};

fn start_node(data: &Path, peer: Option<&str>) -> NodeProc {
    let extra: Vec<&str> = peer.map(|p| vec!["--peer", p]).unwrap_or_default();
    common::cli::start_node(data, &extra)
}

fn storage_peers(node: &NodeProc) -> usize {
    let o = fragfs(&["peers", "--json"], &node.data);
    if !o.status.success() {
        return 0;
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v.as_array()
        .map_or(0, |a| a.iter().filter(|p| p["storage"] == true).count())
}

#[test]
fn t10_put_with_rs_and_get_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), None);
    let b = start_node(&tmp.path().join("b"), Some(&a.addr));
    let c = start_node(&tmp.path().join("c"), Some(&a.addr));
    for n in [&a, &b, &c] {
        assert!(
            wait_until(Duration::from_secs(20), || storage_peers(n) >= 2),
            "node did not see its 2 peers"
        );
    }
    let data = random_bytes(300_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let src = src.to_str().unwrap();

    let o = fragfs(
        &[
            "put",
            src,
            "--redundancy",
            "rs:2+1",
            "--fragment-size",
            "64K",
        ],
        &a.data,
    );
    assert!(o.status.success(), "put: {}", stderr(&o));
    let id = stdout(&o).trim().to_string();

    let out = tmp.path().join("out.bin");
    let o = fragfs(&["get", &id, out.to_str().unwrap()], &c.data);
    assert!(o.status.success(), "get: {}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), data);

    let out2 = tmp.path().join("out2.bin");
    let o = Command::new(BIN)
        .args(["get", &id, out2.to_str().unwrap(), "--peer", &b.addr])
        .output()
        .unwrap();
    assert!(o.status.success(), "light get: {}", stderr(&o));
    assert_eq!(std::fs::read(&out2).unwrap(), data);

    // 5 fragments, each 3 shards and 3 stripes on 3 peers: every peer has
    // one shard and the stripe of each fragment.
    let o = fragfs(&["status", "--json"], &b.data);
    assert!(o.status.success());
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(s["store"]["fragments"].as_u64().unwrap() >= 10, "{s}");
    assert_eq!(s["erasure"]["degraded_reads"], 0, "{s}");

    // Five shards do not fit on three peers.
    let o = fragfs(&["put", src, "--redundancy", "rs:3+2"], &a.data);
    assert_one_line_error(&o, "5 needed");
}

#[test]
fn t10_bad_redundancy_specs_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    for (spec, want) in [
        ("rs:0+2", "data shards is out of range"),
        ("rs:4+33", "parity shards is out of range"),
        ("rs:4", "is not replicas:N or rs:K+M"),
        ("mirror:2", "unknown"),
        ("replicas:17", "out of range"),
    ] {
        let o = fragfs(&["put", "f", "--redundancy", spec], tmp.path());
        assert_one_line_error(&o, want);
        assert!(stderr(&o).contains("--redundancy"), "{}", stderr(&o));
        assert_eq!(o.status.code(), Some(2), "{spec}: usage errors exit 2");
    }
}

/// Whether `node`'s store holds fragment `id` (`store/DESIGN.md`).
fn holds(node: &NodeProc, id: &str) -> bool {
    node.data
        .join("store/fragments")
        .join(&id[4..6])
        .join(id)
        .is_file()
}

/// A pinned rs file is kept whole on the pinning node: each fragment under
/// its own id, beside its stripe.
#[test]
fn t20_a_pinned_rs_file_is_kept_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), None);
    let b = start_node(&tmp.path().join("b"), Some(&a.addr));
    assert!(wait_until(Duration::from_secs(20), || storage_peers(&a) >= 1));
    let data = random_bytes(3 * 65536);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let o = fragfs(
        &[
            "put",
            src.to_str().unwrap(),
            "/f.bin",
            "--redundancy",
            "rs:1+1",
            "--replicas",
            "2",
            "--fragment-size",
            "64K",
        ],
        &a.data,
    );
    assert!(o.status.success(), "put: {}", stderr(&o));

    let c = start_node(&tmp.path().join("c"), Some(&a.addr));
    assert!(wait_until(Duration::from_secs(20), || storage_peers(&c) >= 2));
    let o = fragfs(&["pin", "/f.bin"], &c.data);
    assert!(o.status.success(), "pin: {}", stderr(&o));
    let info: serde_json::Value =
        serde_json::from_slice(&fragfs(&["info", "/f.bin", "--json"], &c.data).stdout).unwrap();
    let stripes: Vec<&str> = info["fragments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(stripes.len(), 3);
    for (i, (stripe, chunk)) in stripes.iter().zip(data.chunks(65536)).enumerate() {
        let whole = FragmentId::of(HashAlgo::Sha3_256, chunk).to_hex();
        assert!(holds(&c, stripe), "stripe {i} kept");
        assert!(holds(&c, &whole), "fragment {i} kept whole");
    }
    drop(b);
}
