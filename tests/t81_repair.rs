//! Repair on real peers: when storage peers stay unreachable past
//! `--repair-after`, every copy they held is restored on other peers
//! without any command, and the namespace's records name the new holders,
//! which hold what they are said to.

use crate::common;
use common::*;
use fragfs::{
    client::{Client, ClientConfig, Progress},
    fragment::{FragmentSize, Manifest},
    lifecycle::RedundancySpec,
    net,
    node::{localnet::LocalNet, NodeConfig},
    redundancy::{NodeId, Redundancy, Replicas},
    volume::Volume,
};
use std::{
    collections::HashSet,
    path::Path,
    time::{Duration, Instant},
};

const PEERS: usize = 7;
const REPAIR_AFTER: Duration = Duration::from_secs(3);

/// Peer 0 is the only metadata voter (so it leads and repairs); repair
/// after 3 s; 64 KiB fragments.
fn quick_repair(cfg: &mut NodeConfig) {
    cfg.meta.voter = cfg.net.bootstrap.is_empty();
    cfg.repair.after = REPAIR_AFTER;
    cfg.client.fragment_size = FragmentSize::new(65_536).unwrap();
}

async fn start(dir: &Path) -> LocalNet {
    mesh_led(&dir.join("net"), PEERS, quick_repair).await
}

fn with_redundancy(client: Client, redundancy: Redundancy) -> Client {
    let replicas = match redundancy {
        Redundancy::Replicas(n) => n,
        _ => client.config().replicas,
    };
    let cfg = ClientConfig {
        redundancy,
        replicas,
        ..client.config().clone()
    };
    client.with_config(cfg)
}

/// Stores `bytes` with `redundancy` and commits them at `path`.
async fn put_at(v: &Volume, dir: &Path, path: &str, bytes: &[u8], redundancy: Redundancy) {
    let local = dir.join(path.trim_start_matches('/').replace('/', "_"));
    std::fs::write(&local, bytes).unwrap();
    let client = with_redundancy(v.client().clone(), redundancy);
    let r = client
        .put_file(&local, None, Progress::new())
        .await
        .expect("put");
    v.commit_at_path(path, r.manifest).await.expect("commit");
}

async fn head(v: &Volume, path: &str) -> Manifest {
    let (_, versions) = v.history(path).await.expect("history");
    versions.last().expect("a version").manifest.clone()
}

/// Two running peers other than 0 that hold copies of the first entry.
fn two_holders(net: &LocalNet, m: &Manifest) -> Vec<usize> {
    let mut out: Vec<usize> = m.fragments[0]
        .holders
        .iter()
        .filter_map(|h| net.index_of(h))
        .filter(|&i| i != 0)
        .collect();
    out.truncate(2);
    assert_eq!(out.len(), 2, "two holders besides peer 0");
    out
}

/// How many copies (entry, position) of `m` the peers `which` hold.
fn copies_on(net: &LocalNet, m: &Manifest, which: &[usize]) -> u64 {
    let ids: HashSet<NodeId> = which
        .iter()
        .map(|&i| net::node_id(&net.node(i).peer_id()))
        .collect();
    let held = m.fragments.iter().flat_map(|f| f.holders.iter());
    held.filter(|h| ids.contains(*h)).count() as u64
}

async fn read(v: &Volume, dir: &Path, path: &str) -> Vec<u8> {
    let out = dir.join("read.out");
    let id = v.head_id(path).await.expect("head id");
    v.client()
        .get_file(&id, &out, Progress::new())
        .await
        .expect("read");
    std::fs::read(&out).unwrap()
}

/// Waits until the head of `path` is fully placed again.
async fn wait_repaired(net: &LocalNet, path: &str) -> Manifest {
    let v = net.node(0).volume();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let m = head(&v, path).await;
        match net.fully_placed(&m) {
            Ok(()) => return m,
            Err(e) => assert!(Instant::now() < deadline, "not repaired: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_rs_3_2_is_back_to_five_shards_after_two_peers_die() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = start(tmp.path()).await;
    let v = net.node(0).volume();
    // rs:3+2 set on a directory; the file put at a path below it follows
    // it, as `fragfs put PATH` does.
    v.mkdir_p("/coded").await.expect("mkdir");
    let spec = RedundancySpec::Rs { data: 3, parity: 2 };
    v.set_redundancy("/coded", spec).await.expect("set");
    let rs = v.redundancy_set_for("/coded/file.bin").await.expect("spec");
    assert_eq!(rs, Some(Redundancy::reed_solomon(3, 2).unwrap()));
    let data = random_bytes(1_000_000);
    put_at(&v, tmp.path(), "/coded/file.bin", &data, rs.unwrap()).await;
    let before = head(&v, "/coded/file.bin").await;
    assert_eq!(before.redundancy, rs.unwrap());
    net.fully_placed(&before).expect("placed as written");
    // About 5/3 of the data: shards, plus stripes and the manifest.
    let used: u64 = (0..PEERS)
        .filter_map(|i| net.node(i).store().map(|s| s.usage().used))
        .sum();
    let five_thirds = data.len() as u64 * 5 / 3;
    assert!(
        (five_thirds..five_thirds * 105 / 100 + 65_536).contains(&used),
        "{used} bytes stored for {} of data",
        data.len()
    );

    let dead = two_holders(&net, &before);
    let lost = copies_on(&net, &before, &dead);
    let started = Instant::now();
    for &i in &dead {
        net.stop(i).await;
    }
    assert_eq!(
        read(&v, tmp.path(), "/coded/file.bin").await,
        data,
        "degraded read"
    );

    let after = wait_repaired(&net, "/coded/file.bin").await;
    assert!(started.elapsed() >= REPAIR_AFTER, "not before the delay");
    assert!(
        before.same_content(&after) && before != after,
        "same bytes, new holders"
    );
    assert_eq!(read(&v, tmp.path(), "/coded/file.bin").await, data);
    let r = net.node(0).repair_report();
    assert!(r.leader);
    assert_eq!(r.peers.iter().filter(|p| p.gone).count(), 2, "{r:?}");
    assert!(r.restored_copies >= lost, "{lost} copies lost: {r:?}");
    assert!(r.restored_bytes > 0 && r.records_updated >= 1, "{r:?}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_replicas_3_is_back_to_three_copies_and_a_returning_peer_is_reconciled() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = start(tmp.path()).await;
    let v = net.node(0).volume();
    let data = random_bytes(700_000);
    put_at(
        &v,
        tmp.path(),
        "/dir/three.bin",
        &data,
        Redundancy::Replicas(Replicas::new(3).unwrap()),
    )
    .await;
    let before = head(&v, "/dir/three.bin").await;
    net.fully_placed(&before).expect("placed as written");

    let dead = two_holders(&net, &before);
    for &i in &dead {
        net.stop(i).await;
    }
    let after = wait_repaired(&net, "/dir/three.bin").await;
    assert!(before.same_content(&after));
    assert_eq!(read(&v, tmp.path(), "/dir/three.bin").await, data);

    // One comes back: seen again, no longer gone, its copies extra.
    net.restart(dead[0]).await.expect("restart");
    let deadline = Instant::now() + Duration::from_secs(30);
    while net
        .node(0)
        .repair_report()
        .peers
        .iter()
        .filter(|p| p.gone)
        .count()
        != 1
    {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            net.node(0).repair_report()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let r = net.node(0).repair_report();
    assert_eq!(r.short_copies, 0, "nothing short: {r:?}");
    assert_eq!(head(&v, "/dir/three.bin").await, after, "records stay true");
    net.shutdown().await;
}

/// Running peers whose store holds `id`.
fn holding(net: &LocalNet, id: &fragfs::fragment::FragmentId) -> Vec<usize> {
    (0..PEERS)
        .filter(|&i| net.is_running(i) && net.node(i).store().is_some_and(|s| s.has(id)))
        .collect()
}

/// The copies of a manifest are named nowhere: when peers that held only
/// a file's manifest (none of its fragments) are gone, repair stores the
/// manifest again so that it is on three running peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_the_manifest_copies_of_gone_peers_are_stored_again() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = start(tmp.path()).await;
    let v = net.node(0).volume();
    let three = Redundancy::Replicas(Replicas::new(3).unwrap());
    // A one-fragment file whose manifest has two holders (not peer 0)
    // that hold no copy of its fragment.
    let mut found = None;
    for n in 0..40 {
        let path = format!("/small{n}.bin");
        put_at(&v, tmp.path(), &path, &random_bytes(5_000), three).await;
        let m = head(&v, &path).await;
        let frag: Vec<usize> = holding(&net, &m.fragments[0].id);
        let only: Vec<usize> = holding(&net, &m.id())
            .into_iter()
            .filter(|i| *i != 0 && !frag.contains(i))
            .collect();
        if only.len() >= 2 {
            found = Some((path, m, only));
            break;
        }
    }
    let (path, m, only) = found.expect("a file placed so in 40 tries");
    // Repair tracks a peer from the first round that sees it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while net.node(0).repair_report().peers.len() < PEERS {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            net.node(0).repair_report()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for &i in &only[..2] {
        net.stop(i).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while holding(&net, &m.id()).len() < 3 {
        assert!(
            Instant::now() < deadline,
            "manifest on {:?}; {:?}",
            holding(&net, &m.id()),
            net.node(0).repair_report()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(head(&v, &path).await.id(), m.id(), "no record changed");
    net.shutdown().await;
}
