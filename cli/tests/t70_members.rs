//! A private network through the real binaries: `fragfs invite` prints a
//! ticket as its last line, `fragfs node --join` and `fragfs-mountd
//! --join` use it to become members (a mount of the founder's namespace),
//! a ticket works once and not after it expired (one-line errors), a
//! node with only `--peer` gets nothing, `fragfs members` lists who
//! belongs and `fragfs revoke` cuts a member off.

use crate::common;

use common::cli::{assert_one_line_error, fragfs, invite, start_mount, start_node, stdout, BIN};
use fragfs::testing::{wait_until, ChildGuard};
use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::Duration,
};

const WAIT: Duration = Duration::from_secs(30);

/// `fragfs node ARGS` that is expected to stop by itself; killed (by its
/// pid) after 60 s if it does not.
fn node_that_stops(data: &Path, args: &[&str]) -> Output {
    let child = Command::new(BIN)
        .args([
            "node",
            "--no-mdns",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--data",
        ])
        .arg(data)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fragfs node");
    let mut guard = ChildGuard::new(child);
    assert!(
        guard.wait_exit(Duration::from_secs(60)),
        "the node should have stopped"
    );
    let read = |r: Option<&mut dyn std::io::Read>| {
        let mut v = Vec::new();
        if let Some(r) = r {
            let _ = r.read_to_end(&mut v);
        }
        v
    };
    let c = &mut guard.child;
    let stdout = read(c.stdout.as_mut().map(|r| r as &mut dyn std::io::Read));
    let stderr = read(c.stderr.as_mut().map(|r| r as &mut dyn std::io::Read));
    let status = c.wait().expect("its status");
    Output {
        status,
        stdout,
        stderr,
    }
}

fn members(data: &Path) -> serde_json::Value {
    let o = fragfs(&["members", "--json"], data);
    assert!(o.status.success(), "{}", common::cli::stderr(&o));
    serde_json::from_slice(&o.stdout).expect("json")
}

fn is_member(data: &Path, peer: &str) -> bool {
    members(data)["members"]
        .as_array()
        .is_some_and(|m| m.iter().any(|x| x["peer_id"] == peer))
}

fn peer_id(node: &fragfs::testing::NodeProc) -> String {
    node.addr.rsplit('/').next().unwrap().to_string()
}

#[test]
fn t10_a_ticket_admits_once_before_it_expires_and_revoke_cuts_off() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &["--private"]);
    let ticket = invite(&a.data, &["--expires", "10m", "--role", "storage"]);

    let b = start_node(&tmp.path().join("b"), &["--join", &ticket]);
    let b_id = peer_id(&b);
    let m = members(&a.data);
    assert_eq!(m["open"], false, "{m}");
    let row = m["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["peer_id"] == b_id.as_str())
        .cloned()
        .expect("b is listed");
    assert_eq!(row["role"], "storage", "{m}");
    assert_eq!(row["invited_by"], peer_id(&a).as_str(), "{m}");
    let table = stdout(&fragfs(&["members"], &a.data));
    assert!(
        table.contains("private: members only") && table.contains(&b_id),
        "{table}"
    );

    // Once only.
    let again = node_that_stops(&tmp.path().join("c"), &["--join", &ticket]);
    assert_one_line_error(&again, "already used");

    // Not after it expired: refused before anything is asked.
    let short = invite(&a.data, &["--expires", "1s"]);
    std::thread::sleep(Duration::from_millis(1500));
    let late = node_that_stops(&tmp.path().join("d"), &["--join", &short]);
    assert_one_line_error(&late, "expired");
    let damaged = node_that_stops(&tmp.path().join("e"), &["--join", "fragfs1AAAA"]);
    assert_one_line_error(&damaged, "ticket");

    // Revoked: gone from the list, and b no longer sees a.
    let o = fragfs(&["revoke", &b_id], &a.data);
    assert!(o.status.success(), "{}", common::cli::stderr(&o));
    assert!(!is_member(&a.data, &b_id));
    let a_id = peer_id(&a);
    let cut = wait_until(WAIT, || {
        let peers = stdout(&fragfs(&["peers"], &b.data));
        !peers.contains(&a_id)
    });
    assert!(cut, "b's connection to a closes");
}

#[test]
fn t20_a_mount_joins_with_a_ticket_and_a_stranger_gets_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &["--private"]);
    let src = tmp.path().join("hello.txt");
    std::fs::write(&src, b"hello from the founder\n").unwrap();
    let o = fragfs(
        &[
            "put",
            src.to_str().unwrap(),
            "/hello.txt",
            "--replicas",
            "1",
        ],
        &a.data,
    );
    assert!(o.status.success(), "{}", common::cli::stderr(&o));

    // A stranger's light client, with only the founder's address.
    let out = tmp.path().join("stolen");
    let o = fragfs(
        &[
            "get",
            "/hello.txt",
            out.to_str().unwrap(),
            "--peer",
            &a.addr,
        ],
        &tmp.path().join("s"),
    );
    assert!(!o.status.success(), "a stranger fetched a file");
    assert!(!out.exists());

    // A mount with a ticket sees the founder's file and writes back.
    let ticket = invite(&a.data, &["--role", "client"]);
    let home = tmp.path().join("nobody");
    let m = start_mount(tmp.path(), &["--join", &ticket, "--replicas", "1"], &home);
    let mnt = m.mnt.clone();
    let read = wait_until(WAIT, || {
        std::fs::read(mnt.join("hello.txt")).is_ok_and(|b| b == b"hello from the founder\n")
    });
    assert!(read, "the member's mount reads the founder's file");
    std::fs::write(mnt.join("reply.txt"), b"hello back\n").unwrap();
    let back = tmp.path().join("reply.out");
    let o = fragfs(&["get", "/reply.txt", back.to_str().unwrap()], &a.data);
    assert!(o.status.success(), "{}", common::cli::stderr(&o));
    assert_eq!(std::fs::read(&back).unwrap(), b"hello back\n");
}
