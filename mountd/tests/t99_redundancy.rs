//! Redundancy chosen per directory through a mount: a directory whose
//! `user.fragfs.redundancy` is `rs:2+1` gets Reed–Solomon coded files
//! (three peers, about 1.5 times the data stored), byte-identical on
//! another mount, also after an overwrite in place; a sibling directory
//! without the attribute gets the node's replicas, and keeps them for its
//! existing files when the attribute is set later; an invalid spec is
//! refused with EINVAL.

use crate::common;
use common::*;
use std::{
    fs,
    io::{Seek, SeekFrom, Write},
    path::Path,
    process::Command,
    time::Duration,
};

const SPEC: &str = "user.fragfs.redundancy";

/// `fragfs ARGS --json` against the node on `data`, parsed.
fn json(data: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(fragfs_bin())
        .arg("--data")
        .arg(data)
        .args(args)
        .arg("--json")
        .output()
        .expect("run fragfs");
    assert!(
        out.status.success(),
        "fragfs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn storage_peers(data: &Path) -> usize {
    json(data, &["peers"])
        .as_array()
        .map_or(0, |a| a.iter().filter(|p| p["storage"] == true).count())
}

/// The scheme of the head version of `path`, as `fragfs info` shows it.
fn head_scheme(data: &Path, path: &str) -> String {
    json(data, &["info", path])["redundancy"]
        .as_str()
        .expect("redundancy in info")
        .to_string()
}

fn write_synced(p: &Path, bytes: &[u8]) {
    let mut f = fs::File::create(p).expect("create");
    f.write_all(bytes).expect("write");
    f.sync_all().expect("fsync");
}

#[test]
fn t10_a_directory_set_to_rs_gets_coded_files_its_sibling_replicas() {
    let dirs = [Dirs::new(), Dirs::new(), Dirs::new()];
    let mounts = Mount::start_group(&[&dirs[0], &dirs[1], &dirs[2]], &[]);
    let (a, b) = (&mounts[0], &mounts[1]);
    let da = dirs[0].data.path();
    let seen = wait_until(Duration::from_secs(30), || storage_peers(da) >= 2);
    assert!(seen, "the first node sees its two storage peers");
    let stores = || dirs.iter().map(|d| stored(d.data.path())).sum::<u64>();

    fs::create_dir(a.path("coded")).expect("mkdir coded");
    fs::create_dir(a.path("plain")).expect("mkdir plain");
    setxattr(&a.path("coded"), SPEC, b"rs:2+1").expect("set rs:2+1");
    for bad in [&b"rs:0+1"[..], b"mirror:2", b"replicas:17"] {
        assert_eq!(
            setxattr(&a.path("plain"), SPEC, bad),
            Err(libc::EINVAL),
            "{:?} is refused",
            String::from_utf8_lossy(bad)
        );
    }

    // Three and a half fragments of 1 MiB.
    let size = 7 * MIB / 2;
    let bytes = random(size);
    let before = stores();
    write_synced(&a.path("coded/f.bin"), &bytes);
    let coded = stores() - before;
    let ratio = coded as f64 / size as f64;
    assert!(
        (1.45..1.6).contains(&ratio),
        "rs:2+1 stores about 1.5 bytes per byte: {coded} for {size} ({ratio:.3})"
    );
    assert_eq!(head_scheme(da, "/coded/f.bin"), "rs:2+1");

    let plain = random(size);
    let before = stores();
    write_synced(&a.path("plain/g.bin"), &plain);
    let copies = stores() - before;
    let ratio = copies as f64 / size as f64;
    assert!(
        (1.0..1.1).contains(&ratio),
        "one replica (the nodes' default) stores each byte once: {copies} for {size}"
    );
    assert_eq!(head_scheme(da, "/plain/g.bin"), "replicas:1");

    let on_b = b.path("coded/f.bin");
    let ok = wait_until(Duration::from_secs(30), || {
        fs::read(&on_b).is_ok_and(|got| got == bytes)
    });
    assert!(
        ok,
        "the coded file reads back byte-identical on another mount"
    );
    assert_eq!(fs::read(b.path("plain/g.bin")).expect("read plain"), plain);

    // Overwrite part of the second fragment in place: still coded.
    let mut want = bytes.clone();
    let (at, patch) = (MIB + MIB / 2, random(100_000));
    want[at..at + patch.len()].copy_from_slice(&patch);
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .open(a.path("coded/f.bin"))
            .expect("an rs file opens for writing");
        f.seek(SeekFrom::Start(at as u64)).expect("seek");
        f.write_all(&patch).expect("write");
        f.sync_all().expect("fsync");
    }
    let ok = wait_until(Duration::from_secs(30), || {
        fs::read(&on_b).is_ok_and(|got| got == want)
    });
    assert!(ok, "the overwritten rs file reads back byte-identical");
    assert_eq!(fs::read(a.path("coded/f.bin")).expect("read on a"), want);
    assert_eq!(head_scheme(da, "/coded/f.bin"), "rs:2+1", "no mixing");

    // A spec set later applies to new files; an existing one keeps its
    // scheme when written again.
    setxattr(&a.path("plain"), SPEC, b"rs:2+1").expect("set rs:2+1 later");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(a.path("plain/g.bin"))
        .expect("open for append");
    f.write_all(b"tail").expect("append");
    f.sync_all().expect("fsync");
    drop(f);
    assert_eq!(head_scheme(da, "/plain/g.bin"), "replicas:1");
    write_synced(&a.path("plain/new.bin"), &random(MIB));
    assert_eq!(head_scheme(da, "/plain/new.bin"), "rs:2+1");
}
