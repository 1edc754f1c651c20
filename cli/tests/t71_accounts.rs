//! Accounts through the real binaries, two people on two member nodes of
//! a private network, each with a configuration directory of their own:
//! users registered with keys that never leave their key files; a group
//! created, asked to join, accepted, left and removed from, its key epoch
//! moving on each departure; what only an owner may do refused in one line.

use crate::common;

use common::cli::{as_person, assert_one_line_error, start_node, stdout};
use std::{path::Path, process::Output};

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", common::cli::stderr(&o));
    stdout(&o)
}

fn groups(home: &Path, data: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(as_person(
        home,
        &["group", "list", "--json"],
        data,
        &[],
    )))
    .unwrap()
}

fn members_of(g: &serde_json::Value) -> Vec<String> {
    g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

fn epoch(g: &serde_json::Value) -> u64 {
    g["keys"].as_array().unwrap().last().unwrap()["epoch"]
        .as_u64()
        .unwrap()
}

#[test]
fn t10_a_group_is_asked_to_join_accepted_left_and_rotated() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &["--private"]);
    let ticket = {
        let out = ok(common::cli::fragfs(&["invite"], &a.data));
        out.lines().last().unwrap().to_string()
    };
    let b = start_node(&tmp.path().join("b"), &["--join", &ticket]);
    let (alice, bob) = (tmp.path().join("alice"), tmp.path().join("bob"));

    let out = ok(as_person(&alice, &["user", "add", "alice"], &a.data, &[]));
    assert!(out.contains("registered"), "{out}");
    let key = alice.join("fragfs/users/alice.key");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    ok(as_person(&bob, &["user", "add", "bob"], &b.data, &[]));
    let users = ok(as_person(&bob, &["user", "list"], &b.data, &[]));
    assert!(users.contains("alice") && users.contains("bob"), "{users}");

    ok(as_person(
        &alice,
        &["group", "create", "team"],
        &a.data,
        &[],
    ));
    ok(as_person(&bob, &["group", "join", "team"], &b.data, &[]));
    let req = ok(as_person(&alice, &["group", "requests"], &a.data, &[]));
    assert!(req.contains("team") && req.contains("bob"), "{req}");
    ok(as_person(
        &alice,
        &["group", "accept", "team", "bob"],
        &a.data,
        &[],
    ));
    let g = groups(&bob, &b.data)["team"].clone();
    assert_eq!(members_of(&g), ["alice", "bob"]);
    assert_eq!(epoch(&g), 1);
    assert!(g["keys"][0]["wrapped"]["bob"].is_array(), "{g}");

    // Only the owner removes; bob may leave, which rotates the key.
    let o = as_person(&bob, &["group", "remove", "team", "alice"], &b.data, &[]);
    assert_one_line_error(&o, "only the owner");
    ok(as_person(&bob, &["group", "leave", "team"], &b.data, &[]));
    let g = groups(&alice, &a.data)["team"].clone();
    assert_eq!(members_of(&g), ["alice"]);
    assert_eq!(epoch(&g), 2);
    assert!(g["keys"][0]["wrapped"].get("bob").is_none(), "{g}");

    // Added back with both epochs; removed again: epoch 3 without him.
    ok(as_person(
        &alice,
        &["group", "add", "team", "bob"],
        &a.data,
        &[],
    ));
    let g = groups(&alice, &a.data)["team"].clone();
    assert!(g["keys"][1]["wrapped"]["bob"].is_array(), "{g}");
    ok(as_person(
        &alice,
        &["group", "remove", "team", "bob"],
        &a.data,
        &[],
    ));
    let g = groups(&alice, &a.data)["team"].clone();
    assert_eq!(epoch(&g), 3);
    assert!(g["keys"][2]["wrapped"].get("bob").is_none(), "{g}");
}

#[test]
fn t20_a_protected_key_needs_its_passphrase_and_names_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &["--private"]);
    let carol = tmp.path().join("carol");
    let pass = [("FRAGFS_PASSPHRASE", "a long passphrase")];
    ok(as_person(
        &carol,
        &["user", "add", "carol", "--protect"],
        &a.data,
        &pass,
    ));
    let text = std::fs::read_to_string(carol.join("fragfs/users/carol.key")).unwrap();
    assert!(text.contains("protected "), "{text}");
    let o = as_person(&carol, &["group", "create", "club"], &a.data, &[]);
    assert_one_line_error(&o, "passphrase");
    let wrong = [("FRAGFS_PASSPHRASE", "not the passphrase")];
    let o = as_person(&carol, &["group", "create", "club"], &a.data, &wrong);
    assert_one_line_error(&o, "wrong passphrase");
    ok(as_person(
        &carol,
        &["group", "create", "club"],
        &a.data,
        &pass,
    ));
    let o = as_person(&carol, &["user", "add", "../evil"], &a.data, &[]);
    assert_one_line_error(&o, "user name");
    let o = as_person(&carol, &["group", "create", "bad/name"], &a.data, &pass);
    assert_one_line_error(&o, "invalid");
}
