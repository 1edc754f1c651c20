//! What the network holds and may hold: this node's store plus the answer
//! of every connected storage peer to a `Stat` request, asked in parallel
//! under one deadline.
//!
//! Raw bytes of fragments: a file stored with three copies counts three
//! times. A peer that does not answer in time (or speaks an older protocol
//! without `Stat`) is left out of the sums and counted in
//! [`NetworkUsage::unanswered`].

use crate::{
    net::Net,
    store::FragmentStore,
    wire::{Request, Response},
};
use std::time::Duration;

/// The summed store use of the storage nodes reachable from this one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkUsage {
    /// Bytes of fragments held.
    pub used: u64,
    /// The most bytes of fragments they keep.
    pub capacity: u64,
    /// Stores counted (this node's included).
    pub stores: u32,
    /// Storage peers asked that gave no usable answer in time.
    pub unanswered: u32,
}

impl NetworkUsage {
    fn add(&mut self, used: u64, capacity: u64) {
        self.used = self.used.saturating_add(used);
        self.capacity = self.capacity.saturating_add(capacity);
        self.stores += 1;
    }
}

/// Asks every connected storage peer for its usage (at most `deadline`
/// each, all at once) and adds this node's own store.
pub async fn network_usage(
    net: &Net,
    store: Option<&FragmentStore>,
    deadline: Duration,
) -> NetworkUsage {
    let mut total = NetworkUsage::default();
    if let Some(store) = store {
        let u = store.usage();
        total.add(u.used, u.capacity);
    }
    let peers = net.storage_peers().await;
    let asks = peers
        .iter()
        .map(|p| net.request(p.peer_id, Request::Stat, deadline));
    for (peer, answer) in peers.iter().zip(futures::future::join_all(asks).await) {
        let why = match answer {
            Ok(Response::Usage { used, capacity }) => {
                total.add(used, capacity);
                continue;
            }
            Ok(Response::Rejected { reason }) => reason,
            Ok(_) => "an answer of the wrong kind".to_string(),
            Err(e) => e.to_string(),
        };
        tracing::debug!(peer = %peer.peer_id, reason = %why, "no usage from peer");
        total.unanswered += 1;
    }
    total
}
