//! Scrubbing: the `scrub` worker re-reads every fragment this node stores,
//! one at a time on the blocking pool, at most [`ScrubConfig::rate`] bytes
//! a second, and verifies it against its id ([`FragmentStore::get`]). A
//! copy that no longer matches is quarantined into `corrupt/` by the store
//! (as on any read), withdrawn from the DHT, and repaired: fetched again
//! through the client's verified path (never from this node), stored with
//! a verified put and announced again. After a whole pass the worker waits
//! [`ScrubConfig::every`] before the next.
//!
//! Copies the store quarantined on any other read (serving a peer, a local
//! read) are repaired the same way ([`FragmentStore::take_quarantined`]);
//! serving a peer wakes the worker for it ([`Scrub::wake`]). A repair that
//! fails is the worker's last error and is tried again with its backoff;
//! quarantined files are kept in `corrupt/` for inspection, never read
//! again.
//!
//! Must not: delete a good copy, change placement, or serve a byte it has
//! not verified.

use super::Shared;
use crate::{
    client::Progress,
    fragment::FragmentId,
    store::{FragmentStore, PutOutcome, StoreError},
    worker::{Backoff, Worker},
};
use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio::{sync::Notify, time::Instant};

/// How the scrubber runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScrubConfig {
    /// Most bytes verified per second; 0 turns scrubbing off.
    pub rate: u64,
    /// The wait between the end of one pass and the start of the next
    /// (at least [`ScrubConfig::MIN_EVERY`]).
    pub every: Duration,
}

impl ScrubConfig {
    pub const DEFAULT_RATE: u64 = 16 << 20;
    pub const DEFAULT_EVERY: Duration = Duration::from_secs(3600);
    /// The shortest wait between passes (a pass over an empty store would
    /// otherwise spin).
    pub const MIN_EVERY: Duration = Duration::from_secs(1);

    /// Whether the node runs the scrubber.
    pub fn enabled(&self) -> bool {
        self.rate > 0
    }
}

impl Default for ScrubConfig {
    fn default() -> Self {
        ScrubConfig {
            rate: Self::DEFAULT_RATE,
            every: Self::DEFAULT_EVERY,
        }
    }
}

/// What the scrubber did since the node started (`fragfs status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScrubCounts {
    /// Fragments read and checked against their ids.
    pub scrubbed: u64,
    /// Copies the scrubber found corrupt.
    pub corrupt: u64,
    /// Quarantined copies replaced by a verified one from the network.
    pub repaired: u64,
}

/// The scrubber's counters and the quarantined fragments waiting for a
/// good copy. `pending` is a std mutex held to insert or copy the set,
/// never across IO or `.await`.
#[derive(Default)]
pub(crate) struct Scrub {
    scrubbed: AtomicU64,
    corrupt: AtomicU64,
    repaired: AtomicU64,
    pending: Mutex<BTreeSet<FragmentId>>,
    /// Signalled when a fragment is queued for repair.
    wake: Notify,
}

impl Scrub {
    pub(crate) fn counts(&self) -> ScrubCounts {
        ScrubCounts {
            scrubbed: self.scrubbed.load(Ordering::Relaxed),
            corrupt: self.corrupt.load(Ordering::Relaxed),
            repaired: self.repaired.load(Ordering::Relaxed),
        }
    }

    /// Has the worker repair what the store quarantined now rather than
    /// at its next run.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Drops from the repair queue what no kept version refers to (the
    /// collector's finding, `gc`): there is nothing left to repair.
    pub(super) fn forget_unless(&self, live: &std::collections::HashSet<FragmentId>) {
        self.pending().retain(|id| live.contains(id));
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeSet<FragmentId>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The `scrub` worker: a pass when one is due, then the repairs; idle
/// until the next pass or a new repair; on failure, the worker's backoff.
pub(super) async fn run(shared: Arc<Shared>, w: Worker) {
    let Some(store) = shared.store.clone() else {
        return;
    };
    let every = shared.cfg.scrub.every.max(ScrubConfig::MIN_EVERY);
    let mut backoff = Backoff::default();
    let mut due = Instant::now();
    loop {
        let full = Instant::now() >= due;
        let passed = match full {
            true => pass(&shared, &store, &w).await,
            false => {
                w.busy(None);
                Ok(())
            }
        };
        let pass_failed = passed.is_err();
        if full && !pass_failed {
            due = Instant::now() + every;
        }
        let repaired = repair_pending(&shared, &store).await;
        let wait_until = match passed.and(repaired) {
            Ok(()) => {
                backoff.success();
                w.idle();
                due
            }
            Err(e) => {
                let wait = backoff.failure();
                w.failed(e, wait);
                let retry = Instant::now() + wait;
                if pass_failed {
                    // The pass itself is tried again after the backoff.
                    due = retry;
                }
                retry.min(due)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep_until(wait_until) => {}
            _ = shared.scrub.wake.notified() => {}
        }
    }
}

/// One pass over the store: every fragment read and verified under the
/// rate limit. Fails when the store cannot be listed or a fragment cannot
/// be read (the others are still checked).
async fn pass(shared: &Shared, store: &Arc<FragmentStore>, w: &Worker) -> Result<(), String> {
    let s = store.clone();
    let held = blocking(move || s.list_with_len())
        .await?
        .map_err(|e| format!("cannot list the store: {e}"))?;
    w.busy(Some(held.iter().map(|(_, len)| len).sum()));
    let (mut failed, mut first) = (0u64, None);
    for (id, len) in held {
        w.throttle(len).await;
        match verify(shared, store, id).await {
            Ok(()) => {}
            Err(e) => {
                failed += 1;
                first.get_or_insert(e);
            }
        }
        w.advance(len);
    }
    match first {
        None => Ok(()),
        Some(e) => Err(format!("{failed} fragment(s) could not be checked: {e}")),
    }
}

/// Reads and verifies one fragment; a corrupt copy is quarantined by the
/// store, which queues it for [`repair_pending`].
async fn verify(shared: &Shared, store: &Arc<FragmentStore>, id: FragmentId) -> Result<(), String> {
    let s = store.clone();
    let res = blocking(move || s.get(&id).map(drop)).await?;
    let counts = &shared.scrub;
    match res {
        Ok(()) => {
            counts.scrubbed.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        // Deleted since the listing: nothing to check.
        Err(StoreError::NotFound(_)) => Ok(()),
        Err(StoreError::Corrupt { moved_to, .. }) => {
            counts.scrubbed.fetch_add(1, Ordering::Relaxed);
            counts.corrupt.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(fragment = %id, moved_to = %moved_to.display(), "scrub found a corrupt copy; repairing it");
            Ok(())
        }
        Err(e) => Err(format!("{id}: {e}")),
    }
}

/// Repairs every fragment the store quarantined; those that fail stay
/// queued. Returns the first failure.
async fn repair_pending(shared: &Shared, store: &Arc<FragmentStore>) -> Result<(), String> {
    for id in store.take_quarantined() {
        // This node no longer holds it: it stops answering provider lookups
        // until the repair announces it again.
        shared.net.unprovide(&id).await;
        shared.scrub.pending().insert(id);
    }
    let todo: Vec<FragmentId> = shared.scrub.pending().iter().copied().collect();
    let (mut failed, mut first) = (0usize, None);
    for id in todo {
        match repair(shared, store, id).await {
            Ok(()) => {
                shared.scrub.pending().remove(&id);
            }
            Err(e) => {
                failed += 1;
                first.get_or_insert(e);
            }
        }
    }
    match first {
        None => Ok(()),
        Some(e) => Err(format!(
            "{failed} corrupt fragment(s) not repaired yet: {e}"
        )),
    }
}

/// Fetches a verified copy of `id` from the other peers (the local copy is
/// quarantined, and the client never asks this node), stores it and
/// announces it again.
async fn repair(shared: &Shared, store: &Arc<FragmentStore>, id: FragmentId) -> Result<(), String> {
    let data = shared
        .client
        .fetch_fragment(&id, &[], 0, &Progress::default())
        .await
        .map_err(|e| e.to_string())?;
    let s = store.clone();
    let outcome = blocking(move || s.put_verified(&id, &data))
        .await?
        .map_err(|e| format!("{id}: {e}"))?;
    if outcome == PutOutcome::Written {
        shared.scrub.repaired.fetch_add(1, Ordering::Relaxed);
        tracing::info!(fragment = %id, "corrupt copy repaired from the network");
    }
    shared.net.provide(&id).await;
    Ok(())
}

/// Runs store IO on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("store task failed: {e}"))
}
