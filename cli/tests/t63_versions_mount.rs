//! PATH arguments inside a mounted fragfs: `history`, `info`, `ls` and
//! `policy` given a local path under a real FUSE mount (absolute, or
//! relative to a working directory in the mount) act on the namespace path
//! it names.

use crate::common;
use common::cli::{fragfs, sibling, start_node, stderr, stdout, wait_until, BIN};
use fragfs::testing::{ChildGuard, MountGuard};
use std::{
    path::Path,
    process::{Command, Output},
    time::Duration,
};

/// `fragfs ARGS --data DATA` run from `cwd`; must succeed.
fn ok_in(cwd: &Path, args: &[&str], data: &Path) -> Output {
    let o = Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .current_dir(cwd)
        .output()
        .expect("run fragfs");
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn t10_local_paths_inside_a_mount_name_namespace_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &[]);
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let log = tmp.path().join("mountd.log");
    let child = Command::new(sibling("fragfs-mountd"))
        .args(["--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"])
        .args(["--peer", &a.addr, "--replicas", "1", "--data"])
        .arg(tmp.path().join("m"))
        .arg(&mnt)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn fragfs-mountd");
    let mut m = MountGuard {
        proc: ChildGuard::new(child),
        mnt: mnt.clone(),
    };
    let mounted = wait_until(Duration::from_secs(60), || {
        std::fs::read_to_string(&log).is_ok_and(|s| s.contains("mounted at"))
            || !matches!(m.proc.child.try_wait(), Ok(None))
    });
    assert!(mounted && matches!(m.proc.child.try_wait(), Ok(None)));

    std::fs::create_dir(mnt.join("docs")).unwrap();
    std::fs::write(mnt.join("docs/a.txt"), b"first\n").unwrap();
    std::fs::write(mnt.join("docs/a.txt"), b"second version\n").unwrap();
    let data = a.data.clone();
    let local = mnt.join("docs/a.txt");
    let local = local.to_str().unwrap();

    // An absolute local path, from anywhere.
    let h = json(&ok_in(tmp.path(), &["history", local, "--json"], &data));
    assert_eq!(h["path"], "/docs/a.txt", "{h}");
    let versions = h["versions"].as_array().unwrap();
    assert!(!versions.is_empty(), "{h}");
    assert_eq!(versions.last().unwrap()["size"].as_u64(), Some(15), "{h}");

    // Relative paths from a working directory inside the mount.
    let docs = mnt.join("docs");
    let h2 = json(&ok_in(&docs, &["history", "a.txt", "--json"], &data));
    assert_eq!(h2, h);
    let info = json(&ok_in(&docs, &["info", "./a.txt", "--json"], &data));
    assert_eq!(info["path"], "/docs/a.txt", "{info}");
    assert_eq!(info["size"].as_u64(), Some(15));
    let ls = json(&ok_in(&docs, &["ls", ".", "--json"], &data));
    assert_eq!(ls["entries"][0]["name"], "a.txt", "{ls}");
    let p = ok_in(&docs, &["policy", "..", "lww"], &data);
    assert_eq!(stdout(&p).trim(), "/: lww (set on this path)");
    let p = ok_in(&docs, &["policy", "a.txt"], &data);
    assert_eq!(stdout(&p).trim(), "/docs/a.txt: lww (inherited from /)");

    // A namespace path still works where nothing local matches.
    let o = fragfs(&["history", "/docs/a.txt", "--json"], &data);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o), h);
}
