//! The storage lifecycle on a node: two workers.
//!
//! - `retention` (on the metadata leader only): every interval, sends
//!   `Command::Retain`, which drops the versions no retention policy keeps
//!   and the deleted files whose period ended (`meta::namespace::retain`).
//! - `gc` (on a storage node): every interval, deletes the fragments of
//!   this node's store that no kept version refers to and that were idle
//!   (neither written nor reused) for a whole grace period
//!   (`fragfs node --gc-grace`).
//!
//! **Why a collected fragment is never one a version needs** (the race
//! rule of `lifecycle::gc`, made concrete). A round starts at `t0`. It
//! deletes a copy only when its time (the file's modification time: set
//! when it is written, refreshed under the store's lock when a put reuses
//! it or a writer refreshes it) is before `t0 - grace`, and when it is not
//! referenced by a namespace read that started after `t0` from an
//! up-to-date replica. The check of the time and the delete happen under
//! the same lock a reusing put takes. A writer commits a version only with
//! fragments it stored or refreshed within `volume::REFRESH_AFTER` (1 s)
//! before sending the commit (`Volume::commit_stored`; any other commit
//! refreshes first). So for a version that refers to a collected
//! fragment, its commit came less than 1 s plus the commit's own latency
//! after `t0 - grace`, that is before `t0` when grace exceeds both: the
//! read saw the version and the fragment was kept. A refresh that finds a
//! fragment gone fails the commit (`ClientError::Gone`) instead.
//!
//! Pinned files: the collector keeps the fragments of the heads of the
//! files pinned on this node.

use super::Shared;
use crate::{
    erasure::{Stripe, MAX_STRIPE_BYTES},
    fragment::FragmentId,
    lifecycle::gc::is_due,
    store::FragmentStore,
    worker::{Backoff, Worker},
};
use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, SystemTime},
};

/// The shortest grace period a node accepts.
pub const MIN_GC_GRACE: Duration = Duration::from_secs(5);
/// The grace period by default: an hour.
pub const DEFAULT_GC_GRACE: Duration = Duration::from_secs(3600);

/// Parses a `--gc-grace` value (`30s`, `10m`, `1h`), at least
/// [`MIN_GC_GRACE`].
pub fn parse_grace(s: &str) -> Result<Duration, String> {
    let d = crate::units::parse_duration(s)?;
    if d < MIN_GC_GRACE {
        return Err(format!(
            "grace period {s} is shorter than the minimum of {} s",
            MIN_GC_GRACE.as_secs()
        ));
    }
    Ok(d)
}

/// How often both workers run for a grace period: a quarter of it, from
/// 1 s to a minute.
pub fn interval(grace: Duration) -> Duration {
    (grace / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// The `retention` worker.
pub(super) async fn retention(shared: Arc<Shared>, w: Worker) {
    let every = interval(shared.cfg.gc_grace);
    let mut backoff = Backoff::default();
    loop {
        tokio::time::sleep(every).await;
        if !shared.volume.is_meta_leader() {
            continue;
        }
        w.busy(None);
        match shared.volume.retain(Vec::new()).await {
            Ok((versions, files)) => {
                if versions > 0 {
                    tracing::info!(
                        versions,
                        deleted_files = files,
                        "retention dropped old versions"
                    );
                }
                w.advance(versions);
                w.idle();
                backoff.success();
            }
            Err(e) => {
                let wait = backoff.failure();
                w.failed(format!("retention: {e}"), wait);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// The `gc` worker.
pub(super) async fn collect(shared: Arc<Shared>, w: Worker) {
    let every = interval(shared.cfg.gc_grace);
    let mut backoff = Backoff::default();
    loop {
        tokio::time::sleep(every).await;
        match round(&shared, Some(&w)).await {
            Ok(_) => {
                w.idle();
                backoff.success();
            }
            Err(e) => {
                let wait = backoff.failure();
                w.failed(format!("garbage collection: {e}"), wait);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// One round: deletes what no kept version refers to and was idle for
/// the whole grace period before the round started
/// (`lifecycle::gc::is_due`); returns the bytes freed.
pub(super) async fn round(shared: &Shared, w: Option<&Worker>) -> Result<u64, String> {
    let Some(store) = shared.store.clone() else {
        return Ok(0);
    };
    let t0 = SystemTime::now();
    let (now_ms, grace_ms) = (ms(t0), shared.cfg.gc_grace.as_millis() as u64);
    let idle_since = t0
        .checked_sub(shared.cfg.gc_grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let s = store.clone();
    let held = blocking(move || s.list_times())
        .await?
        .map_err(|e| e.to_string())?;
    let due = |live: &HashSet<FragmentId>| -> Vec<(FragmentId, u64)> {
        held.iter()
            .filter(|(id, _, at)| is_due(live.contains(id), ms(*at), grace_ms, now_ms))
            .map(|(id, len, _)| (*id, *len))
            .collect()
    };
    if due(&HashSet::new()).is_empty() {
        return Ok(0);
    }
    // Read after t0: every version committed before t0 is in it.
    let mut live = shared
        .volume
        .fragment_refs()
        .await
        .map_err(|e| e.to_string())?;
    let pinned = pinned_fragments(shared).await;
    live.extend(pinned.iter().copied());
    let mut doomed = due(&live);
    if !doomed.is_empty() {
        // Shards are named by their stripes only: read those (small
        // files) only when something is about to go.
        live.extend(striped(&store, &held, &live, &pinned).await?);
        doomed = due(&live);
    }
    shared.scrub.forget_unless(&live);
    if doomed.is_empty() {
        return Ok(0);
    }
    if let Some(w) = w {
        w.busy(Some(doomed.iter().map(|(_, len)| len).sum()));
    }
    let freed = blocking(move || {
        let mut freed = 0u64;
        for (id, _) in doomed {
            freed += store.delete_if_idle(&id, idle_since)?.unwrap_or(0);
        }
        Ok::<u64, crate::store::StoreError>(freed)
    })
    .await?
    .map_err(|e| e.to_string())?;
    if let Some(w) = w {
        w.advance(freed);
    }
    if freed > 0 {
        tracing::info!(bytes = freed, "garbage collection freed space");
    }
    Ok(freed)
}

/// Milliseconds since the Unix epoch of `t` (0 before it).
fn ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What the kept stripes held here refer to: their shards, and for the
/// stripes of pinned files the fragment each codes (a pinned rs file is
/// kept whole). A stripe lives beside every shard of it
/// (`client::erasure`), so the stripes of this store's shards are in this
/// store. A whole copy of a coded fragment that no pin wants goes: it is
/// what a file re-encoded from replicas leaves behind.
async fn striped(
    store: &Arc<FragmentStore>,
    held: &[(FragmentId, u64, SystemTime)],
    live: &HashSet<FragmentId>,
    pinned: &HashSet<FragmentId>,
) -> Result<Vec<FragmentId>, String> {
    let small: Vec<FragmentId> = held
        .iter()
        .filter(|(id, len, _)| *len as usize <= MAX_STRIPE_BYTES && live.contains(id))
        .map(|(id, _, _)| *id)
        .collect();
    let (store, pinned) = (store.clone(), pinned.clone());
    blocking(move || {
        let mut out = Vec::new();
        for id in small {
            // A copy that fails verification is quarantined by `get`;
            // anything else small is simply not a stripe.
            let Ok(bytes) = store.get(&id) else { continue };
            if let Ok(stripe) = Stripe::decode(&bytes) {
                if pinned.contains(&id) {
                    out.push(stripe.data_id);
                }
                out.extend(stripe.shards);
            }
        }
        out
    })
    .await
}

/// The fragments (and manifest ids) of the heads of the files pinned here.
async fn pinned_fragments(shared: &Shared) -> HashSet<FragmentId> {
    let mut out = HashSet::new();
    for ino in shared.pins.list().into_keys() {
        if let Ok((_, Some(v))) = shared.volume.head(ino).await {
            out.insert(v.manifest.id());
            out.extend(v.manifest.fragments.iter().map(|f| f.id));
        }
    }
    out
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("blocking task failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_workers_run_a_quarter_grace_apart_within_bounds() {
        assert_eq!(interval(Duration::from_secs(8)), Duration::from_secs(2));
        assert_eq!(interval(MIN_GC_GRACE), Duration::from_millis(1250));
        assert_eq!(interval(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(interval(DEFAULT_GC_GRACE), Duration::from_secs(60));
    }

    #[test]
    fn t20_a_grace_under_the_minimum_is_refused() {
        assert_eq!(parse_grace("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_grace("2s").unwrap_err().contains("minimum of 5 s"));
        assert!(parse_grace("soon").is_err());
    }
}
