//! Storage peers failing under a mount: real `fragfs node` processes on
//! 127.0.0.1 hold the fragments, a `fragfs-mountd --no-store` reads them.
//!
//! The `fragfs` program is the one built beside `fragfs-mountd` (the
//! workspace's `cargo test` builds both).

use crate::common;
use common::*;
use fragfs::testing::NodeProc;
use std::{
    fs,
    io::Read,
    os::unix::fs::FileExt,
    process::Child,
    time::{Duration, Instant},
};

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on the pid of a child this test started.
    unsafe { libc::kill(child.id() as i32, sig) };
}

/// A storage peer: `fragfs node` on a data directory of its own.
fn peer(join: Option<&str>) -> NodeProc {
    let extra: Vec<&str> = join.map(|j| vec!["--peer", j]).unwrap_or_default();
    NodeProc::start_temp(&fragfs_bin(), &extra)
}

/// Three storage peers (the first is the metadata voter).
fn network() -> Vec<NodeProc> {
    let first = peer(None);
    let a = first.addr.clone();
    vec![first, peer(Some(&a)), peer(Some(&a))]
}

/// A client mount with no store of its own, joined to `join`.
fn client_mount(join: &str, extra: &[&str]) -> Mount {
    let opts = ["--no-store", "--peer", join, "--replicas", "3"];
    Mount::start_owned(&[&opts[..], extra].concat())
}

/// Writes `data` through a first mount, then opens a second (cold) one.
fn stored_then_cold(peers: &[NodeProc], data: &[u8], extra: &[&str]) -> Mount {
    let m = client_mount(&peers[0].addr, &[]);
    fs::write(m.path("big"), data).expect("write through the mount");
    drop(m);
    client_mount(&peers[0].addr, extra)
}

#[test]
fn t10_a_storage_peer_killed_during_a_large_read() {
    let mut peers = network();
    let data = random(48 * MIB);
    let m = stored_then_cold(&peers, &data, &[]);
    let mut f = fs::File::open(m.path("big")).expect("open");
    let mut back = vec![0u8; data.len()];
    f.read_exact(&mut back[..8 * MIB]).expect("first part");
    // A holder of every fragment dies mid-read.
    let _ = peers[1].proc.child.kill();
    let _ = peers[1].proc.child.wait();
    f.read_exact(&mut back[8 * MIB..])
        .expect("rest after the kill");
    assert!(back == data, "bytes differ after a peer was killed");
    drop(m);
    drop(peers);
}

#[test]
fn t20_a_frozen_peer_does_not_hang_a_read() {
    let peers = network();
    let data = random(32 * MIB);
    let deadline = 6;
    let m = stored_then_cold(&peers, &data, &["--data-timeout", &deadline.to_string()]);
    let f = fs::File::open(m.path("big")).expect("open");
    let mut buf = vec![0u8; MIB];
    f.read_exact_at(&mut buf, 0).expect("first MiB");
    assert!(buf[..] == data[..MIB]);

    // One holder frozen: the others serve, the bytes are right.
    signal(&peers[1].proc.child, libc::SIGSTOP);
    let t = Instant::now();
    f.read_exact_at(&mut buf, 12 * MIB as u64)
        .expect("read with one peer frozen");
    assert!(
        buf[..] == data[12 * MIB..13 * MIB],
        "bytes with one peer frozen"
    );
    assert!(
        t.elapsed() < Duration::from_secs(deadline),
        "one frozen peer took {:?}",
        t.elapsed()
    );

    // Every holder frozen: the call fails with EIO within its deadline.
    signal(&peers[0].proc.child, libc::SIGSTOP);
    signal(&peers[2].proc.child, libc::SIGSTOP);
    let t = Instant::now();
    let err = f
        .read_exact_at(&mut buf, 24 * MIB as u64)
        .expect_err("no holder answers");
    let took = t.elapsed();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    assert!(
        took < Duration::from_secs(deadline + 4),
        "the read took {took:?}, deadline {deadline} s"
    );

    // Back to life: the same read succeeds.
    for p in &peers {
        signal(&p.proc.child, libc::SIGCONT);
    }
    f.read_exact_at(&mut buf, 24 * MIB as u64)
        .expect("read after the peers resumed");
    assert!(buf[..] == data[24 * MIB..25 * MIB], "bytes after resuming");
    drop(f);
    drop(m);
}
