//! The workflow of the original notes, end to end through the real
//! binaries on a private network: alice and bob create users, alice
//! creates a group, bob asks to join and alice accepts; alice logs in (a
//! mount acting for her) and shares a file by copying it into a directory
//! given to the group; bob logs in, lists and downloads the group's files;
//! bob leaves the group and his mount is shut out within seconds; bob logs
//! out (his mount stops and unmounts).

use crate::common;

use common::cli::{as_person, invite, start_mount, start_node, stderr, stdout};
use fragfs::testing::wait_until;
use std::{io::ErrorKind, process::Output, time::Duration};

const WAIT: Duration = Duration::from_secs(30);

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn t10_the_seed_workflow_from_user_to_log_out() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &["--private"]);
    let home = |who: &str| tmp.path().join(who);
    let run = |who: &str, args: &[&str]| ok(as_person(&home(who), args, &a.data, &[]));

    // Create users; create a group; ask to join; accept.
    run("alice", &["user", "add", "alice"]);
    run("bob", &["user", "add", "bob"]);
    run("alice", &["group", "create", "team"]);
    run("bob", &["group", "join", "team"]);
    let waiting = run("alice", &["group", "requests"]);
    assert!(waiting.contains("bob"), "{waiting}");
    run("alice", &["group", "accept", "team", "bob"]);
    let groups = run("bob", &["group", "list"]);
    assert!(
        groups.contains("team") && groups.contains("bob"),
        "{groups}"
    );

    // Alice logs in and shares a file with the group.
    run("alice", &["mkdir", "/team"]);
    run("alice", &["share", "/team", "team"]);
    let storage = ["--role", "storage"];
    let ma = start_mount(
        &tmp.path().join("ma"),
        &["--join", &invite(&a.data, &storage), "--replicas", "1"],
        &home("alice"),
    );
    let report = common::random_bytes(300_000);
    let source = tmp.path().join("report.pdf");
    std::fs::write(&source, &report).unwrap();
    let copied = std::process::Command::new("cp")
        .arg(&source)
        .arg(ma.mnt.join("team/"))
        .status()
        .unwrap();
    assert!(copied.success());

    // Bob logs in, lists the group's files and downloads one.
    let mb = start_mount(
        &tmp.path().join("mb"),
        &["--join", &invite(&a.data, &storage), "--replicas", "1"],
        &home("bob"),
    );
    let team = mb.mnt.join("team");
    let listed = wait_until(WAIT, || {
        std::fs::read_dir(&team).is_ok_and(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name() == "report.pdf")
        })
    });
    assert!(listed, "bob lists the group's files");
    // Once bob's node has met the peer holding the file.
    let out = tmp.path().join("downloaded.pdf");
    let downloaded = wait_until(WAIT, || {
        std::process::Command::new("cp")
            .arg(team.join("report.pdf"))
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success())
    });
    let log = std::fs::read_to_string(tmp.path().join("mb/mountd.err")).unwrap_or_default();
    assert!(downloaded, "{log}");
    assert_eq!(std::fs::read(&out).unwrap(), report);

    // Bob leaves the group: his mount is shut out within seconds.
    run("bob", &["group", "leave", "team"]);
    let shut = wait_until(WAIT, || {
        std::fs::read(team.join("report.pdf"))
            .is_err_and(|e| e.kind() == ErrorKind::PermissionDenied)
    });
    assert!(shut, "bob's mount is shut out once he left");
    // Alice still reads what she shared.
    assert_eq!(
        std::fs::read(ma.mnt.join("team/report.pdf")).unwrap(),
        report
    );

    // Bob logs out: his mount stops and the directory is no mount any more.
    let mountpoint = mb.mnt.clone();
    drop(mb);
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !mounts.contains(mountpoint.to_str().unwrap()),
        "still mounted after log out"
    );
}
