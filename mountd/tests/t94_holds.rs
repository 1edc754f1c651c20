//! What an open handle reads from is never dropped: a mount reports the
//! versions its handles hold open (`Command::Hold`), retention keeps them
//! while the handle stays open, and drops them once it is closed.

use crate::common;
use common::*;
use std::{
    fs,
    io::{Read, Write},
    path::Path,
    time::Duration,
};

/// Retention runs every 1.25 s with a 5 s grace; a superseded version
/// settles for 10 s first.
const DROPPED: Duration = Duration::from_secs(60);

fn write_synced(p: &Path, bytes: &[u8]) {
    let mut f = fs::File::create(p).expect("create");
    f.write_all(bytes).expect("write");
    f.sync_all().expect("fsync");
}

/// How many versions of `rel` the history tree of `m` lists.
fn kept(m: &Mount, rel: &str) -> usize {
    names(&m.path(&format!(".fragfs/history/{rel}"))).len()
}

#[test]
fn t10_a_version_open_on_another_mount_outlives_retention_until_closed() {
    let (da, db) = (Dirs::new(), Dirs::new());
    let (a, b) = Mount::start_pair(&da, &db, &["--gc-grace", "5s"]);
    setxattr(&a.mnt, "user.fragfs.keep", b"versions=1,days=0").expect("keep policy");
    let (old, other) = (random(3 << 20), random(100_000));
    write_synced(&a.path("held.bin"), &old);
    write_synced(&a.path("free.bin"), &other);
    let mut held = fs::File::open(b.path("held.bin")).expect("open on b");

    // Both files get a new version on a: the old ones are superseded.
    let new = random(3 << 20);
    write_synced(&a.path("held.bin"), &new);
    write_synced(&a.path("free.bin"), &random(100_000));
    let dropped = wait_until(DROPPED, || kept(&a, "free.bin") == 1);
    assert!(dropped, "the free file's old version is dropped");
    assert_eq!(kept(&a, "held.bin"), 2, "the version open on b is kept");

    // The handle still reads the version it opened, byte for byte.
    let mut got = Vec::new();
    held.read_to_end(&mut got).expect("read the held version");
    assert!(got == old, "the held handle reads its own version");
    assert_eq!(fs::read(b.path("held.bin")).expect("read head"), new);

    drop(held);
    let released = wait_until(DROPPED, || kept(&a, "held.bin") == 1);
    assert!(released, "closed: the old version goes too");
}
