//! A network of peers on 127.0.0.1 inside one process: used by `fragfs demo`,
//! `fragfs bench` and the integration tests. Each peer is a full node (own
//! swarm, own store, own data directory) talking real libp2p over loopback
//! TCP on a random port; peer 0 is everyone's bootstrap.

use super::{Node, NodeConfig, NodeError};
use crate::{
    erasure::Stripe,
    fragment::{FragmentEntry, FragmentId, Manifest},
    net::{self, Multiaddr},
    redundancy::{NodeId, Redundancy},
};
use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    time::Duration,
};

pub struct LocalNet {
    nodes: Vec<Option<Node>>,
    base: PathBuf,
    tweak: fn(&mut NodeConfig),
}

fn no_tweak(_: &mut NodeConfig) {}

impl LocalNet {
    /// Starts `n` storage peers under `base/peer-<i>`.
    pub async fn start(base: &Path, n: usize) -> Result<LocalNet, NodeError> {
        Self::start_with(base, n, no_tweak).await
    }

    /// Like [`start`](Self::start), with `tweak` applied to every node's
    /// configuration.
    pub async fn start_with(
        base: &Path,
        n: usize,
        tweak: fn(&mut NodeConfig),
    ) -> Result<LocalNet, NodeError> {
        let mut net = LocalNet {
            nodes: Vec::new(),
            base: base.to_path_buf(),
            tweak,
        };
        for i in 0..n {
            let node = net.spawn(i).await?;
            net.nodes.push(Some(node));
        }
        Ok(net)
    }

    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.base.join(format!("peer-{i}"))
    }

    async fn bootstrap_addr(&self, except: usize) -> Option<Multiaddr> {
        for (j, n) in self.nodes.iter().enumerate() {
            if j == except {
                continue;
            }
            if let Some(n) = n {
                if let Some(a) = n.listen_addrs().await.into_iter().next() {
                    return Some(a);
                }
            }
        }
        None
    }

    async fn spawn(&self, i: usize) -> Result<Node, NodeError> {
        let mut cfg = NodeConfig::loopback(self.data_dir(i));
        if let Some(addr) = self.bootstrap_addr(i).await {
            cfg.net.bootstrap = vec![addr];
        }
        (self.tweak)(&mut cfg);
        Node::start(cfg).await
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Peer `i`. Panics if it is stopped: a test bug, not a runtime state.
    pub fn node(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("peer is stopped")
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.nodes.get(i).is_some_and(|n| n.is_some())
    }

    /// Bootstrap addresses of every running peer.
    pub async fn addrs(&self) -> Vec<Multiaddr> {
        let mut out = Vec::new();
        for n in self.nodes.iter().flatten() {
            out.extend(n.listen_addrs().await.into_iter().take(1));
        }
        out
    }

    /// A light client (no store, no listener) joined to every running peer,
    /// once it sees `expect` storage peers (within `deadline`).
    pub async fn light_client(
        &self,
        dir: &Path,
        client: crate::client::ClientConfig,
        expect: usize,
        deadline: Duration,
    ) -> Result<Node, NodeError> {
        let mut cfg = NodeConfig::loopback(dir);
        cfg.storage = false;
        cfg.control = false;
        cfg.net.listen = Vec::new();
        cfg.net.bootstrap = self.addrs().await;
        cfg.client = client;
        let node = Node::start(cfg).await?;
        if !node.wait_for_storage_peers(expect, deadline).await {
            node.shutdown().await;
            return Err(NodeError::Lonely(expect));
        }
        Ok(node)
    }

    /// Waits until every running peer sees every other running peer.
    pub async fn wait_for_mesh(&self, deadline: Duration) -> bool {
        let running = self.nodes.iter().flatten().count();
        for n in self.nodes.iter().flatten() {
            if !n.wait_for_storage_peers(running - 1, deadline).await {
                return false;
            }
        }
        true
    }

    /// Stops peer `i` (its data directory stays).
    pub async fn stop(&mut self, i: usize) {
        if let Some(n) = self.nodes[i].take() {
            n.shutdown().await;
        }
    }

    /// Starts peer `i` again on its old data directory.
    pub async fn restart(&mut self, i: usize) -> Result<(), NodeError> {
        self.stop(i).await;
        let node = self.spawn(i).await?;
        self.nodes[i] = Some(node);
        Ok(())
    }

    pub async fn shutdown(mut self) {
        for i in 0..self.nodes.len() {
            self.stop(i).await;
        }
    }

    /// The running peer whose node id is `id`.
    pub fn index_of(&self, id: &NodeId) -> Option<usize> {
        (0..self.len())
            .find(|&i| self.is_running(i) && net::node_id(&self.node(i).peer_id()) == *id)
    }

    /// Whether every entry of `m` has as many distinct holders as its
    /// redundancy places it on, all running, each holding what `m` says
    /// it holds (the fragment, or its shard and the stripe); the first
    /// entry that is not, in words.
    pub fn fully_placed(&self, m: &Manifest) -> Result<(), String> {
        let want = m.redundancy.peers_needed();
        for (n, f) in m.fragments.iter().enumerate() {
            let distinct: HashSet<&NodeId> = f.holders.iter().collect();
            if distinct.len() != want {
                return Err(format!("entry {n}: {} distinct holders", distinct.len()));
            }
            for (j, h) in f.holders.iter().enumerate() {
                let i = self
                    .index_of(h)
                    .ok_or_else(|| format!("entry {n}: holder {j} is not running"))?;
                let store = self.node(i).store().ok_or("a holder without a store")?;
                if !self.held_ids(m, f, j)?.iter().all(|id| store.has(id)) {
                    return Err(format!("entry {n}: holder {j} (peer {i}) lacks its copy"));
                }
            }
        }
        Ok(())
    }

    /// What the holder at position `j` of entry `f` of `m` holds.
    fn held_ids(
        &self,
        m: &Manifest,
        f: &FragmentEntry,
        j: usize,
    ) -> Result<Vec<FragmentId>, String> {
        match m.redundancy {
            Redundancy::Replicas(_) => Ok(vec![f.id]),
            Redundancy::ReedSolomon { .. } => {
                let bytes = f
                    .holders
                    .iter()
                    .filter_map(|h| self.index_of(h))
                    .find_map(|i| self.node(i).store()?.get(&f.id).ok())
                    .ok_or("no running holder keeps the stripe")?;
                let stripe = Stripe::decode(&bytes).map_err(|e| e.to_string())?;
                let shard = stripe.shards.get(j).ok_or("a holder past the shards")?;
                Ok(vec![*shard, f.id])
            }
        }
    }
}
