//! Files are stored as fragments with R=3 copies on distinct real peers and
//! come back byte-identical, also after peers die.

use crate::common;
use common::*;
use fragfs::{client::Progress, net, redundancy::NodeId};
use std::collections::HashSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_five_peers_survive_two_holders_stopping() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = mesh(tmp.path(), 5).await;
    let data = random_bytes(50 << 20);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();

    let put = net
        .node(0)
        .client()
        .put_file(&src, None, Progress::new())
        .await
        .expect("put");
    assert_eq!(put.manifest.size, data.len() as u64);
    assert_eq!(put.manifest.fragments.len(), 50);
    assert_eq!(put.min_copies, 3);
    for f in &put.manifest.fragments {
        let distinct: HashSet<&NodeId> = f.holders.iter().collect();
        assert_eq!(distinct.len(), 3, "each fragment on 3 distinct peers");
        // Every named holder really has it on disk.
        for h in &f.holders {
            let i = (0..5)
                .find(|&i| net::node_id(&net.node(i).peer_id()) == *h)
                .expect("holder is one of the peers");
            assert!(net.node(i).store().unwrap().has(&f.id));
        }
    }

    // Stop two peers (not the getter, peer 2) that hold fragments of it.
    let holders_of = |i: usize| {
        let id = net::node_id(&net.node(i).peer_id());
        put.manifest
            .fragments
            .iter()
            .filter(|f| f.holders.contains(&id))
            .count()
    };
    let victims: Vec<usize> = [0, 1, 3, 4]
        .into_iter()
        .filter(|&i| holders_of(i) > 0)
        .take(2)
        .collect();
    assert_eq!(victims.len(), 2);
    for &v in &victims {
        net.stop(v).await;
    }

    let out = tmp.path().join("out.bin");
    let report = net
        .node(2)
        .client()
        .get_file(&put.id, &out, Progress::new())
        .await
        .expect("get with 2 peers down");
    assert_eq!(std::fs::read(&out).unwrap(), data, "bytes identical");
    assert_eq!(report.manifest, put.manifest);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_placement_is_deterministic_and_spread() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 5).await;
    let data = random_bytes(3 << 20);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let client = small_fragments(net.node(0).client());
    let a = client.put_file(&src, None, Progress::new()).await.unwrap();
    // The same file written again through another peer lands on the same peers.
    let b = small_fragments(net.node(3).client())
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(a.manifest, b.manifest);
    // 48 fragments × 3 copies over 5 peers: every peer holds some.
    for i in 0..5 {
        let id = net::node_id(&net.node(i).peer_id());
        let n = a
            .manifest
            .fragments
            .iter()
            .filter(|f| f.holders.contains(&id))
            .count();
        assert!(n > 0, "peer {i} holds no fragment");
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_get_by_id_works_from_any_peer_and_a_light_client() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 4).await;
    let data = random_bytes(700_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let put = small_fragments(net.node(1).client())
        .put_file(&src, Some("named.bin".into()), Progress::new())
        .await
        .unwrap();
    assert_eq!(put.manifest.name, "named.bin");
    for i in 0..4 {
        let out = tmp.path().join(format!("out-{i}.bin"));
        net.node(i)
            .client()
            .get_file(&put.id, &out, Progress::new())
            .await
            .unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), data, "through peer {i}");
    }
    let client = light_client(&net, &tmp.path().join("light"), 4).await;
    let out = tmp.path().join("out-light.bin");
    let progress = Progress::new();
    client
        .client()
        .get_file(&put.id, &out, progress.clone())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), data);
    assert!(
        progress.peer_count() >= 2,
        "fragments came from several peers"
    );
    assert!(client.shutdown().await, "light client stopped cleanly");
    net.shutdown().await;
}

fn quic_only(cfg: &mut fragfs::node::NodeConfig) {
    cfg.net.listen = vec!["/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap()];
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_peers_talk_over_quic() {
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let net = fragfs::node::localnet::LocalNet::start_with(tmp.path(), 3, quic_only)
        .await
        .unwrap();
    assert!(net.wait_for_mesh(MESH_DEADLINE).await);
    let addr = net.node(0).listen_addrs().await[0].to_string();
    assert!(addr.contains("/quic-v1/"), "{addr}");
    let data = random_bytes(2_000_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let put = net
        .node(0)
        .client()
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();
    assert_eq!(put.min_copies, 3);
    // A light client fetches everything over QUIC.
    let client = light_client(&net, &tmp.path().join("light"), 3).await;
    let out = tmp.path().join("out.bin");
    client
        .client()
        .get_file(&put.id, &out, Progress::new())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), data);
    client.shutdown().await;
    net.shutdown().await;
}

fn capacity_64m(cfg: &mut fragfs::node::NodeConfig) {
    cfg.capacity = 64 << 20;
}

/// The network's usage sums every reachable store: each peer answers a
/// `Stat` request with its own use and capacity; a light client adds none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_network_usage_sums_every_reachable_store() {
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let net = fragfs::node::localnet::LocalNet::start_with(tmp.path(), 3, capacity_64m)
        .await
        .unwrap();
    assert!(net.wait_for_mesh(MESH_DEADLINE).await);
    let data = random_bytes(3 << 20);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    net.node(0)
        .client()
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();
    let stored: u64 = (0..3)
        .map(|i| net.node(i).store().unwrap().usage().used)
        .sum();
    assert!(stored >= 3 * data.len() as u64, "three copies: {stored}");

    let deadline = std::time::Duration::from_secs(5);
    let u = net.node(1).network_usage(deadline).await;
    assert_eq!((u.stores, u.unanswered), (3, 0), "{u:?}");
    assert_eq!(u.capacity, 3 * (64 << 20));
    assert_eq!(u.used, stored);

    let client = light_client(&net, &tmp.path().join("light"), 3).await;
    let u = client.network_usage(deadline).await;
    assert_eq!((u.stores, u.capacity, u.used), (3, 3 * (64 << 20), stored));
    client.shutdown().await;
    net.shutdown().await;
}

/// Puts that do not wait for the holders' disks (as a mount's close does),
/// then a sync of exactly the holders (as its fsync does): every copy is
/// served, and the sync is answered by every holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_buffered_puts_then_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 4).await;
    let light = light_client(&net, &tmp.path().join("light"), 4).await;
    let client = {
        let mut cfg = light.client().config().clone();
        cfg.durable_puts = false;
        light.client().with_config(cfg)
    };
    let cands = client.placement_candidates().await;
    let data = bytes::Bytes::from(random_bytes(300_000));
    let entry = client.put_fragment(0, data.clone(), &cands).await.unwrap();
    assert_eq!(entry.holders.len(), 3, "three copies");
    client
        .sync_holders(entry.holders.iter().cloned())
        .await
        .unwrap();
    for h in &entry.holders {
        let i = (0..4)
            .find(|&i| fragfs::net::node_id(&net.node(i).peer_id()) == *h)
            .expect("holder is a peer of the mesh");
        let store = net.node(i).store().cloned().expect("a store");
        assert_eq!(store.get(&entry.id).unwrap(), data.to_vec(), "peer {i}");
    }
    assert!(light.shutdown().await);
    net.shutdown().await;
}
