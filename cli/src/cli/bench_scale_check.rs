//! What `fragfs bench-scale` checks and reads: whether a manifest is fully
//! placed on running peers, and the process's resident memory.

use crate::{
    erasure::Stripe,
    fragment::{FragmentEntry, FragmentId, Manifest},
    net,
    node::localnet::LocalNet,
    redundancy::{NodeId, Redundancy},
};
use std::collections::HashSet;

/// Every entry of `m` has as many distinct holders as its redundancy
/// wants, all running, each holding what the manifest says it holds.
pub fn fully_placed(net: &LocalNet, m: &Manifest) -> Result<(), String> {
    let want = m.redundancy.peers_needed();
    for (n, f) in m.fragments.iter().enumerate() {
        let distinct: HashSet<&NodeId> = f.holders.iter().collect();
        if distinct.len() < want {
            return Err(format!("entry {n}: {} distinct holders", distinct.len()));
        }
        for (j, h) in f.holders.iter().enumerate() {
            let Some(i) = index_of(net, h) else {
                return Err(format!("entry {n}: holder {j} is not running"));
            };
            let store = net.node(i).store().ok_or("a holder without a store")?;
            let held = held_ids(net, m, f, j)?;
            if !held.iter().all(|id| store.has(id)) {
                return Err(format!("entry {n}: holder {j} lacks its copy"));
            }
        }
    }
    Ok(())
}

fn index_of(net: &LocalNet, id: &NodeId) -> Option<usize> {
    (0..net.len()).find(|&i| net.is_running(i) && net::node_id(&net.node(i).peer_id()) == *id)
}

/// What the holder at position `j` of entry `f` holds: the fragment
/// (replicas), or shard j and the stripe (rs).
fn held_ids(
    net: &LocalNet,
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
                .filter_map(|h| index_of(net, h))
                .find_map(|i| net.node(i).store()?.get(&f.id).ok())
                .ok_or("no running holder keeps the stripe")?;
            let stripe = Stripe::decode(&bytes).map_err(|e| e.to_string())?;
            let shard = stripe.shards.get(j).ok_or("a holder past the shards")?;
            Ok(vec![*shard, f.id])
        }
    }
}

/// The process's resident memory in bytes (`VmRSS`), 0 when unknown.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
