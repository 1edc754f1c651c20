//! Re-encoding on real peers: setting `user.fragfs.redundancy` on a
//! directory moves the files already in it (every kept version) to the
//! new scheme in the background; the bytes read stay the same and the
//! stores give back the surplus once the collector's grace has passed.

use crate::common;
use common::*;
use fragfs::{
    client::Progress,
    fragment::{FragmentId, FragmentSize, Manifest},
    lifecycle::RedundancySpec,
    node::{localnet::LocalNet, NodeConfig},
    redundancy::Redundancy,
    volume::Volume,
};
use std::{
    path::Path,
    time::{Duration, Instant},
};

const PEERS: usize = 6;

/// Peer 0 is the only metadata voter (so it leads and re-encodes); rounds
/// about every second; a short grace period; 64 KiB fragments.
fn quick(cfg: &mut NodeConfig) {
    cfg.meta.voter = cfg.net.bootstrap.is_empty();
    cfg.repair.after = Duration::from_secs(4);
    cfg.gc_grace = Duration::from_secs(2);
    cfg.client.fragment_size = FragmentSize::new(65_536).unwrap();
}

async fn start(dir: &Path) -> LocalNet {
    mesh_led(&dir.join("net"), PEERS, quick).await
}

/// Stores `bytes` with the node's scheme (three replicas) at `path`.
async fn put_at(v: &Volume, dir: &Path, path: &str, bytes: &[u8]) {
    let local = dir.join(path.trim_start_matches('/').replace('/', "_"));
    std::fs::write(&local, bytes).unwrap();
    let r = v
        .client()
        .put_file(&local, None, Progress::new())
        .await
        .expect("put");
    v.commit_at_path(path, r.manifest).await.expect("commit");
}

async fn versions(v: &Volume, path: &str) -> Vec<Manifest> {
    let (_, versions) = v.history(path).await.expect("history");
    versions.into_iter().map(|x| x.manifest).collect()
}

async fn read(v: &Volume, dir: &Path, path: &str) -> Vec<u8> {
    let id = v.head_id(path).await.expect("head id");
    read_id(v, dir, &id).await
}

async fn read_id(v: &Volume, dir: &Path, id: &FragmentId) -> Vec<u8> {
    let out = dir.join("read.out");
    v.client()
        .get_file(id, &out, Progress::new())
        .await
        .expect("read");
    std::fs::read(&out).unwrap()
}

fn used(net: &LocalNet) -> u64 {
    (0..net.len())
        .filter_map(|i| net.node(i).store().map(|s| s.usage().used))
        .sum()
}

/// Waits until every version of every path in `paths` is stored with
/// `want`.
async fn wait_schemes(v: &Volume, paths: &[&str], want: Redundancy) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut behind = Vec::new();
        for p in paths {
            for m in versions(v, p).await {
                if m.redundancy != want {
                    behind.push(format!("{p}: {}", m.redundancy));
                }
            }
        }
        if behind.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "not re-encoded: {behind:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_a_directory_set_to_rs_4_2_is_re_encoded_and_its_surplus_freed() {
    let tmp = tempfile::tempdir().unwrap();
    let net = start(tmp.path()).await;
    let v = net.node(0).volume();
    let (a1, a2) = (random_bytes(500_000), random_bytes(520_000));
    let b = random_bytes(400_000);
    let other = random_bytes(300_000);
    put_at(&v, tmp.path(), "/dir/a.bin", &a1).await;
    put_at(&v, tmp.path(), "/dir/a.bin", &a2).await;
    put_at(&v, tmp.path(), "/dir/sub/b.bin", &b).await;
    put_at(&v, tmp.path(), "/other.bin", &other).await;
    let replicas = versions(&v, "/other.bin").await[0].redundancy;
    assert_eq!(replicas.to_string(), "3 replicas");
    let data = (a1.len() + a2.len() + b.len()) as u64;
    let before = used(&net);
    assert!(before >= 3 * (data + other.len() as u64), "{before}");

    let rs = RedundancySpec::Rs { data: 4, parity: 2 };
    v.set_redundancy("/dir", rs).await.expect("set");
    let want = rs.redundancy().unwrap();
    wait_schemes(&v, &["/dir/a.bin", "/dir/sub/b.bin"], want).await;

    assert_eq!(read(&v, tmp.path(), "/dir/a.bin").await, a2);
    assert_eq!(read(&v, tmp.path(), "/dir/sub/b.bin").await, b);
    let first = versions(&v, "/dir/a.bin").await[0].id();
    assert_eq!(read_id(&v, tmp.path(), &first).await, a1, "the old version");
    assert_eq!(versions(&v, "/other.bin").await[0].redundancy, replicas);
    assert_eq!(read(&v, tmp.path(), "/other.bin").await, other);

    // 1.5 copies of the moved data (plus stripes and manifests) and three
    // of the rest, once the old replicas have been collected.
    let bound = (data * 3 / 2 + 3 * other.len() as u64) * 11 / 10;
    let deadline = Instant::now() + Duration::from_secs(60);
    while used(&net) > bound {
        assert!(Instant::now() < deadline, "{} > {bound}", used(&net));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let w = net.node(0).worker_reports();
    let r = w.iter().find(|r| r.name == "reencode").expect("a worker");
    assert!(r.done_total >= data, "{r:?}");
    assert_eq!(read(&v, tmp.path(), "/dir/a.bin").await, a2);
    net.shutdown().await;
}
