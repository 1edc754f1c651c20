//! Helpers shared by the integration tests: real peers on 127.0.0.1 with
//! random ports, each with its own swarm, store and data directory.
#![allow(dead_code)]

use fragfs::{
    client::{Client, ClientConfig},
    fragment::FragmentSize,
    node::{localnet::LocalNet, Node, NodeConfig},
};
use std::{path::Path, time::Duration};

pub const MESH_DEADLINE: Duration = Duration::from_secs(20);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::fill(&mut v[..]);
    v
}

/// Starts `n` storage peers and waits until each sees all the others.
pub async fn mesh(base: &Path, n: usize) -> LocalNet {
    init_tracing();
    let net = LocalNet::start(base, n).await.expect("peers start");
    assert!(net.wait_for_mesh(MESH_DEADLINE).await, "peers did not find each other");
    net
}

/// A light client (no store, no listener) joined to every running peer of
/// `net`, waiting until it sees `expect` storage peers.
pub async fn light_client(net: &LocalNet, dir: &Path, expect: usize) -> Node {
    let mut cfg = NodeConfig::loopback(dir);
    cfg.storage = false;
    cfg.control = false;
    cfg.net.listen = Vec::new();
    cfg.net.bootstrap = net.addrs().await;
    let node = Node::start(cfg).await.expect("light client starts");
    assert!(node.wait_for_storage_peers(expect, MESH_DEADLINE).await, "light client did not see {expect} peers");
    node
}

/// `client` with 64 KiB fragments, so small files have many fragments.
pub fn small_fragments(client: Client) -> Client {
    let cfg = ClientConfig { fragment_size: FragmentSize::new(64 * 1024).unwrap(), ..client.config().clone() };
    client.with_config(cfg)
}
