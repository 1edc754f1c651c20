//! The `reencode` worker (on the metadata leader only): keeps every kept
//! version of a live file stored with the redundancy its
//! `user.fragfs.redundancy` sets (on the file or inherited).
//!
//! Each round (as often as repair's) reads every kept version with its
//! manifest (`Query::Placements`) and, for each live file under a spec
//! its versions do not follow, stores every fragment again under the
//! spec: fetched and verified like any read, then put with the spec's
//! scheme (shards and stripes under `rs:K+M`), at most `--repair-rate`
//! bytes a second. A fragment shared by several versions is stored once.
//! The version's new manifest (the same bytes, `Manifest::same_content`)
//! is stored, then swapped in with `Command::Replace`, a compare-and-swap
//! that skips versions changed meanwhile. The old copies are then
//! referred to by nothing kept, and each store's collector frees them
//! after its grace period: the surplus of a move from `replicas:3` to
//! `rs:4+2` comes back as space.
//!
//! Files with no attribute set keep whatever scheme they were written
//! with (`fragfs put --redundancy` chooses per file), and deleted files
//! keep theirs until retention drops them.

use super::Shared;
use crate::{
    client::ClientConfig,
    fragment::{FragmentEntry, FragmentId, Manifest},
    meta::{Ino, Placed, Replacement},
    redundancy::Redundancy,
    worker::{Backoff, Worker},
};
use std::{collections::HashMap, sync::Arc};

/// Versions re-encoded before their replacements are sent.
const VERSIONS_PER_COMMAND: usize = 16;

/// The `reencode` worker.
pub(super) async fn run(shared: Arc<Shared>, w: Worker) {
    let every = super::repair::tick(shared.cfg.repair.after);
    let mut backoff = Backoff::default();
    loop {
        tokio::time::sleep(every).await;
        if !shared.volume.is_meta_leader() {
            continue;
        }
        match round(&shared, &w).await {
            Ok(_) => {
                w.idle();
                backoff.success();
            }
            Err(e) => {
                let wait = backoff.failure();
                w.failed(format!("re-encoding: {e}"), wait);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// One round; returns the versions re-encoded.
pub(super) async fn round(shared: &Shared, w: &Worker) -> Result<u64, String> {
    let placed = shared
        .volume
        .placements()
        .await
        .map_err(|e| e.to_string())?;
    let due = due(shared, placed).await;
    if due.is_empty() {
        return Ok(0);
    }
    let total = due.iter().map(|(p, _)| p.manifest.size).sum();
    w.busy(Some(total));
    let mut stored: HashMap<(FragmentId, Redundancy), FragmentEntry> = HashMap::new();
    let mut items = Vec::new();
    let mut done = 0;
    for (p, target) in due {
        let manifest = recode(shared, w, &p.manifest, target, &mut stored).await?;
        let cands = shared.client.placement_candidates().await;
        shared
            .client
            .put_manifest(&manifest, &cands)
            .await
            .map_err(|e| e.to_string())?;
        items.push(Replacement {
            ino: p.ino,
            version: p.version,
            old: p.manifest.id(),
            manifest,
        });
        if items.len() >= VERSIONS_PER_COMMAND {
            done += send(shared, std::mem::take(&mut items)).await?;
        }
    }
    done += send(shared, items).await?;
    if done > 0 {
        tracing::info!(
            versions = done,
            "re-encoded versions to their directory's redundancy"
        );
    }
    Ok(done)
}

/// The versions of live files whose scheme differs from the one set for
/// them, with that scheme.
async fn due(shared: &Shared, placed: Vec<Placed>) -> Vec<(Placed, Redundancy)> {
    let mut set: HashMap<Ino, Option<Redundancy>> = HashMap::new();
    let mut out = Vec::new();
    for p in placed {
        let target = match set.get(&p.ino) {
            Some(t) => *t,
            None => {
                // A deleted file has no attribute to follow (NotFound).
                let t = shared.volume.redundancy_set_on(p.ino).await.unwrap_or(None);
                set.insert(p.ino, t);
                t
            }
        };
        if let Some(t) = target.filter(|t| *t != p.manifest.redundancy) {
            out.push((p, t));
        }
    }
    out
}

/// `m` stored again under `target`: every entry fetched, verified and put
/// with the target's scheme (or taken from `stored` when another version
/// shared it).
async fn recode(
    shared: &Shared,
    w: &Worker,
    m: &Manifest,
    target: Redundancy,
    stored: &mut HashMap<(FragmentId, Redundancy), FragmentEntry>,
) -> Result<Manifest, String> {
    let client = shared
        .client
        .with_config(scheme(shared.client.config(), target));
    let cands = client.placement_candidates().await;
    let mut out = m.clone();
    out.redundancy = target;
    for (i, f) in m.fragments.iter().enumerate() {
        if let Some(e) = stored.get(&(f.id, target)) {
            out.fragments[i] = e.clone();
            continue;
        }
        w.throttle(u64::from(f.len)).await;
        let progress = crate::client::Progress::default();
        let data = shared
            .client
            .fetch_entry(m.redundancy, f, i, &progress)
            .await
            .map_err(|e| e.to_string())?;
        let e = client
            .put_fragment_as(i as u64, m.hash_algo, data, &cands)
            .await
            .map_err(|e| e.to_string())?;
        w.advance(u64::from(f.len));
        stored.insert((f.id, target), e.clone());
        out.fragments[i] = e;
    }
    Ok(out)
}

/// A client configuration writing with `target`, every copy durable.
fn scheme(cfg: &ClientConfig, target: Redundancy) -> ClientConfig {
    let mut cfg = cfg.writing(target);
    cfg.quorum = None;
    cfg.durable_puts = true;
    cfg
}

/// Swaps in the new manifests of `items`. Their copies are touched on
/// every holder first: nothing kept refers to them until the swap
/// commits, and storing a batch may take longer than a grace period
/// (the race rule of `node::gc`).
async fn send(shared: &Shared, items: Vec<Replacement>) -> Result<u64, String> {
    if items.is_empty() {
        return Ok(0);
    }
    let entries: Vec<FragmentEntry> = items
        .iter()
        .flat_map(|r| r.manifest.fragments.iter().cloned())
        .collect();
    shared
        .client
        .refresh(&entries)
        .await
        .map_err(|e| e.to_string())?;
    let (replaced, _) = shared
        .volume
        .replace(items)
        .await
        .map_err(|e| e.to_string())?;
    Ok(replaced)
}
