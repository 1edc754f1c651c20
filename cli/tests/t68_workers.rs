//! `fragfs workers` and the workers line of `fragfs status`, on real node
//! processes: every maintenance worker is listed with its state, unit and
//! runs; a run shows once it happened; without a node the command fails
//! in one line.

use crate::common;
use common::cli::*;
use std::time::Duration;

fn workers(data: &std::path::Path) -> serde_json::Value {
    let o = fragfs(&["workers", "--json"], data);
    assert!(o.status.success(), "workers: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("workers --json is JSON")
}

fn named<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v.as_array()
        .expect("a list")
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no worker {name} in {v}"))
}

#[test]
fn t10_workers_are_listed_with_state_and_runs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = start_node(&tmp.path().join("a"), &[]);
    let v = workers(&a.data);
    let names: Vec<&str> = v
        .as_array()
        .expect("a list")
        .iter()
        .map(|w| w["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        vec![
            "gc",
            "pins",
            "reencode",
            "repair",
            "republish",
            "retention",
            "scrub"
        ]
    );
    for w in v.as_array().expect("a list") {
        let unit = match w["name"].as_str() {
            Some("scrub" | "gc" | "repair" | "reencode") => "bytes",
            Some("retention") => "versions",
            _ => "fragments",
        };
        assert_eq!(w["unit"], unit, "{w}");
        assert_eq!(w["errors"], 0, "{w}");
        assert!(w["last_error"].is_null(), "{w}");
    }
    // Alone, the node announces what it holds once, then waits for a
    // storage peer to announce it again: one run so far.
    let ok = wait_until(Duration::from_secs(20), || {
        named(&workers(&a.data), "republish")["runs"] == 1
    });
    assert!(ok, "{}", workers(&a.data));
    // A storage peer joins: the second run happens.
    let b = start_node(&tmp.path().join("b"), &["--peer", &a.addr]);
    let ok = wait_until(Duration::from_secs(30), || {
        let w = workers(&a.data);
        let r = named(&w, "republish");
        r["runs"] == 2 && r["state"] == "Idle"
    });
    assert!(ok, "{}", workers(&a.data));

    let o = fragfs(&["status"], &b.data);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("workers:   7 (") && stdout(&o).contains("0 failing)"),
        "{}",
        stdout(&o)
    );
    let o = fragfs(&["status", "--json"], &b.data);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(s["workers"].as_array().map(Vec::len), Some(7), "{s}");
}

#[test]
fn t20_without_a_node_workers_fails_in_one_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let o = fragfs(&["workers"], tmp.path());
    assert_one_line_error(&o, "");
}

#[test]
fn t10_repair_reports_on_the_leader() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = start_node(&tmp.path().join("a"), &["--repair-after", "2s"]);
    let report = || {
        let o = fragfs(&["repair", "--json"], &a.data);
        assert!(o.status.success(), "repair: {}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("repair --json is JSON")
    };
    // Alone, the node leads once its first round ran.
    let ok = wait_until(Duration::from_secs(20), || report()["leader"] == true);
    assert!(ok, "{}", report());
    let r = report();
    assert_eq!(r["repair_after_secs"], 2, "{r}");
    assert_eq!(r["short_copies"], 0, "{r}");
    let o = fragfs(&["repair"], &a.data);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("repair after 2s"), "{text}");
    assert!(text.contains("short:     0 cop(ies)"), "{text}");
    let o = fragfs(&["node", "--repair-after", "1s"], &tmp.path().join("b"));
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("shorter than the minimum"),
        "{}",
        stderr(&o)
    );
}
