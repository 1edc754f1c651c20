//! When each storage peer was last known to be up, as repair sees it: a
//! peer counts as seen when it is connected or answers a `Stat` probe.
//! Peers are tracked from the first time repair hears of them (a holder in
//! a manifest, a connected storage peer); one never seen since then is
//! counted from that moment, so a peer already down when this node became
//! the metadata leader is given the full `--repair-after` too.

use crate::{
    net::{self, Net, PeerId},
    redundancy::NodeId,
    wire::Request,
};
use futures::{stream::FuturesUnordered, StreamExt};
use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

/// How long a probe waits for an answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Default)]
pub(super) struct Liveness {
    seen: HashMap<NodeId, Instant>,
}

impl Liveness {
    /// Forgets everything (this node stopped leading).
    pub(super) fn reset(&mut self) {
        self.seen.clear();
    }

    /// Learns of `known` peers, marks the connected ones and those that
    /// answer a probe as seen now; `me` is always up.
    pub(super) async fn probe(&mut self, net: &Net, known: impl IntoIterator<Item = NodeId>) {
        let now = Instant::now();
        for n in known {
            self.seen.entry(n).or_insert(now);
        }
        let me = net::node_id(&net.local_peer_id());
        self.seen.insert(me.clone(), now);
        let connected: HashSet<NodeId> = net
            .storage_peers()
            .await
            .iter()
            .map(|p| net::node_id(&p.peer_id))
            .collect();
        for n in &connected {
            self.seen.insert(n.clone(), now);
        }
        let mut probes = FuturesUnordered::new();
        for node in self.seen.keys() {
            if connected.contains(node) || *node == me {
                continue;
            }
            if let Some(peer) = net::peer_of(node) {
                probes.push(answers(net, peer, node.clone()));
            }
        }
        while let Some((node, up)) = probes.next().await {
            if up {
                self.seen.insert(node, Instant::now());
            }
        }
    }

    /// Every tracked peer with how long ago it was last seen.
    pub(super) fn ages(&self) -> Vec<(NodeId, Duration)> {
        let mut out: Vec<_> = self
            .seen
            .iter()
            .map(|(n, at)| (n.clone(), at.elapsed()))
            .collect();
        out.sort();
        out
    }

    /// The peers not seen for `after` or longer.
    pub(super) fn gone(&self, after: Duration) -> HashSet<NodeId> {
        self.seen
            .iter()
            .filter(|(_, at)| at.elapsed() >= after)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

async fn answers(net: &Net, peer: PeerId, node: NodeId) -> (NodeId, bool) {
    // Any answer, even a refusal, shows the peer is up.
    let up = net
        .request(peer, Request::Stat, PROBE_TIMEOUT)
        .await
        .is_ok();
    (node, up)
}
