//! Garbage collection on real peers: what no kept version refers to goes
//! after the grace period; a write that reuses fragments while the
//! collector runs never ends with a version missing one.

use crate::common;
use common::*;
use fragfs::{
    client::Progress,
    fragment::Manifest,
    meta::{XattrMode, ROOT},
    node::{localnet::LocalNet, NodeConfig},
    volume::Volume,
};
use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

/// A grace period the race rule holds for (longer than
/// `volume::REFRESH_AFTER` plus a commit on loopback).
const GRACE: Duration = Duration::from_secs(2);

/// The first peer is the metadata voter; every peer collects garbage with
/// a short grace period; fragments of 64 KiB.
fn short_grace(cfg: &mut NodeConfig) {
    cfg.meta.voter = cfg.net.bootstrap.is_empty();
    cfg.gc_grace = GRACE;
    cfg.client.fragment_size = fragfs::fragment::FragmentSize::new(65_536).unwrap();
}

async fn put_at(v: &Volume, dir: &Path, path: &str, bytes: &[u8]) -> Manifest {
    let local = dir.join(path.trim_start_matches('/').replace('/', "_"));
    std::fs::write(&local, bytes).unwrap();
    let r = v
        .client()
        .put_file(&local, None, Progress::new())
        .await
        .expect("put");
    v.commit_at_path(path, r.manifest.clone())
        .await
        .expect("commit");
    r.manifest
}

/// Sets the retention of the whole namespace to the head alone, and no
/// days for deleted files.
async fn keep_only_the_head(v: &Volume) {
    let value = b"versions=1,days=0".to_vec();
    v.setxattr(ROOT, "user.fragfs.keep".into(), value, XattrMode::Any)
        .await
        .expect("keep policy");
}

/// Every fragment of `m` is on at least one of its holders' stores.
fn all_held(net: &LocalNet, m: &Manifest) -> Result<(), String> {
    for f in &m.fragments {
        let held = (0..net.len())
            .any(|i| net.is_running(i) && net.node(i).store().is_some_and(|s| s.has(&f.id)));
        if !held {
            return Err(format!("fragment {} of {} is gone", f.id, m.name));
        }
    }
    Ok(())
}

/// `n` peers with a short grace period, meshed, peer 0 leading the
/// metadata.
async fn start(dir: &Path, n: usize) -> LocalNet {
    mesh_led(&dir.join("net"), n, short_grace).await
}

fn used(net: &LocalNet) -> u64 {
    (0..net.len())
        .filter_map(|i| net.node(i).store().map(|s| s.usage().used))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_a_deleted_file_is_collected_after_grace_and_the_rest_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let net = start(tmp.path(), 3).await;
    let v = net.node(0).volume();
    let files = tmp.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let keep = random_bytes(300_000);
    let kept = put_at(&v, &files, "/keep.bin", &keep).await;
    let gone = put_at(&v, &files, "/gone.bin", &random_bytes(1_000_000)).await;
    let before = used(&net);
    assert!(before >= 3 * 1_300_000, "three copies stored: {before}");

    // Nothing referenced goes, however often the collector runs.
    tokio::time::sleep(GRACE + Duration::from_millis(200)).await;
    for i in 0..net.len() {
        net.node(i).collect_garbage().await.expect("gc round");
    }
    assert_eq!(used(&net), before, "referenced fragments stay");

    // Deleted with a retention of zero days: dropped by the next
    // retention, then collected on every holder after the grace period.
    keep_only_the_head(&v).await;
    v.unlink(ROOT, "gone.bin".into()).await.expect("unlink");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let u = used(&net);
        if u < 3 * 300_000 + 3 * 4096 {
            break;
        }
        assert!(Instant::now() < deadline, "still {u} bytes stored");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(used(&net) >= 3 * 300_000, "the kept file's copies stay");
    assert!(
        all_held(&net, &gone).is_err(),
        "the deleted file's fragments went"
    );
    all_held(&net, &kept).expect("the kept file is whole");
    let back = v.read_range(&kept, 0, kept.size).await.expect("read");
    assert_eq!(back, keep);
}

/// Again and again: a file is written and deleted, its fragments go idle
/// for the whole grace period, then a new file with the same bytes (the
/// same fragment ids) is written while every peer runs a collector round
/// at the same moment. The write must never end with a version missing a
/// fragment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_the_collector_racing_writes_that_reuse_fragments_loses_nothing() {
    use rand::Rng;
    let tmp = tempfile::tempdir().unwrap();
    let net = start(tmp.path(), 3).await;
    let net = Arc::new(net);
    let v = net.node(0).volume();
    keep_only_the_head(&v).await;
    let files = tmp.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let mut rng = rand::rng();
    let mut kept = Vec::new();
    let mut collected = 0;
    for round in 0..8 {
        let bytes = random_bytes(400_000);
        put_at(&v, &files, &format!("/old{round}"), &bytes).await;
        v.unlink(ROOT, format!("old{round}")).await.expect("unlink");
        // Retention drops the deleted file; its fragments go idle.
        v.retain(Vec::new()).await.expect("retention");
        tokio::time::sleep(GRACE + Duration::from_millis(100)).await;
        let delay = Duration::from_millis(rng.random_range(0..15));
        let writer = {
            let (v, files, bytes) = (v.clone(), files.clone(), bytes.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                put_at(&v, &files, &format!("/new{round}"), &bytes).await
            })
        };
        let rounds: Vec<_> = (0..net.len())
            .map(|i| {
                let net = net.clone();
                tokio::spawn(async move { net.node(i).collect_garbage().await })
            })
            .collect();
        for r in rounds {
            collected += r.await.expect("collector").expect("gc round");
        }
        let m = writer.await.expect("writer");
        all_held(&net, &m).unwrap_or_else(|e| panic!("round {round}: {e}"));
        kept.push((m, bytes));
    }
    // And once more after everything settled: every kept file is whole.
    tokio::time::sleep(GRACE + Duration::from_millis(100)).await;
    for i in 0..net.len() {
        collected += net.node(i).collect_garbage().await.expect("gc round");
    }
    for (m, bytes) in &kept {
        all_held(&net, m).expect("whole after the last round");
        let back = v.read_range(m, 0, m.size).await.expect("read");
        assert_eq!(&back, bytes);
    }
    eprintln!("collected {collected} bytes while racing");
}

/// A coded (`rs:3+2`) file: the collector keeps its shards and stripes
/// while the file is kept (the namespace names only the stripes), and
/// takes them all once it is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_coded_files_keep_their_shards_until_deleted() {
    use fragfs::{client::ClientConfig, redundancy::Redundancy};
    let tmp = tempfile::tempdir().unwrap();
    let net = start(tmp.path(), 5).await;
    let v = net.node(0).volume();
    let cfg = ClientConfig {
        redundancy: Redundancy::reed_solomon(3, 2).unwrap(),
        ..v.client().config().clone()
    };
    let coder = v.client().with_config(cfg);
    let bytes = random_bytes(700_000);
    let local = tmp.path().join("coded");
    std::fs::write(&local, &bytes).unwrap();
    let m = coder
        .put_file(&local, None, Progress::new())
        .await
        .expect("coded put")
        .manifest;
    v.commit_at_path("/coded", m.clone()).await.expect("commit");
    let stored = used(&net);
    assert!(stored > 700_000 * 5 / 3, "shards stored: {stored}");

    tokio::time::sleep(GRACE + Duration::from_millis(200)).await;
    for i in 0..net.len() {
        net.node(i).collect_garbage().await.expect("gc round");
    }
    assert_eq!(used(&net), stored, "a kept coded file loses nothing");
    let back = v.read_range(&m, 0, m.size).await.expect("read");
    assert_eq!(back, bytes);

    keep_only_the_head(&v).await;
    v.unlink(ROOT, "coded".into()).await.expect("unlink");
    // Dropped by the retention worker once deleted for SETTLE_MS, then
    // collected after the grace period by every store's collector.
    let deadline = Instant::now() + Duration::from_secs(40);
    while used(&net) != 0 {
        assert!(Instant::now() < deadline, "{} bytes left", used(&net));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
