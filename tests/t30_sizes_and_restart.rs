//! Boundary sizes round-trip exactly; a restarted peer still serves what it
//! held.

use crate::common;
use common::*;
use fragfs::client::Progress;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_boundary_sizes_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 3).await;
    let fs = 64 * 1024;
    let writer = small_fragments(net.node(0).client());
    let client = light_client(&net, &tmp.path().join("light"), 3).await;
    for size in [0, 1, fs - 1, fs, fs + 1, 17 * fs + 5] {
        let data = random_bytes(size);
        let src = tmp.path().join(format!("src-{size}"));
        std::fs::write(&src, &data).unwrap();
        let put = writer
            .put_file(&src, None, Progress::new())
            .await
            .unwrap_or_else(|e| panic!("put {size}: {e}"));
        assert_eq!(
            put.manifest.fragments.len(),
            size.div_ceil(fs),
            "fragments for {size}"
        );
        let out = tmp.path().join(format!("out-{size}"));
        client
            .client()
            .get_file(&put.id, &out, Progress::new())
            .await
            .unwrap_or_else(|e| panic!("get {size}: {e}"));
        assert_eq!(std::fs::read(&out).unwrap(), data, "size {size}");
    }
    client.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_restarted_peer_still_serves_what_it_held() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = mesh(tmp.path(), 3).await;
    let data = random_bytes(900_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let put = small_fragments(net.node(0).client())
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();
    let old_id = net.node(1).peer_id();
    net.restart(1).await.unwrap();
    assert_eq!(net.node(1).peer_id(), old_id, "identity survives a restart");
    // Only the restarted peer is left.
    net.stop(0).await;
    net.stop(2).await;
    let client = light_client(&net, &tmp.path().join("light"), 1).await;
    // Its provider records are back: the DHT names it as holder of the file.
    let providers = client
        .net()
        .find_providers(&put.id, std::time::Duration::from_secs(10))
        .await;
    assert!(
        providers.contains(&old_id),
        "restarted peer announces what it holds: {providers:?}"
    );
    let out = tmp.path().join("out.bin");
    client
        .client()
        .get_file(&put.id, &out, Progress::new())
        .await
        .expect("restarted peer serves the file");
    assert_eq!(std::fs::read(&out).unwrap(), data);
    client.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_a_stopped_node_leaves_no_task_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 2).await;
    let data = random_bytes(300_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let mut cfg_client = net.node(0).client().config().clone();
    cfg_client.replicas = fragfs::redundancy::Replicas::new(2).unwrap();
    net.node(0)
        .client()
        .with_config(cfg_client)
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();
    let mut net = net;
    for i in 0..2 {
        let dir = net.data_dir(i);
        net.stop(i).await;
        assert!(!dir.join("control.sock").exists(), "control socket removed");
    }
    // `stop` returns after `shutdown`, which waits for every task; restart
    // on the same directory must work (nothing holds the socket).
    net.restart(0).await.unwrap();
    assert!(net.node(0).store().unwrap().usage().fragments > 0);
    net.shutdown().await;
}
