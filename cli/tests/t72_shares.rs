//! Directories given to groups, through the real binaries and real mounts
//! on a private network: alice shares /team with her group; the mount
//! acting for alice reads and writes there, the mount acting for carol (a
//! member of another group) gets EACCES on every way in, its history
//! included, and may still write elsewhere; adding carol to the group
//! opens the directory on her mount within seconds and removing her
//! closes it again; a mount acting for users refuses the writes of a uid
//! acting for none.

use crate::common;

use common::cli::{as_person, invite, start_mount, start_node, stderr, stdout};
use fragfs::testing::wait_until;
use std::{io::ErrorKind, path::Path, process::Output, time::Duration};

const WAIT: Duration = Duration::from_secs(30);

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

fn denied<T: std::fmt::Debug>(r: std::io::Result<T>, what: &str) {
    match r {
        Err(e) => assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{what}: {e}"),
        Ok(v) => panic!("{what}: allowed ({v:?})"),
    }
}

/// Every way into `dir/plan.txt` of a mount that may not enter `dir`.
fn closed(dir: &Path, history: &Path) {
    denied(std::fs::read_dir(dir).map(|_| ()), "list");
    denied(std::fs::read(dir.join("plan.txt")), "read");
    denied(std::fs::write(dir.join("new.txt"), b"x"), "create");
    denied(std::fs::create_dir(dir.join("sub")), "mkdir");
    denied(std::fs::remove_file(dir.join("plan.txt")), "unlink");
    denied(std::fs::read_dir(history).map(|_| ()), "history");
}

/// Whether any file under `dir` contains `needle`.
fn holds(dir: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => holds(&p, needle),
            Ok(t) if t.is_file() => {
                std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
            }
            _ => false,
        }
    })
}

#[test]
fn t10_a_shared_directory_opens_to_its_group_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &["--private"]);
    let home = |who: &str| tmp.path().join(who);
    for who in ["alice", "bob", "carol"] {
        ok(as_person(&home(who), &["user", "add", who], &a.data, &[]));
    }
    let alice = |args: &[&str]| ok(as_person(&home("alice"), args, &a.data, &[]));
    alice(&["group", "create", "team"]);
    ok(as_person(
        &home("carol"),
        &["group", "create", "other"],
        &a.data,
        &[],
    ));
    alice(&["mkdir", "/team"]);
    let out = alice(&["share", "/team", "team"]);
    assert!(out.contains("/team is shared with group team"), "{out}");
    let listed = alice(&["shares"]);
    assert!(
        listed.contains("/team") && listed.contains("alice"),
        "{listed}"
    );
    // Only a member may share, and not inside a share.
    let o = as_person(&home("carol"), &["share", "/team", "other"], &a.data, &[]);
    assert!(!o.status.success());
    alice(&["mkdir", "/open-team"]);
    alice(&["mkdir", "/open-team/inner"]);
    alice(&["share", "/open-team", "team", "--plain"]);
    let o = as_person(
        &home("alice"),
        &["share", "/open-team/inner", "team"],
        &a.data,
        &[],
    );
    assert!(!o.status.success());
    // Names in an encrypted directory reach the namespace sealed only.
    let o = as_person(&home("alice"), &["mkdir", "/team/clear"], &a.data, &[]);
    assert!(!o.status.success(), "a name in clear in /team");

    let storage = ["--role", "storage"];
    let ma = start_mount(
        &tmp.path().join("ma"),
        &["--join", &invite(&a.data, &storage), "--replicas", "1"],
        &home("alice"),
    );
    let mc = start_mount(
        &tmp.path().join("mc"),
        &["--join", &invite(&a.data, &storage), "--replicas", "1"],
        &home("carol"),
    );
    let plan = b"the plan, seen by the team alone\n";
    std::fs::write(ma.mnt.join("team/plan.txt"), plan).unwrap();
    // A marker in an encrypted file is in no file of any data directory;
    // the same marker in a plain file is (the scan sees stored bytes).
    let marker = format!("fragfs-marker-{}", std::process::id());
    let secret = format!("{marker} in the team's secret file\n").repeat(1000);
    std::fs::write(ma.mnt.join("team/secret.txt"), &secret).unwrap();
    let data_dirs = [
        a.data.clone(),
        tmp.path().join("ma/m"),
        tmp.path().join("mc/m"),
    ];
    assert!(
        !data_dirs.iter().any(|d| holds(d, marker.as_bytes())),
        "the marker is on disk"
    );
    std::fs::write(ma.mnt.join("plain.txt"), &secret).unwrap();
    assert!(
        data_dirs.iter().any(|d| holds(d, marker.as_bytes())),
        "the scan sees no plain bytes"
    );
    assert_eq!(
        std::fs::read_to_string(ma.mnt.join("team/secret.txt")).unwrap(),
        secret
    );
    assert_eq!(std::fs::read(ma.mnt.join("team/plan.txt")).unwrap(), plan);
    let names: Vec<String> = std::fs::read_dir(ma.mnt.join("team"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.contains(&"plan.txt".to_string()), "{names:?}");
    // Names are sealed too: a member's mount shows them, the namespace
    // (every node's state) holds them sealed.
    let named = format!("fragfs-name-{}", std::process::id());
    std::fs::create_dir(ma.mnt.join(format!("team/{named}-dir"))).unwrap();
    let deep = ma.mnt.join(format!("team/{named}-dir/{named}.txt"));
    std::fs::write(&deep, b"deep\n").unwrap();
    assert_eq!(std::fs::read(&deep).unwrap(), b"deep\n");
    let listed = alice(&["ls", "/team"]);
    assert!(
        !listed.contains("plan.txt") && !listed.contains(&named) && listed.contains("e."),
        "{listed}"
    );
    assert!(
        !data_dirs.iter().any(|d| holds(d, named.as_bytes())),
        "a sealed name is on disk in clear"
    );
    std::fs::rename(&deep, ma.mnt.join("team/renamed.txt")).unwrap();
    assert_eq!(
        std::fs::read(ma.mnt.join("team/renamed.txt")).unwrap(),
        b"deep\n"
    );
    std::fs::remove_dir(ma.mnt.join(format!("team/{named}-dir"))).unwrap();
    // Older versions of an encrypted file read back through the history
    // tree, each checked against its proof and opened with its own key.
    let drafts = [&b"first draft\n"[..], b"second draft, longer\n"];
    for d in drafts {
        std::fs::write(ma.mnt.join("team/draft.txt"), d).unwrap();
    }
    // Sizes are sealed: the namespace and the peers see a padded length,
    // a member's mount the exact one, through writes in place too.
    let odd = common::random_bytes(5000);
    let odd_path = ma.mnt.join("team/odd.bin");
    std::fs::write(&odd_path, &odd).unwrap();
    assert_eq!(std::fs::metadata(&odd_path).unwrap().len(), 5000);
    assert_eq!(std::fs::read(&odd_path).unwrap(), odd);
    let rows: serde_json::Value = serde_json::from_str(&alice(&["ls", "/team", "--json"])).unwrap();
    let sizes: Vec<u64> = rows["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["size"].as_u64().unwrap())
        .collect();
    assert!(sizes.contains(&5120) && !sizes.contains(&5000), "{sizes:?}");
    let stored: Vec<u64> = data_dirs
        .iter()
        .flat_map(|d| walk(&d.join("store/fragments")))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    let overhead = fragfs_seal::SEALED_OVERHEAD as u64;
    assert!(stored.contains(&(5120 + overhead)), "{stored:?}");
    assert!(!stored.contains(&(5000 + overhead)), "{stored:?}");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&odd_path)
            .unwrap();
        f.seek(SeekFrom::Start(4990)).unwrap();
        f.write_all(b"0123456789tail").unwrap();
    }
    let mut want = odd.clone();
    want.truncate(4990);
    want.extend_from_slice(b"0123456789tail");
    assert_eq!(std::fs::metadata(&odd_path).unwrap().len(), 5004);
    assert_eq!(std::fs::read(&odd_path).unwrap(), want);
    // Versions name the user who signed them, and so do fragment slots.
    std::fs::write(ma.mnt.join("signed.txt"), b"by alice\n").unwrap();
    let h = alice(&["history", "/signed.txt"]);
    assert!(h.contains("by alice (uid"), "{h}");
    let i = alice(&["info", "/signed.txt"]);
    assert!(i.contains("v1 by alice (uid"), "{i}");

    let (team, history) = (mc.mnt.join("team"), mc.mnt.join(".fragfs/history/team"));
    closed(&team, &history);
    std::fs::write(mc.mnt.join("carol.txt"), b"outside\n").unwrap();
    // A rename across the edge would let the file out: EXDEV.
    let e = std::fs::rename(ma.mnt.join("team/plan.txt"), ma.mnt.join("plan.txt")).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EXDEV), "{e}");

    alice(&["group", "add", "team", "carol"]);
    let opened = wait_until(WAIT, || {
        std::fs::read(team.join("plan.txt")).is_ok_and(|b| b == plan)
    });
    assert!(opened, "carol's mount opens /team once she is a member");
    // Her mount never held draft.txt's keys: each older version opens
    // with its own.
    let hist = mc.mnt.join(".fragfs/history/team/draft.txt");
    let mut olds: Vec<String> = std::fs::read_dir(&hist)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    olds.sort();
    assert_eq!(olds.len(), 2, "{olds:?}");
    for (name, want) in olds.iter().zip(drafts) {
        assert_eq!(std::fs::read(hist.join(name)).unwrap(), want, "{name}");
        let len = std::fs::metadata(hist.join(name)).unwrap().len();
        assert_eq!(len, want.len() as u64, "{name}");
    }
    // A mount that never saw odd.bin answers its exact size.
    assert_eq!(std::fs::metadata(team.join("odd.bin")).unwrap().len(), 5004);
    std::fs::write(team.join("carol-was-here.txt"), b"hi\n").unwrap();

    alice(&["group", "remove", "team", "carol"]);
    let shut = wait_until(WAIT, || {
        std::fs::read(team.join("plan.txt")).is_err_and(|e| e.kind() == ErrorKind::PermissionDenied)
    });
    assert!(shut, "carol's mount is shut out again");
    closed(&team, &history);
    drop(mc);

    // A mount acting for users by uid: uid 0 is alice, uid 4242 nobody.
    let mm = start_mount(
        &tmp.path().join("mm"),
        &[
            "--join",
            &invite(&a.data, &storage),
            "--replicas",
            "1",
            "--user-map",
            "0=alice",
            "--allow-other",
        ],
        &home("alice"),
    );
    std::fs::create_dir(mm.mnt.join("open")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(mm.mnt.join("open"), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(mm.mnt.join("open/by-root.txt"), b"root writes\n").unwrap();
    let as_4242 = |script: &str| {
        std::process::Command::new("setpriv")
            .args([
                "--reuid=4242",
                "--regid=4242",
                "--clear-groups",
                "sh",
                "-c",
                script,
            ])
            .env("M", &mm.mnt)
            .output()
            .expect("setpriv")
    };
    let o = as_4242("cat \"$M/open/by-root.txt\"");
    assert_eq!(stdout(&o), "root writes\n", "{}", stderr(&o));
    let o = as_4242("echo x > \"$M/open/by-4242.txt\"");
    assert!(!o.status.success(), "a uid acting for nobody wrote");
    assert!(stderr(&o).contains("Permission denied"), "{}", stderr(&o));
    let o = as_4242("ls \"$M/team\"");
    assert!(stderr(&o).contains("Permission denied"), "{}", stderr(&o));
}

/// Flips a byte in the middle of every fragment file under `store`.
fn damage_all(store: &Path) -> usize {
    let mut n = 0;
    for e in walk(&store.join("fragments")) {
        let mut b = std::fs::read(&e).unwrap();
        let at = b.len() / 2;
        b[at] ^= 0x40;
        std::fs::write(&e, b).unwrap();
        n += 1;
    }
    n
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .filter_map(Result::ok)
        .flat_map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path()),
            _ => vec![e.path()],
        })
        .collect()
}

#[test]
fn t20_a_flipped_byte_in_a_sealed_fragment_is_caught_and_fetched_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &["--private"]);
    let b = start_node(
        &tmp.path().join("b"),
        &["--join", &invite(&a.data, &["--role", "storage"])],
    );
    let alice = tmp.path().join("alice");
    let run = |args: &[&str]| ok(as_person(&alice, args, &a.data, &[]));
    run(&["user", "add", "alice"]);
    run(&["group", "create", "team"]);
    run(&["mkdir", "/team"]);
    run(&["share", "/team", "team"]);
    let writer_args = |t: &str| {
        vec![
            "--join".to_string(),
            t.to_string(),
            "--no-store".into(),
            "--replicas".into(),
            "2".into(),
            "--fragment-size".into(),
            "64K".into(),
        ]
    };
    let t = invite(&a.data, &["--role", "client"]);
    let w = writer_args(&t);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    let content = common::random_bytes(16 * 65536);
    {
        let m = start_mount(&tmp.path().join("w"), &w, &alice);
        // Until the mount has met both storage peers (two copies).
        let written = wait_until(WAIT, || {
            std::fs::write(m.mnt.join("team/data.bin"), &content).is_ok()
        });
        let log = std::fs::read_to_string(tmp.path().join("w/mountd.err")).unwrap_or_default();
        assert!(written, "{log}");
    }
    let _ = &b;
    // Every copy on a is damaged: each of the 16 fragments is read from b,
    // whichever holder a reader asks first.
    assert!(damage_all(&a.data.join("store")) >= 16);
    let t = invite(&a.data, &["--role", "client"]);
    let r = writer_args(&t);
    let r: Vec<&str> = r.iter().map(String::as_str).collect();
    let m = start_mount(&tmp.path().join("r"), &r, &alice);
    // Once the reader has met b, the holder of the good copies.
    let read = wait_until(WAIT, || {
        std::fs::read(m.mnt.join("team/data.bin")).is_ok_and(|got| got == content)
    });
    let log = std::fs::read_to_string(tmp.path().join("r/mountd.err")).unwrap_or_default();
    assert!(read, "{log}");
    let caught = walk(&a.data.join("store/corrupt")).len();
    assert!(
        caught >= 1,
        "a's damaged copies were caught ({caught} quarantined)"
    );
}
