//! Spawning: every background task is named, traced, tracked and cancellable.
//!
//! A [`Tasks`] owns a cancellation token and a tracker. Shutdown cancels the
//! token, then waits (with a deadline) for every tracked task to finish, so a
//! stopped node leaves nothing running behind it.

use std::{future::Future, time::Duration};
use tokio::sync::oneshot;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::Instrument;

#[derive(Clone, Default)]
pub struct Tasks {
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// The token tasks watch to learn about shutdown.
    pub fn token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Spawns `fut` under `name`; it is dropped at its next await point once
    /// shutdown starts.
    pub fn spawn<F>(&self, name: &'static str, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let cancel = self.cancel.clone();
        let span = tracing::debug_span!("task", name);
        self.tracker.spawn(
            async move {
                tokio::select! {
                    _ = cancel.cancelled() => tracing::trace!("cancelled"),
                    _ = fut => {}
                }
            }
            .instrument(span),
        );
    }

    /// Spawns `fut` under `name` like [`Tasks::spawn`] and hands its output
    /// to the returned receiver. A task cancelled by shutdown never sends:
    /// its receiver then answers `Err(RecvError)`, which its waiter reports.
    pub fn spawn_result<T, F>(&self, name: &'static str, fut: F) -> oneshot::Receiver<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.spawn(name, async move {
            let _ = tx.send(fut.await);
        });
        rx
    }

    /// Cancels every task and waits up to `deadline` for them to end.
    /// Returns false if some task was still running at the deadline.
    pub async fn shutdown(&self, deadline: Duration) -> bool {
        self.cancel.cancel();
        self.tracker.close();
        tokio::time::timeout(deadline, self.tracker.wait())
            .await
            .is_ok()
    }

    /// Number of tasks still alive.
    pub fn live(&self) -> usize {
        self.tracker.len()
    }
}
