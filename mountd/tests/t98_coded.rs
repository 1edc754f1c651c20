//! A Reed–Solomon coded file (stored with `fragfs put --redundancy`) read
//! through a mount: rebuilt from its shards and byte-identical; written
//! through the mount it stays coded (a version never mixes schemes).

use crate::common;
use common::*;
use std::{
    fs,
    io::{Seek, SeekFrom, Write},
    process::Command,
};

#[test]
fn t10_a_coded_file_reads_back_through_a_mount_and_stays_coded_when_written() {
    let (da, db) = (Dirs::new(), Dirs::new());
    let (a, b) = Mount::start_pair(&da, &db, &[]);
    let bytes = random(3 << 20);
    let local = da.logs.path().join("coded.bin");
    fs::write(&local, &bytes).unwrap();
    // Two storage peers: one data shard and one parity shard each, and
    // the manifest on both.
    let out = Command::new(fragfs_bin())
        .arg("--data")
        .arg(da.data.path())
        .args(["put", "--redundancy", "rs:1+1", "--replicas", "2"])
        .arg(&local)
        .arg("/coded.bin")
        .output()
        .expect("run fragfs put");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = b.path("coded.bin");
    let seen = wait_until(std::time::Duration::from_secs(30), || p.exists());
    assert!(seen, "the coded file appears on the other mount");
    assert_eq!(fs::read(&p).expect("read on b"), bytes);
    assert_eq!(fs::read(a.path("coded.bin")).expect("read on a"), bytes);
    let mut want = bytes.clone();
    let patch = random(70_000);
    want[MIB..MIB + patch.len()].copy_from_slice(&patch);
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .expect("open rw");
        f.seek(SeekFrom::Start(MIB as u64)).expect("seek");
        f.write_all(&patch).expect("write");
    }
    assert_eq!(fs::read(&p).expect("read on b"), want);
    let ok = wait_until(std::time::Duration::from_secs(30), || {
        fs::read(a.path("coded.bin")).is_ok_and(|got| got == want)
    });
    assert!(ok, "the change reads back on the other mount");
    let out = Command::new(fragfs_bin())
        .arg("--data")
        .arg(da.data.path())
        .args(["info", "--json", "/coded.bin"])
        .output()
        .expect("run fragfs info");
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("info JSON");
    assert_eq!(info["redundancy"], "rs:1+1", "the new version is coded too");
}
