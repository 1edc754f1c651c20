//! A Reed–Solomon coded file (stored with `fragfs put --redundancy`) read
//! through a mount: rebuilt from its shards and byte-identical; writing it
//! through the mount is refused with EOPNOTSUPP (the mount writes replicas
//! and a version never mixes the two).

mod common;
use common::*;
use std::{fs, process::Command};

#[test]
fn t10_a_coded_file_reads_back_through_a_mount_and_is_read_only() {
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
    let e = fs::OpenOptions::new().write(true).open(&p).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EOPNOTSUPP), "{e}");
    assert_eq!(fs::read(&p).expect("still readable"), bytes);
}
