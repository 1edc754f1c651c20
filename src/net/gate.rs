//! The connection gate of a private network: libp2p's allow list, set to
//! the peers the namespace names (members, and the one-time guests of
//! open invitations). A connection from or to any other peer is denied as
//! soon as the peer is known (before any protocol runs, on TCP and on
//! QUIC alike), and taking a peer off the list closes its connections.
//! An open network runs without the gate.

use libp2p::{
    allow_block_list::{AllowedPeers, Behaviour},
    swarm::behaviour::toggle::Toggle,
    PeerId,
};
use std::collections::HashSet;

pub(super) type Gate = Toggle<Behaviour<AllowedPeers>>;

/// The gate for `allowed` (None: an open network, no gate).
pub(super) fn build(allowed: Option<&[PeerId]>) -> Gate {
    Toggle::from(allowed.map(|peers| {
        let mut gate = Behaviour::<AllowedPeers>::default();
        for p in peers {
            gate.allow_peer(*p);
        }
        gate
    }))
}

/// Makes `peers` the allowed set: the others' connections close. Returns
/// how many peers were taken off.
pub(super) fn set(gate: &mut Gate, peers: &HashSet<PeerId>) -> usize {
    let Some(gate) = gate.as_mut() else {
        return 0;
    };
    let gone: Vec<PeerId> = gate
        .allowed_peers()
        .iter()
        .filter(|p| !peers.contains(p))
        .copied()
        .collect();
    for p in &gone {
        gate.disallow_peer(*p);
    }
    for p in peers {
        gate.allow_peer(*p);
    }
    gone.len()
}
