//! Files stored with `rs:3+2` on 7 real peers: every fragment becomes 3
//! data and 2 parity shards on 5 distinct peers (each also keeping the
//! fragment's stripe), the stores hold about 5/3 of the data, and reads
//! come back byte-identical with 2 shard holders stopped (counted as
//! degraded) and with a shard corrupted on disk.

use crate::common;
use common::*;
use fragfs::{
    client::{Client, ClientConfig, Progress},
    erasure::Stripe,
    fragment::{FragmentSize, Manifest},
    net,
    node::localnet::LocalNet,
    redundancy::{NodeId, Redundancy},
};
use std::{collections::HashSet, sync::atomic::Ordering, time::Duration};

const PEERS: usize = 7;

/// `client` writing `rs:3+2` with 256 KiB fragments.
fn rs_3_2(client: Client) -> Client {
    let cfg = ClientConfig {
        redundancy: Redundancy::reed_solomon(3, 2).unwrap(),
        fragment_size: FragmentSize::new(256 * 1024).unwrap(),
        ..client.config().clone()
    };
    client.with_config(cfg)
}

/// The peer of `net` whose node id is `id`.
fn index_of(net: &LocalNet, id: &NodeId) -> usize {
    (0..PEERS)
        .find(|&i| net.is_running(i) && net::node_id(&net.node(i).peer_id()) == *id)
        .expect("holder is a running peer")
}

/// Bytes held by the stores of every running peer.
fn stored(net: &LocalNet) -> u64 {
    (0..PEERS)
        .filter(|&i| net.is_running(i))
        .map(|i| net.node(i).store().unwrap().usage().used)
        .sum()
}

/// The stripe of fragment `f`, read from the store of its first holder.
fn stripe_of(net: &LocalNet, f: &fragfs::fragment::FragmentEntry) -> Stripe {
    let holder = net.node(index_of(net, &f.holders[0]));
    let bytes = holder.store().unwrap().get(&f.id).expect("stripe stored");
    Stripe::decode(&bytes).expect("stripe decodes")
}

/// Every shard and the stripe are on the holder the manifest names.
fn assert_placed(net: &LocalNet, m: &Manifest) {
    for f in &m.fragments {
        let distinct: HashSet<&NodeId> = f.holders.iter().collect();
        assert_eq!(distinct.len(), 5, "5 shards on 5 distinct peers");
        let stripe = stripe_of(net, f);
        assert_eq!((stripe.data, stripe.parity, stripe.len), (3, 2, f.len));
        for (j, h) in f.holders.iter().enumerate() {
            let store = net.node(index_of(net, h)).store().unwrap();
            assert!(store.has(&stripe.shards[j]), "shard {j} on its holder");
            assert!(store.has(&f.id), "stripe beside shard {j}");
        }
    }
}

async fn get(net: &LocalNet, reader: usize, id: &fragfs::fragment::FragmentId) -> Vec<u8> {
    let out = tempfile::NamedTempFile::new().unwrap();
    net.node(reader)
        .client()
        .get_file(id, out.path(), Progress::new())
        .await
        .expect("get");
    std::fs::read(out.path()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_rs_3_2_stores_five_thirds_and_reads_survive_losses_and_corruption() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = mesh(tmp.path(), PEERS).await;
    let data = random_bytes(5 << 20);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let before = stored(&net);

    let put = rs_3_2(net.node(0).client())
        .put_file(&src, None, Progress::new())
        .await
        .expect("put");
    let m = &put.manifest;
    assert_eq!(m.redundancy.to_string(), "rs:3+2");
    assert_eq!(m.fragments.len(), 20);
    assert_placed(&net, m);

    // Shards are (K+M)/K of the data; stripes, padding and the manifest's
    // three copies add well under 2%.
    let ratio = (stored(&net) - before) as f64 / data.len() as f64;
    println!("rs:3+2: stores hold {ratio:.4} bytes per data byte (ideal 5/3 = 1.6667)");
    assert!(
        (5.0 / 3.0..5.0 / 3.0 * 1.02).contains(&ratio),
        "stored {ratio:.4} bytes per data byte"
    );

    // Stop the holders of data shards 0 and 1 of the first fragment.
    let victims: Vec<usize> = m.fragments[0].holders[..2]
        .iter()
        .map(|h| index_of(&net, h))
        .collect();
    let reader = (0..PEERS).find(|i| !victims.contains(i)).unwrap();
    for &v in &victims {
        net.stop(v).await;
    }
    let client = net.node(reader).client();
    let counters = client.erasure_counters();
    let degraded = counters.degraded_reads.load(Ordering::Relaxed);
    assert_eq!(get(&net, reader, &put.id).await, data, "bytes identical");
    let degraded_now = counters.degraded_reads.load(Ordering::Relaxed);
    println!("degraded reads: {degraded} -> {degraded_now}");
    assert!(degraded_now > degraded, "degraded reads counted");

    // Corrupt a data shard on the disk of a live holder other than the
    // reader, in a fragment with at most one holder stopped (so at most M
    // shards are lost): the read goes around it, still byte-identical.
    let (f, j, holder) = m
        .fragments
        .iter()
        .filter(|f| {
            let down = f
                .holders
                .iter()
                .filter(|h| index_of_running(&net, h).is_none());
            down.count() <= 1
        })
        .flat_map(|f| (0..3).map(move |j| (f, j)))
        .map(|(f, j)| (f, j, index_of_running(&net, &f.holders[j])))
        .find_map(|(f, j, h)| h.filter(|&h| h != reader).map(|h| (f, j, h)))
        .expect("a live data shard holder");
    let stripe = stripe_of(&net, f);
    let store = net.node(holder).store().unwrap();
    let path = store.path_for_test(&stripe.shards[j]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let failed = counters.failed_shards.load(Ordering::Relaxed);
    assert_eq!(get(&net, reader, &put.id).await, data, "bytes identical");
    assert_eq!(store.counters.corrupt_found.load(Ordering::Relaxed), 1);
    assert!(
        counters.failed_shards.load(Ordering::Relaxed) > failed,
        "the corrupt shard counted as failed"
    );
    net.shutdown().await;
}

/// The peer whose node id is `id`, when it is running.
fn index_of_running(net: &LocalNet, id: &NodeId) -> Option<usize> {
    (0..PEERS).find(|&i| net.is_running(i) && net::node_id(&net.node(i).peer_id()) == *id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_fewer_peers_than_shards_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 4).await;
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, random_bytes(1000)).unwrap();
    let err = rs_3_2(net.node(0).client())
        .put_file(&src, None, Progress::new())
        .await
        .expect_err("4 peers cannot hold 5 shards");
    assert!(
        matches!(
            err,
            fragfs::client::ClientError::NotEnoughPeers { have: 4, need: 5 }
        ),
        "{err}"
    );
    net.shutdown().await;
}

/// A shard holder that answers nothing is hedged: with attempts allowed
/// a minute but each fragment only 10 s, a light client (no local shard)
/// must ask another shard beside the silent one to read the file at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_a_silent_shard_holder_is_hedged() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), PEERS).await;
    let data = random_bytes(1 << 20);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let put = rs_3_2(net.node(0).client())
        .put_file(&src, None, Progress::new())
        .await
        .expect("put");
    let silent = index_of(&net, &put.manifest.fragments[0].holders[0]);
    net.node(silent).set_stall(Duration::from_secs(60));
    let light = light_client(&net, &tmp.path().join("light"), PEERS).await;
    let cfg = ClientConfig {
        attempt_timeout: Duration::from_secs(60),
        fragment_deadline: Duration::from_secs(10),
        hedge_after: Duration::from_millis(300),
        ..light.client().config().clone()
    };
    let client = light.client().with_config(cfg);
    let out = tmp.path().join("out.bin");
    let started = std::time::Instant::now();
    client
        .get_file(&put.id, &out, Progress::new())
        .await
        .expect("hedged read");
    assert_eq!(std::fs::read(&out).unwrap(), data, "bytes identical");
    assert!(started.elapsed() < Duration::from_secs(10));
    let degraded = client
        .erasure_counters()
        .degraded_reads
        .load(Ordering::Relaxed);
    assert!(
        degraded >= 1,
        "the silent data shard was replaced by parity"
    );
    net.node(silent).set_stall(Duration::ZERO);
    light.shutdown().await;
    net.shutdown().await;
}
