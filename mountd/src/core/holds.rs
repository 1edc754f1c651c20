//! What this mount holds open, reported to the namespace so that
//! retention keeps it (`Command::Hold`, `meta::namespace::holds`).
//!
//! Every second the `fuse-holds` task gathers the versions its handles
//! open for [`REPORT_AFTER`] or longer read from (the head when opened)
//! or write from (a writer's base), and sends them when the set changed,
//! or every [`RENEW`] while it is not empty, each report kept for
//! [`LEASE`]. A handle opened a moment ago is covered without any report:
//! retention keeps what was superseded or deleted less than
//! `lifecycle::keep::SETTLE_MS` (10 s) ago, longer than a report takes.
//! Short-lived opens (`cat`, a build) so cost no namespace write at all.
//! A mount that stops without releasing holds nothing once its lease runs
//! out.

use super::Core;
use fragfs::{meta::Ino, task::Tasks, volume::Volume};
use std::{
    collections::BTreeSet,
    sync::Arc,
    time::{Duration, Instant},
};

/// Handles open at least this long are reported.
pub const REPORT_AFTER: Duration = Duration::from_secs(5);
/// How often the handles are looked at.
const TICK: Duration = Duration::from_secs(1);
/// How long a report is kept by the namespace.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often an unchanged, non-empty report is sent again.
const RENEW: Duration = Duration::from_secs(20);

impl Core {
    /// The versions that handles open for `open_for` or longer read or
    /// write from.
    pub fn held_versions(&self, open_for: Duration) -> BTreeSet<(Ino, u64)> {
        let handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = BTreeSet::new();
        for of in handles
            .values()
            .filter(|of| of.opened.elapsed() >= open_for)
        {
            if let Some(v) = &of.head {
                out.insert((of.ino, v.id));
            }
            // A writer busy flushing keeps its base in `head` or in the
            // version it commits; either is reported next tick.
            let base = of
                .writer
                .as_ref()
                .and_then(|w| w.buf.try_lock().ok()?.version);
            if let Some((id, _)) = base {
                out.insert((of.ino, id));
            }
        }
        out
    }
}

/// Starts the `fuse-holds` task reporting for `holder`.
pub fn spawn(core: Arc<Core>, volume: Volume, tasks: &Tasks, holder: String) {
    tasks.spawn("fuse-holds", async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sent: BTreeSet<(Ino, u64)> = BTreeSet::new();
        let mut sent_at = Instant::now();
        loop {
            tick.tick().await;
            let now = core.held_versions(REPORT_AFTER);
            let due = now != sent || (!now.is_empty() && sent_at.elapsed() >= RENEW);
            if !due {
                continue;
            }
            let versions: Vec<(Ino, u64)> = now.iter().copied().collect();
            match volume.hold(&holder, versions, LEASE).await {
                Ok(()) => {
                    sent = now;
                    sent_at = Instant::now();
                }
                Err(e) => tracing::warn!(error = %e, "cannot report the versions held open"),
            }
        }
    });
}
