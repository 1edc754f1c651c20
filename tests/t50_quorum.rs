//! A put succeeds only when every fragment reached its write quorum, and
//! otherwise fails saying how many copies were made.

use crate::common;
use common::*;
use fragfs::{
    client::{ClientConfig, ClientError, Progress},
    node::localnet::LocalNet,
    redundancy::{Replicas, WriteQuorum},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_too_few_peers_for_the_quorum_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 2).await;
    let src = tmp.path().join("src.bin");
    let data = random_bytes(100_000);
    std::fs::write(&src, &data).unwrap();
    let err = net
        .node(0)
        .client()
        .put_file(&src, None, Progress::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::NotEnoughPeers { have: 2, need: 3 }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "only 2 storage peer(s) reachable; 3 needed for the write quorum"
    );

    // With a quorum of 2 the same put succeeds, with 2 copies.
    let r = Replicas::new(3).unwrap();
    let cfg = ClientConfig {
        quorum: Some(WriteQuorum::new(2, r).unwrap()),
        ..net.node(0).client().config().clone()
    };
    let put = net
        .node(0)
        .client()
        .with_config(cfg)
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();
    assert_eq!(put.min_copies, 2);
    assert!(put.manifest.fragments.iter().all(|f| f.holders.len() == 2));
    let out = tmp.path().join("out.bin");
    net.node(1)
        .client()
        .get_file(&put.id, &out, Progress::new())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), data);
    net.shutdown().await;
}

fn small_capacity(cfg: &mut fragfs::node::NodeConfig) {
    cfg.capacity = 300 * 1024;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_full_stores_fail_the_put_and_say_how_many_copies_were_made() {
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let net = LocalNet::start_with(tmp.path(), 4, small_capacity)
        .await
        .unwrap();
    assert!(net.wait_for_mesh(MESH_DEADLINE).await);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, random_bytes(1 << 20)).unwrap();
    let err = small_fragments(net.node(0).client())
        .put_file(&src, None, Progress::new())
        .await
        .unwrap_err();
    let ClientError::Quorum {
        copies,
        need,
        ref errors,
        ..
    } = err
    else {
        panic!("expected a quorum error, got {err}")
    };
    assert_eq!(need, 3);
    assert!(copies < 3);
    assert!(errors.contains("store full"), "{errors}");
    assert!(
        err.to_string()
            .contains(&format!("reached {copies} of 3 required copies")),
        "{err}"
    );
    net.shutdown().await;
}
