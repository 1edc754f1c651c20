//! `fragfs redundancy PATH [SPEC]` against a real node process: a spec set
//! on a directory is shown with its source and overhead, a child directory
//! inherits it, and an invalid spec is one line of error that changes
//! nothing; `fragfs put` to a path follows its directory's spec.

use crate::common;
use common::cli::{assert_one_line_error, fragfs, start_node, stderr, stdout, NodeProc};

fn ok(node: &NodeProc, args: &[&str]) -> String {
    let o = fragfs(args, &node.data);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn t10_set_show_inherit_and_refuse_specs() {
    let tmp = tempfile::tempdir().unwrap();
    let node = start_node(&tmp.path().join("a"), &[]);
    ok(&node, &["mkdir", "/docs/sub"]);

    let shown = ok(&node, &["redundancy", "/docs"]);
    assert!(shown.contains("(the default)"), "{shown}");

    let set = ok(&node, &["redundancy", "/docs", "rs:3+2"]);
    assert_eq!(
        set.trim(),
        "/docs: rs:3+2 (set on this path), 1.67 bytes stored per data byte"
    );
    let shown = ok(&node, &["redundancy", "/docs"]);
    assert_eq!(shown, set, "reading shows what was set");

    let child = ok(&node, &["redundancy", "/docs/sub"]);
    assert_eq!(
        child.trim(),
        "/docs/sub: rs:3+2 (inherited from /docs), 1.67 bytes stored per data byte"
    );
    let j: serde_json::Value =
        serde_json::from_str(&ok(&node, &["redundancy", "/docs/sub", "--json"])).unwrap();
    assert_eq!(j["spec"], "rs:3+2", "{j}");
    assert_eq!(j["source"]["directory"]["path"], "/docs", "{j}");
    assert!(
        (j["overhead"].as_f64().unwrap() - 5.0 / 3.0).abs() < 1e-9,
        "{j}"
    );

    // A child's own spec wins over the inherited one.
    let own = ok(&node, &["redundancy", "/docs/sub", "replicas:2"]);
    assert!(
        own.starts_with("/docs/sub: replicas:2 (set on this path), 2 bytes"),
        "{own}"
    );

    for (bad, says) in [
        ("rs:0+2", "out of range"),
        ("rs:4", "not replicas:N or rs:K+M"),
        ("mirror:2", "unknown"),
        ("replicas:17", "1 to 16"),
    ] {
        let o = fragfs(&["redundancy", "/docs", bad], &node.data);
        assert_one_line_error(&o, says);
    }
    let o = fragfs(&["redundancy", "/nowhere", "rs:2+1"], &node.data);
    assert_one_line_error(&o, "/nowhere");
    assert_eq!(ok(&node, &["redundancy", "/docs"]), set, "nothing changed");
}

#[test]
fn t20_put_follows_the_spec_of_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let node = start_node(&tmp.path().join("a"), &[]);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, common::random_bytes(200_000)).unwrap();
    let src = src.to_str().unwrap();
    // Three copies (put's default) cannot be placed on one node...
    let o = fragfs(&["put", src, "/elsewhere/f.bin"], &node.data);
    assert!(!o.status.success(), "{}", stdout(&o));
    // ...one can, where the directory asks for one.
    ok(&node, &["mkdir", "/solo"]);
    ok(&node, &["redundancy", "/solo", "replicas:1"]);
    ok(&node, &["put", src, "/solo/new/f.bin"]);
    let info: serde_json::Value =
        serde_json::from_str(&ok(&node, &["info", "/solo/new/f.bin", "--json"])).unwrap();
    assert_eq!(info["redundancy"], "replicas:1", "{info}");
}
