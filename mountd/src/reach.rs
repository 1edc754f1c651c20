//! Telling the user when a `--peer` given on the command line does not
//! answer: one line on stderr per peer when it is found unreachable (and
//! one when it is reached later), while the node keeps running and keeps
//! dialling it.

use fragfs::{
    net::{self, Multiaddr, PeerId},
    node::Node,
};
use std::{collections::HashSet, time::Duration};

/// How long a peer has to answer before it is reported.
pub const GRACE: Duration = Duration::from_secs(5);
/// How often an unreachable peer is dialled again.
const RETRY: Duration = Duration::from_secs(5);

/// Watches `peers` on `node`'s tasks (stopped with the node), reporting as
/// `program`.
pub fn watch_peers(node: &Node, program: &'static str, peers: &[Multiaddr]) {
    if peers.is_empty() {
        return;
    }
    let net = node.net().clone();
    let peers = peers.to_vec();
    node.tasks().spawn("watch-bootstrap-peers", async move {
        let mut reported = vec![false; peers.len()];
        tokio::time::sleep(GRACE).await;
        loop {
            let connected: HashSet<PeerId> =
                net.peers().await.into_iter().map(|p| p.peer_id).collect();
            for (addr, reported) in peers.iter().zip(reported.iter_mut()) {
                let up = match net::peer_in(addr) {
                    Some(p) => connected.contains(&p),
                    None => !connected.is_empty(),
                };
                if !up && !*reported {
                    eprintln!("{program}: warning: peer {addr} could not be reached; still trying");
                } else if up && *reported {
                    eprintln!("{program}: peer {addr} reached");
                }
                *reported = !up;
                if !up {
                    let _ = net.dial(addr.clone()).await;
                }
            }
            tokio::time::sleep(RETRY).await;
        }
    });
}
