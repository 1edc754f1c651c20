//! Space comes back: a file deleted through a mount is dropped by
//! retention and its fragments collected on every store after the grace
//! period; `df` on every mount and `fragfs status` show it.

use crate::common;
use common::*;
use std::{fs, io::Write, path::Path, process::Command, time::Duration};

const MIB: u64 = 1 << 20;
/// Retention and collection with a 5 s grace: well within this.
const BACK: Duration = Duration::from_secs(60);

fn write_synced(p: &Path, bytes: &[u8]) {
    let mut f = fs::File::create(p).expect("create");
    f.write_all(bytes).expect("write");
    f.sync_all().expect("fsync");
}

/// Bytes in use as `df` shows them.
fn df_used(mnt: &Path) -> u64 {
    let s = statvfs(mnt);
    (s.f_blocks - s.f_bfree) * s.f_frsize
}

/// `fragfs status --json` of the node on `data`.
fn status(data: &Path) -> serde_json::Value {
    let out = Command::new(fragfs_bin())
        .arg("--data")
        .arg(data)
        .args(["status", "--json"])
        .output()
        .expect("run fragfs status");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status is JSON")
}

#[test]
fn t10_a_deleted_file_gives_its_space_back_on_every_mount_and_in_status() {
    let (da, db) = (Dirs::new(), Dirs::new());
    let (a, b) = Mount::start_pair(&da, &db, &["--gc-grace", "5s"]);
    let stores = || stored(da.data.path()) + stored(db.data.path());
    // Only the head of each file, and nothing of a deleted one.
    setxattr(&a.mnt, "user.fragfs.keep", b"versions=1,days=0").expect("keep policy");

    let mut keep = Vec::new();
    for _ in 0..3 {
        keep = random(MIB as usize);
        write_synced(&a.path("keep.bin"), &keep);
    }
    let big = random(16 * MIB as usize);
    write_synced(&a.path("big.bin"), &big);
    assert!(stores() >= 17 * MIB, "both files stored: {}", stores());
    fs::remove_file(a.path("big.bin")).expect("rm");

    // What remains is the head of keep.bin and its manifest.
    let need = MIB + 64 * 1024;
    let back = wait_until(BACK, || stores() <= need);
    assert!(back, "stores still hold {} bytes", stores());
    assert!(stores() >= MIB, "keep.bin's head stays");
    for m in [&a, &b] {
        let ok = wait_until(BACK, || df_used(&m.mnt) <= need);
        assert!(
            ok,
            "df on {} shows {} used",
            m.mnt.display(),
            df_used(&m.mnt)
        );
    }
    assert_eq!(fs::read(b.path("keep.bin")).expect("read on b"), keep);

    let collected: u64 = [da.data.path(), db.data.path()]
        .iter()
        .map(|d| {
            status(d)["store"]["collected_bytes"]
                .as_u64()
                .expect("collected_bytes")
        })
        .sum();
    assert!(
        collected >= 18 * MIB,
        "status counts what was collected: {collected}"
    );
    let gc = status(da.data.path())["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .any(|w| w["name"] == "gc");
    assert!(gc, "the gc worker is listed");
}
