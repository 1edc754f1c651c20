//! The `repair` worker (on the metadata leader only): restores to full
//! redundancy every copy held by a storage peer unseen for
//! `--repair-after`.
//!
//! Each round reads every kept version's manifest (`Query::Placements`),
//! learns of their holders, probes the ones not connected
//! (`node::liveness`) and plans the lost copies, least redundant entry
//! first (`lifecycle::repair`). Each copy goes to the live storage peer
//! closest to its id that holds no copy of that entry yet (distinct
//! peers for the shards of a stripe), fetched and verified like any read
//! (a shard computed again from the rebuilt fragment and checked against
//! its stripe), at most `--repair-rate` bytes a second. Then the records:
//! every version naming a restored copy gets a manifest naming the new
//! holder (stored first, like any manifest) through `Command::Replace`, a
//! compare-and-swap that skips versions changed meanwhile. What the
//! namespace says a peer holds, it then holds.
//!
//! A peer that comes back is seen again and no longer gone; copies it
//! still holds that were restored elsewhere stay as extra copies (its
//! collector keeps them while a kept version refers to them, and it
//! announces them in the DHT as before).

use super::{liveness::Liveness, Shared};
use crate::{
    client::ClientError,
    control::{PeerHealth, RepairReport},
    lifecycle::repair::{plan, rehome, CopyKey, Task},
    meta::{Placed, Replacement},
    net,
    redundancy::{rank_by_closeness, Candidate, NodeId},
    worker::{Backoff, Worker},
};
use futures::{stream, StreamExt};
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Repair's settings (`fragfs node --repair-after`, `--repair-rate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepairConfig {
    /// How long a storage peer must be unseen before its copies are
    /// restored elsewhere.
    pub after: Duration,
    /// Bytes a second repair may store (0: no limit).
    pub rate: u64,
}

impl RepairConfig {
    /// Ten minutes: long enough for a restart or a short network cut,
    /// short enough that a second loss rarely comes first.
    pub const DEFAULT_AFTER: Duration = Duration::from_secs(600);
    /// The shortest accepted (tests use a few seconds).
    pub const MIN_AFTER: Duration = Duration::from_secs(2);
    /// 32 MiB/s: a fraction of a disk's or a gigabit link's speed.
    pub const DEFAULT_RATE: u64 = 32 << 20;
}

impl Default for RepairConfig {
    fn default() -> Self {
        RepairConfig {
            after: Self::DEFAULT_AFTER,
            rate: Self::DEFAULT_RATE,
        }
    }
}

/// Parses a `--repair-after` value (`30s`, `10m`), at least
/// [`RepairConfig::MIN_AFTER`].
pub fn parse_after(s: &str) -> Result<Duration, String> {
    let d = crate::units::parse_duration(s)?;
    if d < RepairConfig::MIN_AFTER {
        return Err(format!(
            "repair delay {s} is shorter than the minimum of {} s",
            RepairConfig::MIN_AFTER.as_secs()
        ));
    }
    Ok(d)
}

/// Copies restored at once.
const PARALLEL: usize = 4;
/// Replacements sent in one command.
const ITEMS_PER_COMMAND: usize = 64;

/// What repair reports, shared with the control socket.
#[derive(Default)]
pub(crate) struct RepairState(Mutex<RepairReport>);

impl RepairState {
    pub(crate) fn report(&self) -> RepairReport {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RepairReport> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut RepairReport)) {
        f(&mut self.lock())
    }
}

/// How often a round of repair (and of re-encoding) runs: a quarter of
/// the delay, 1 s to 30 s.
pub(super) fn tick(after: Duration) -> Duration {
    (after / 4).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

/// The `repair` worker.
pub(super) async fn run(shared: Arc<Shared>, w: Worker) {
    let cfg = shared.cfg.repair;
    let mut live = Liveness::default();
    let mut covered = HashSet::new();
    let mut backoff = Backoff::default();
    loop {
        tokio::time::sleep(tick(cfg.after)).await;
        if !shared.volume.is_meta_leader() {
            live.reset();
            covered.clear();
            shared.repair.update(|r| r.leader = false);
            continue;
        }
        match round(&shared, &w, &mut live, &mut covered).await {
            Ok(()) => {
                w.idle();
                backoff.success();
            }
            Err(e) => {
                let wait = backoff.failure();
                w.failed(format!("repair: {e}"), wait);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// One round: find what gone peers held, restore it, update the records,
/// and store the manifests again when a peer is newly gone (`covered`:
/// the gone peers whose manifest copies were already stored again).
async fn round(
    shared: &Shared,
    w: &Worker,
    live: &mut Liveness,
    covered: &mut HashSet<NodeId>,
) -> Result<(), String> {
    let started = Instant::now();
    let cfg = shared.cfg.repair;
    let placed = shared
        .volume
        .placements()
        .await
        .map_err(|e| e.to_string())?;
    let known: HashSet<NodeId> = placed
        .iter()
        .flat_map(|p| p.manifest.fragments.iter())
        .flat_map(|f| f.holders.iter().cloned())
        .collect();
    live.probe(&shared.net, known).await;
    let gone = live.gone(cfg.after);
    let tasks = plan(placed.iter().map(|p| &p.manifest), &gone);
    shared
        .repair
        .update(|r| describe(r, cfg, live, &gone, &tasks));
    covered.retain(|n| gone.contains(n));
    if !gone.is_subset(covered) && restore_manifests(shared, w, &placed, &gone).await {
        covered.extend(gone.iter().cloned());
    }
    if tasks.is_empty() {
        return Ok(());
    }
    w.busy(Some(tasks.iter().map(Task::bytes).sum()));
    let targets = assign(&tasks, &candidates(shared, &gone).await);
    let moved = restore(shared, w, targets, &gone).await;
    let updated = update_records(shared, &placed, &moved, &gone).await;
    shared.repair.update(|r| {
        r.records_updated += updated;
        r.last_round_secs = started.elapsed().as_secs();
    });
    Ok(())
}

/// Stores every kept version's manifest again on the live peers closest
/// to its id: the copies a gone peer held of a manifest are not named
/// anywhere (the namespace holds every manifest; `fragfs get FILE_ID`
/// reads them from the stores), so each is put again, and the holders
/// that still have it answer at once. Returns whether every put worked.
async fn restore_manifests(
    shared: &Shared,
    w: &Worker,
    placed: &[Placed],
    gone: &HashSet<NodeId>,
) -> bool {
    let cands = candidates(shared, gone).await;
    let mut seen = HashSet::new();
    let mut all = true;
    for p in placed.iter().filter(|p| seen.insert(p.manifest.id())) {
        w.throttle(p.manifest.encode().len() as u64).await;
        if let Err(e) = shared.client.put_manifest(&p.manifest, &cands).await {
            tracing::warn!(ino = p.ino, error = %e, "repair could not store a manifest again");
            all = false;
        }
    }
    all
}

/// The live storage peers copies may go to.
async fn candidates(shared: &Shared, gone: &HashSet<NodeId>) -> Vec<Candidate> {
    let mut c = shared.client.placement_candidates().await;
    c.retain(|c| !gone.contains(&c.node));
    c
}

/// The report's view of this round.
fn describe(
    r: &mut RepairReport,
    cfg: super::RepairConfig,
    live: &Liveness,
    gone: &HashSet<NodeId>,
    tasks: &[Task],
) {
    r.leader = true;
    r.repair_after_secs = cfg.after.as_secs();
    r.rate = cfg.rate;
    r.peers = live
        .ages()
        .into_iter()
        .map(|(n, age)| PeerHealth {
            peer_id: net::peer_of(&n).map_or_else(|| format!("{n:?}"), |p| p.to_string()),
            unseen_secs: age.as_secs(),
            gone: gone.contains(&n),
        })
        .collect();
    r.short_copies = tasks.len() as u64;
    r.short_bytes = tasks.iter().map(Task::bytes).sum();
    r.unrecoverable = tasks.iter().filter(|t| t.margin < 0).count() as u64;
    r.eta_secs = (cfg.rate > 0).then(|| r.short_bytes.div_ceil(cfg.rate));
}

/// A target for each task: the candidate closest to the copy's id that
/// holds no copy of the entry and got none of it this round; None when
/// no such peer is left.
fn assign(tasks: &[Task], cands: &[Candidate]) -> Vec<(Task, Option<NodeId>)> {
    let mut taken: HashMap<_, HashSet<NodeId>> = HashMap::new();
    tasks
        .iter()
        .map(|t| {
            let used = taken
                .entry(t.key.id)
                .or_insert_with(|| t.entry.holders.iter().cloned().collect());
            let ranked = rank_by_closeness(&net::dht_key_of_fragment(&t.key.id), cands);
            let to = ranked.into_iter().find(|n| !used.contains(n));
            if let Some(n) = &to {
                used.insert(n.clone());
            }
            (t.clone(), to)
        })
        .collect()
}

/// Restores every copy that has a target, a few at once under the rate
/// limit; returns where each restored copy now is.
async fn restore(
    shared: &Shared,
    w: &Worker,
    targets: Vec<(Task, Option<NodeId>)>,
    gone: &HashSet<NodeId>,
) -> HashMap<CopyKey, NodeId> {
    let results: Vec<_> = stream::iter(targets)
        .map(|(t, to)| async move {
            let Some(to) = to else {
                return (
                    t,
                    Err("no live storage peer without a copy of it".to_string()),
                );
            };
            w.throttle(t.bytes()).await;
            let r = shared
                .client
                .restore_copy(t.redundancy, &t.entry, t.key.shard, to.clone(), gone)
                .await;
            w.advance(t.bytes());
            (
                t,
                r.map(|bytes| (to, bytes))
                    .map_err(|e: ClientError| e.to_string()),
            )
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut moved = HashMap::new();
    for (t, r) in results {
        match r {
            Ok((to, bytes)) => {
                shared.repair.update(|r| {
                    r.restored_copies += 1;
                    r.restored_bytes += bytes;
                });
                moved.insert(t.key, to);
            }
            Err(e) => {
                tracing::warn!(fragment = %t.key.id, error = %e, "repair could not restore a copy");
                shared.repair.update(|r| r.failed_copies += 1);
            }
        }
    }
    moved
}

/// Gives every version naming a restored copy a manifest naming its new
/// holder: stored, then swapped in (`Command::Replace`). Returns the
/// versions updated.
async fn update_records(
    shared: &Shared,
    placed: &[Placed],
    moved: &HashMap<CopyKey, NodeId>,
    gone: &HashSet<NodeId>,
) -> u64 {
    if moved.is_empty() {
        return 0;
    }
    let cands = candidates(shared, gone).await;
    let mut items = Vec::new();
    for p in placed {
        let Some(manifest) = rehome(&p.manifest, moved) else {
            continue;
        };
        if let Err(e) = shared.client.put_manifest(&manifest, &cands).await {
            tracing::warn!(ino = p.ino, error = %e, "repair could not store a manifest");
            continue;
        }
        items.push(Replacement {
            ino: p.ino,
            version: p.version,
            old: p.manifest.id(),
            manifest,
        });
    }
    let mut updated = 0;
    for chunk in items.chunks(ITEMS_PER_COMMAND) {
        match shared.volume.replace(chunk.to_vec()).await {
            Ok((replaced, _)) => updated += replaced,
            Err(e) => tracing::warn!(error = %e, "repair could not update placement records"),
        }
    }
    updated
}
