//! Maintenance workers: the long-running background jobs of a node
//! (republishing what it holds, keeping pinned files whole; garbage
//! collection, repair, scrubbing and re-encoding plug in here) with one
//! shape. Each has a name and a unit of work, reports its state (idle,
//! busy, throttled, failing with a backoff), its progress and its last
//! error, may be rate-limited, and runs as a [`Tasks`] task, so shutdown
//! cancels it cleanly.
//!
//! A worker's body gets a [`Worker`] handle and tells it what it does
//! ([`Worker::busy`], [`Worker::advance`], [`Worker::idle`],
//! [`Worker::failed`]); [`Workers::reports`] is what `fragfs workers` shows.
//! The status is a std mutex held for one field update, never across
//! `.await`.

use crate::task::Tasks;
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// What a worker is doing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkerState {
    /// Waiting for work.
    Idle,
    /// Working.
    Busy,
    /// Waiting for its rate limit.
    Throttled,
    /// Its last run failed; it tries again in `retry_in_ms`.
    Failing { retry_in_ms: u64 },
}

impl std::fmt::Display for WorkerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerState::Idle => write!(f, "idle"),
            WorkerState::Busy => write!(f, "busy"),
            WorkerState::Throttled => write!(f, "throttled"),
            WorkerState::Failing { retry_in_ms } => {
                write!(f, "failing (retry in {:.1} s)", *retry_in_ms as f64 / 1e3)
            }
        }
    }
}

/// One worker as `fragfs workers` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerReport {
    pub name: String,
    /// What `done` and `total` count (`fragments`, `bytes`, `files`).
    pub unit: String,
    pub state: WorkerState,
    /// Units done in the current (or last) run.
    pub done: u64,
    /// Units the current run has in all, when known.
    pub total: Option<u64>,
    /// Units done since the node started.
    pub done_total: u64,
    /// Runs finished since the node started.
    pub runs: u64,
    pub errors: u64,
    pub last_error: Option<String>,
    /// Seconds since the last run finished (None before the first).
    pub last_run_secs_ago: Option<u64>,
    /// Units per second allowed (None: unlimited).
    pub rate_limit: Option<u64>,
}

/// What a worker's state is made of.
struct Status {
    state: WorkerState,
    /// When a `Failing` state's retry is due.
    retry_at: Option<Instant>,
    done: u64,
    total: Option<u64>,
    done_total: u64,
    runs: u64,
    errors: u64,
    last_error: Option<String>,
    last_run: Option<Instant>,
}

struct Entry {
    unit: &'static str,
    rate: Option<u64>,
    status: Mutex<Status>,
}

/// The workers of one node. Cheap to clone.
#[derive(Clone, Default)]
pub struct Workers {
    all: Arc<Mutex<BTreeMap<&'static str, Arc<Entry>>>>,
}

impl Workers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers worker `name` counting `unit`s, at most `rate` units per
    /// second (None: unlimited). A second registration under a name
    /// replaces the first.
    pub fn register(&self, name: &'static str, unit: &'static str, rate: Option<u64>) -> Worker {
        let entry = Arc::new(Entry {
            unit,
            rate: rate.filter(|r| *r > 0),
            status: Mutex::new(Status {
                state: WorkerState::Idle,
                retry_at: None,
                done: 0,
                total: None,
                done_total: 0,
                runs: 0,
                errors: 0,
                last_error: None,
                last_run: None,
            }),
        });
        self.all
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, entry.clone());
        Worker {
            entry,
            bucket: Arc::new(tokio::sync::Mutex::new(Bucket::new())),
        }
    }

    /// Registers worker `name` and runs `body` with its handle as a task
    /// of `tasks` (cancelled at shutdown).
    pub fn spawn<F, Fut>(
        &self,
        tasks: &Tasks,
        name: &'static str,
        unit: &'static str,
        rate: Option<u64>,
        body: F,
    ) where
        F: FnOnce(Worker) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let w = self.register(name, unit, rate);
        tasks.spawn(name, body(w));
    }

    /// Every worker's report, by name.
    pub fn reports(&self) -> Vec<WorkerReport> {
        let all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        all.iter().map(|(name, e)| e.report(name)).collect()
    }
}

impl Entry {
    fn report(&self, name: &str) -> WorkerReport {
        let s = self.status.lock().unwrap_or_else(|e| e.into_inner());
        let state = match (&s.state, s.retry_at) {
            (WorkerState::Failing { .. }, Some(at)) => WorkerState::Failing {
                retry_in_ms: at.saturating_duration_since(Instant::now()).as_millis() as u64,
            },
            (st, _) => st.clone(),
        };
        WorkerReport {
            name: name.to_string(),
            unit: self.unit.to_string(),
            state,
            done: s.done,
            total: s.total,
            done_total: s.done_total,
            runs: s.runs,
            errors: s.errors,
            last_error: s.last_error.clone(),
            last_run_secs_ago: s.last_run.map(|t| t.elapsed().as_secs()),
            rate_limit: self.rate,
        }
    }
}

/// A token bucket refilled at the worker's rate, holding at most one
/// second of it.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new() -> Self {
        Bucket {
            tokens: 0.0,
            at: Instant::now(),
        }
    }

    /// Takes `n` tokens at `rate` per second; returns how long to wait
    /// before the work they pay for may go on.
    fn take(&mut self, n: u64, rate: u64) -> Duration {
        let now = Instant::now();
        let rate = rate as f64;
        let refill = now.duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + refill).min(rate);
        self.at = now;
        self.tokens -= n as f64;
        match self.tokens < 0.0 {
            true => Duration::from_secs_f64(-self.tokens / rate),
            false => Duration::ZERO,
        }
    }
}

/// A worker's handle on its own status.
#[derive(Clone)]
pub struct Worker {
    entry: Arc<Entry>,
    bucket: Arc<tokio::sync::Mutex<Bucket>>,
}

impl Worker {
    fn update(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self.entry.status.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// A run starts, with `total` units to do when known.
    pub fn busy(&self, total: Option<u64>) {
        self.update(|s| {
            s.state = WorkerState::Busy;
            s.retry_at = None;
            (s.done, s.total) = (0, total);
        });
    }

    /// `n` more units done.
    pub fn advance(&self, n: u64) {
        self.update(|s| {
            s.done += n;
            s.done_total += n;
        });
    }

    /// The run ended well; the worker waits for more.
    pub fn idle(&self) {
        self.update(|s| {
            s.state = WorkerState::Idle;
            s.retry_at = None;
            s.runs += 1;
            s.last_run = Some(Instant::now());
        });
    }

    /// The run failed with `error`; the worker tries again after `backoff`.
    pub fn failed(&self, error: impl std::fmt::Display, backoff: Duration) {
        let error = error.to_string();
        tracing::warn!(%error, retry_in = ?backoff, "maintenance work failed");
        self.update(|s| {
            s.state = WorkerState::Failing {
                retry_in_ms: backoff.as_millis() as u64,
            };
            s.retry_at = Instant::now().checked_add(backoff);
            s.errors += 1;
            s.runs += 1;
            s.last_run = Some(Instant::now());
            s.last_error = Some(error);
        });
    }

    /// Pays for `n` units under the rate limit: returns at once without
    /// one, else waits (state `Throttled` meanwhile) as long as the limit
    /// asks.
    pub async fn throttle(&self, n: u64) {
        let Some(rate) = self.entry.rate else { return };
        let wait = self.bucket.lock().await.take(n, rate);
        if wait.is_zero() {
            return;
        }
        self.update(|s| s.state = WorkerState::Throttled);
        tokio::time::sleep(wait).await;
        self.update(|s| {
            if s.state == WorkerState::Throttled {
                s.state = WorkerState::Busy;
            }
        });
    }
}

/// Exponential backoff between failed runs: 1 s, doubling, at most 5 min;
/// a success starts again from 1 s.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: Backoff::FIRST,
        }
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const MAX: Duration = Duration::from_secs(300);

    /// The wait after one more failure.
    pub fn failure(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        d
    }

    pub fn success(&mut self) {
        self.next = Self::FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(w: &Workers) -> WorkerReport {
        w.reports().into_iter().next().expect("a worker")
    }

    #[test]
    fn t10_a_worker_reports_its_runs_progress_and_errors() {
        let ws = Workers::new();
        let w = ws.register("scrub", "fragments", None);
        assert_eq!(one(&ws).state, WorkerState::Idle);
        w.busy(Some(10));
        w.advance(3);
        let r = one(&ws);
        assert_eq!((r.state, r.done, r.total), (WorkerState::Busy, 3, Some(10)));
        w.idle();
        w.busy(None);
        w.advance(2);
        w.failed("peer gone", Duration::from_secs(60));
        let r = one(&ws);
        assert!(matches!(r.state, WorkerState::Failing { retry_in_ms } if retry_in_ms > 50_000));
        assert_eq!((r.done, r.done_total, r.runs, r.errors), (2, 5, 2, 1));
        assert_eq!(r.last_error.as_deref(), Some("peer gone"));
        assert_eq!(r.name, "scrub");
        assert_eq!(r.unit, "fragments");
    }

    #[test]
    fn t10_backoff_doubles_up_to_five_minutes_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..10).map(|_| b.failure().as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        b.success();
        assert_eq!(b.failure(), Duration::from_secs(1));
    }

    #[test]
    fn t10_the_bucket_makes_work_wait_for_its_rate() {
        let mut b = Bucket::new();
        // Nothing saved up: 100 units at 1000/s wait about 0.1 s.
        let w = b.take(100, 1000);
        assert!(
            w > Duration::from_millis(90) && w <= Duration::from_millis(100),
            "{w:?}"
        );
        // Debt adds up.
        let w = b.take(1000, 1000);
        assert!(w > Duration::from_millis(1000), "{w:?}");
    }

    #[tokio::test]
    async fn t20_throttle_without_a_limit_returns_at_once_and_with_one_waits() {
        let ws = Workers::new();
        let free = ws.register("free", "bytes", None);
        let t = Instant::now();
        free.throttle(1 << 30).await;
        assert!(t.elapsed() < Duration::from_millis(50));
        let slow = ws.register("slow", "bytes", Some(10_000));
        slow.busy(None);
        let t = Instant::now();
        slow.throttle(2_000).await;
        assert!(
            t.elapsed() >= Duration::from_millis(150),
            "{:?}",
            t.elapsed()
        );
        let r = ws
            .reports()
            .into_iter()
            .find(|r| r.name == "slow")
            .expect("slow");
        assert_eq!(r.state, WorkerState::Busy, "back to busy after the wait");
        assert_eq!(r.rate_limit, Some(10_000));
    }
}
