//! The `Volume` on real peers: create a file, commit versions whose bytes
//! are stored on the network, read them back verified, commit on a stale
//! base (the commit goes on top of the newer head; every version is kept),
//! history, revert, commit at a path, unlink.

use crate::common;
use common::*;
use fragfs::{
    fragment::Manifest,
    meta::{Caller, Context, FsError, ROOT},
    node::{localnet::LocalNet, NodeConfig},
    volume::{Base, Durability, Volume, VolumeError},
};
use std::time::Duration;

/// The first peer is the metadata voter; the others read and write
/// through it.
fn first_is_voter(cfg: &mut NodeConfig) {
    cfg.meta.voter = cfg.net.bootstrap.is_empty();
}

async fn read_all(v: &Volume, m: &Manifest) -> Vec<u8> {
    v.read_range(m, 0, m.size).await.expect("read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_create_commit_read_rebase_history_revert_unlink() {
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let net = LocalNet::start_with(&tmp.path().join("net"), 3, first_is_voter)
        .await
        .expect("peers start");
    assert!(net.wait_for_mesh(MESH_DEADLINE).await);
    let leader = net.node(0).meta().wait_for_leader(Duration::from_secs(10));
    assert!(leader.await.is_some(), "peer 0 leads");
    let (v, w) = (net.node(0).volume(), net.node(1).volume());
    let files = tmp.path().join("files");
    std::fs::create_dir_all(&files).unwrap();

    // Create, then a first version, read back byte for byte.
    let dir = v.mkdir_p("/docs").await.expect("mkdir -p");
    let a = v
        .create(dir, "a.bin".into(), 0o644, Caller::ROOT, Context::default())
        .await
        .expect("create");
    let b1 = random_bytes(300_000);
    let m1 = store(&v, &files, "1", &b1).await;
    let c1 = v
        .commit(a.ino, None, m1.clone(), Caller::ROOT, Durability::Durable)
        .await
        .expect("commit 1");
    assert_eq!(c1.version, 1);
    assert_eq!(c1.attr.size, b1.len() as u64);
    let (_, head) = v.head(a.ino).await.expect("head");
    let head = head.expect("a head version");
    assert_eq!(read_all(&v, &head.manifest).await, b1);
    let part = v.read_range(&head.manifest, 1000, 10).await.unwrap();
    assert_eq!(part, b1[1000..1010]);

    // A second version on the first.
    let b2 = random_bytes(5_000);
    let m2 = store(&v, &files, "2", &b2).await;
    let base1 = Base::from(&head);
    let c2 = v
        .commit(a.ino, Some(base1), m2, Caller::ROOT, Durability::Visible)
        .await
        .expect("commit 2");
    assert_eq!(c2.version, 2);

    // Another node commits on the stale base 1: it goes on top of 2.
    let b3 = random_bytes(7_000);
    let m3 = store(&w, &files, "3", &b3).await;
    let c3 = w
        .commit(a.ino, Some(base1), m3, Caller::ROOT, Durability::Visible)
        .await
        .expect("commit on a stale base");
    assert_eq!(c3.version, 3);
    assert!(c3.hlc > c2.hlc, "the later commit has the later clock");

    // Every version is kept, each with its bytes.
    let (attr, versions) = v.history("/docs/a.bin").await.expect("history");
    assert_eq!(attr.ino, a.ino);
    let ids: Vec<_> = versions.iter().map(|v| (v.id, v.parent)).collect();
    assert_eq!(ids, vec![(1, None), (2, Some(1)), (3, Some(2))]);
    assert_eq!(read_all(&v, &versions[1].manifest).await, b2);
    assert_eq!(read_all(&v, &versions[2].manifest).await, b3);
    assert_eq!(versions[2].author.peer, w.author());

    // Revert to version 1: a new version 4 with version 1's bytes.
    let c4 = v
        .revert("/docs/a.bin", 1, Caller::ROOT)
        .await
        .expect("revert");
    assert_eq!(c4.version, 4);
    let one = v.version("/docs/a.bin", 4).await.expect("version 4");
    assert_eq!(one.parent, Some(3));
    assert_eq!(read_all(&v, &one.manifest).await, b1);
    let missing = v.revert("/docs/a.bin", 99, Caller::ROOT).await;
    let said = missing.expect_err("no version 99").to_string();
    assert!(
        said.contains("has no version 99 (it has versions 1 to 4)"),
        "{said}"
    );

    // Commit at a path creates the parents and the file.
    let c = w
        .commit_at_path("/x/y/z.bin", m1.clone())
        .await
        .expect("commit at path");
    assert_eq!(c.version, 1);
    assert_eq!(v.stat("/x/y/z.bin").await.unwrap().size, b1.len() as u64);
    assert_eq!(v.head_id("/x/y/z.bin").await.unwrap(), m1.id());

    // Unlink: the name is gone, and a commit to the file fails clearly.
    v.unlink(dir, "a.bin".into()).await.expect("unlink");
    let gone = v.lookup(dir, "a.bin".into()).await;
    assert!(matches!(gone, Err(VolumeError::Fs(FsError::NotFound))));
    let late = v
        .commit(a.ino, None, m1, Caller::ROOT, Durability::Visible)
        .await;
    assert!(
        matches!(late, Err(VolumeError::Fs(FsError::NotFound))),
        "{late:?}"
    );
    let root = v.readdir(ROOT).await.unwrap();
    let names: Vec<_> = root.iter().map(|e| e.name.as_str()).collect();
    assert!(names.contains(&"docs") && names.contains(&"x"), "{names:?}");
    net.shutdown().await;
}
