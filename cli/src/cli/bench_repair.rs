//! The repair part of `fragfs bench`: after the put and the get, the file
//! is committed to the namespace, one storage peer holding copies of it is
//! stopped for good, and the metadata leader's `repair` worker (delay 2 s,
//! no rate limit) restores every copy it held on the spare peer. Printed:
//! the bytes restored over the time from the peer being declared gone to
//! every copy of the file being back on running peers.

use crate::{
    fragment::Manifest,
    node::{localnet::LocalNet, NodeConfig},
};
use anyhow::{bail, Context, Result};
use std::time::{Duration, Instant};

/// The repair delay of the bench's peers.
pub const REPAIR_AFTER: Duration = Duration::from_secs(2);

/// Every bench peer: repair after 2 s, at any rate; the first peer is
/// the metadata voter (it leads and repairs).
pub fn quick_repair(cfg: &mut NodeConfig) {
    cfg.meta.voter = cfg.net.bootstrap.is_empty();
    cfg.repair.after = REPAIR_AFTER;
    cfg.repair.rate = 0;
}

/// Commits `manifest`, stops the peer (not the metadata leader) holding
/// the most of it and waits until repair has put it back at full
/// redundancy; returns the bytes restored and the seconds it took from
/// the peer being declared gone.
pub async fn measure(net: &mut LocalNet, manifest: Manifest) -> Result<(u64, f64)> {
    let waited = net.node(0).meta().wait_for_leader(Duration::from_secs(30));
    waited.await.context("no metadata leader within 30 s")?;
    let leader = (0..net.len())
        .find(|&i| net.node(i).volume().is_meta_leader())
        .context("the metadata leader is not one of the peers")?;
    let v = net.node(leader).volume();
    v.commit_at_path("/bench.bin", manifest.clone()).await?;
    let m = head(net, leader).await?;
    let victim = (0..net.len())
        .filter(|&i| i != leader)
        .max_by_key(|&i| copies_on(net, &m, i))
        .context("no peer to stop")?;
    let before = net.node(leader).repair_report().restored_bytes;
    net.stop(victim).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    let gone_at = loop {
        let r = net.node(leader).repair_report();
        if r.peers.iter().any(|p| p.gone) {
            break Instant::now();
        }
        if Instant::now() > deadline {
            bail!("the stopped peer was never declared gone");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    while net.fully_placed(&head(net, leader).await?).is_err() {
        if Instant::now() > deadline {
            bail!("the file was not repaired within 600 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secs = gone_at.elapsed().as_secs_f64();
    let restored = net.node(leader).repair_report().restored_bytes - before;
    Ok((restored, secs))
}

async fn head(net: &LocalNet, at: usize) -> Result<Manifest> {
    let (_, versions) = net.node(at).volume().history("/bench.bin").await?;
    Ok(versions.last().context("no version")?.manifest.clone())
}

/// How many copies of `m`'s entries peer `i` holds.
fn copies_on(net: &LocalNet, m: &Manifest, i: usize) -> usize {
    let me = crate::net::node_id(&net.node(i).peer_id());
    m.fragments
        .iter()
        .flat_map(|f| f.holders.iter())
        .filter(|h| **h == me)
        .count()
}
