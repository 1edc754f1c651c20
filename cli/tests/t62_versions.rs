//! The version commands end to end (`history`, `info`'s fragment owners,
//! `revert`, `policy`, `conflicts`): a real node process on 127.0.0.1 and
//! the `fragfs` binary talking to it through its control socket.

use crate::common;
use common::{
    cli::{assert_one_line_error, fragfs, start_node, stderr, stdout, NodeProc},
    random_bytes,
};
use std::{path::Path, process::Output};

/// Fragments of 64 KiB, so that small files have several.
const FRAG: usize = 64 * 1024;

fn peer_id(node: &NodeProc) -> String {
    node.stdout()
        .lines()
        .find_map(|l| l.strip_prefix("peer id: "))
        .expect("the node printed its peer id")
        .to_string()
}

/// Runs `fragfs ARGS` against `node` and returns its output, which must
/// be a success.
fn ok(node: &NodeProc, args: &[&str]) -> Output {
    let o = fragfs(args, &node.data);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

fn json(node: &NodeProc, args: &[&str]) -> serde_json::Value {
    let o = ok(node, args);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&o)))
}

/// Stores `bytes` as the newest version of `dest`, in 64 KiB fragments
/// on the node alone.
fn put(node: &NodeProc, dir: &Path, bytes: &[u8], dest: &str) {
    let src = dir.join("src.bin");
    std::fs::write(&src, bytes).unwrap();
    let size = FRAG.to_string();
    let args = [
        "put",
        src.to_str().unwrap(),
        dest,
        "--replicas",
        "1",
        "--fragment-size",
        &size,
    ];
    ok(node, &args);
}

fn get(node: &NodeProc, dir: &Path, path: &str) -> Vec<u8> {
    let out = dir.join("out.bin");
    ok(node, &["get", path, out.to_str().unwrap()]);
    std::fs::read(out).unwrap()
}

#[test]
fn t10_history_and_info_show_versions_and_fragment_owners() {
    let tmp = tempfile::tempdir().unwrap();
    let node = start_node(&tmp.path().join("a"), &[]);
    let me = peer_id(&node);
    let v1 = random_bytes(3 * FRAG);
    let mut v2 = v1.clone();
    v2[2 * FRAG + 5] ^= 0xff;
    v2.extend_from_slice(b"tail");
    put(&node, tmp.path(), &v1, "/docs/a.bin");
    put(&node, tmp.path(), &v2, "/docs/a.bin");

    let h = json(&node, &["history", "/docs/a.bin", "--json"]);
    assert_eq!(h["path"], "/docs/a.bin");
    let versions = h["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{h}");
    let (first, second) = (&versions[0], &versions[1]);
    assert_eq!(
        (first["id"].as_u64(), second["id"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(first["size"].as_u64(), Some(v1.len() as u64));
    assert_eq!(second["size"].as_u64(), Some(v2.len() as u64));
    assert_eq!(first["parent"], serde_json::Value::Null);
    assert_eq!(second["parent"].as_u64(), Some(1));
    for v in versions {
        assert_eq!(v["author_peer"], me.as_str(), "{v}");
        assert_eq!(v["author_uid"].as_u64(), Some(0), "{v}");
        assert_eq!(v["mark"], serde_json::Value::Null);
        let time = v["time"].as_str().unwrap();
        assert!(time.len() == 20 && time.ends_with('Z'), "{time}");
    }
    assert_eq!(first["changed"], serde_json::json!([0, 1, 2]));
    assert_eq!(second["changed"], serde_json::json!([2, 3]));

    let text = stdout(&ok(&node, &["history", "/docs/a.bin"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("v1 ") && lines[0].contains("changed #0-2"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("v2 ") && lines[1].contains("parent v1"),
        "{text}"
    );
    assert!(lines[1].contains("changed #2-3"), "{text}");

    let info = json(&node, &["info", "/docs/a.bin", "--json"]);
    let frags = info["fragments"].as_array().unwrap();
    let owners: Vec<u64> = frags
        .iter()
        .map(|f| f["owner_version"].as_u64().unwrap())
        .collect();
    assert_eq!(owners, vec![1, 1, 2, 2], "{info}");
    for f in frags {
        assert_eq!(f["owner"], me.as_str(), "{f}");
        assert_eq!(f["owner_uid"].as_u64(), Some(0), "{f}");
    }
    assert_eq!(info["versions"].as_array().unwrap().len(), 2);
    assert_eq!(info["versions"][1]["changed"], serde_json::json!([2, 3]));

    // A path that does not exist is one line.
    assert_one_line_error(&fragfs(&["history", "/nope"], &node.data), "/nope");
}

#[test]
fn t20_revert_commits_the_old_content_as_a_new_version() {
    let tmp = tempfile::tempdir().unwrap();
    let node = start_node(&tmp.path().join("a"), &[]);
    let (v1, v2) = (random_bytes(FRAG + 17), random_bytes(2 * FRAG));
    put(&node, tmp.path(), &v1, "/a.bin");
    put(&node, tmp.path(), &v2, "/a.bin");
    assert_eq!(get(&node, tmp.path(), "/a.bin"), v2);

    let o = ok(&node, &["revert", "/a.bin", "v1"]);
    assert_eq!(stdout(&o).trim(), "3");
    assert_eq!(get(&node, tmp.path(), "/a.bin"), v1);
    let h = json(&node, &["history", "/a.bin", "--json"]);
    let v3 = &h["versions"][2];
    assert_eq!(v3["id"].as_u64(), Some(3), "{h}");
    assert_eq!(v3["mark"], "reverted to v1");
    assert_eq!(v3["parent"].as_u64(), Some(2));
    assert_eq!(v3["file_id"], h["versions"][0]["file_id"]);
    let text = stdout(&ok(&node, &["history", "/a.bin"]));
    assert!(text.contains("reverted to v1"), "{text}");

    assert_one_line_error(
        &fragfs(&["revert", "/a.bin", "9"], &node.data),
        "no version 9",
    );
    assert_one_line_error(
        &fragfs(&["revert", "/a.bin", "0"], &node.data),
        "not a version number",
    );
    // Nothing was committed by the refused reverts.
    let h = json(&node, &["history", "/a.bin", "--json"]);
    assert_eq!(h["versions"].as_array().unwrap().len(), 3);
}

#[test]
fn t30_policy_is_set_and_inherited_from_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let node = start_node(&tmp.path().join("a"), &[]);
    put(&node, tmp.path(), b"hello\n", "/docs/sub/a.txt");
    let policy = |args: &[&str]| stdout(&ok(&node, args)).trim().to_string();

    assert_eq!(
        policy(&["policy", "/docs/sub/a.txt"]),
        "/docs/sub/a.txt: merge (the default)"
    );
    assert_eq!(
        policy(&["policy", "/docs", "lww"]),
        "/docs: lww (set on this path)"
    );
    assert_eq!(
        policy(&["policy", "/docs/sub/a.txt"]),
        "/docs/sub/a.txt: lww (inherited from /docs)"
    );
    assert_eq!(
        policy(&["policy", "/docs/sub/a.txt", "merge"]),
        "/docs/sub/a.txt: merge (set on this path)"
    );
    assert_eq!(
        policy(&["policy", "/docs/sub"]),
        "/docs/sub: lww (inherited from /docs)"
    );

    assert_one_line_error(&fragfs(&["policy", "/docs", "maybe"], &node.data), "maybe");
    assert_one_line_error(&fragfs(&["policy", "/nope"], &node.data), "/nope");
}

#[test]
fn t40_conflicts_on_a_fresh_network_are_none() {
    let tmp = tempfile::tempdir().unwrap();
    let node = start_node(&tmp.path().join("a"), &[]);
    assert_eq!(json(&node, &["conflicts", "--json"]), serde_json::json!([]));
    put(&node, tmp.path(), b"x", "/docs/a.txt");
    assert_eq!(
        json(&node, &["conflicts", "/docs", "--json"]),
        serde_json::json!([])
    );
    let o = ok(&node, &["conflicts"]);
    assert_eq!(stdout(&o), "");
    assert!(stderr(&o).contains("no conflicts"), "{}", stderr(&o));
}
