//! The change feed: what each applied log entry changed, for the caches of
//! mounts on this node and on others.
//!
//! On a voter the state machine records every applied entry here
//! (`ChangeFeed::record`); local subscribers get a [`Notice`] on a
//! broadcast channel, and a bounded ring of recent changes answers the
//! long-polls of non-voter nodes (`ChangeFeed::wait_after`). A non-voter
//! has no ring: it republishes what it polled (`ChangeFeed::forward`).
//!
//! Knows neither openraft nor the network. Locks: `ring` (std mutex) is
//! held for one push or one scan, never across an await, and never taken
//! while the state machine's lock is held (the state machine records after
//! releasing it).

use super::rpc::ChangesAnswer;
use super::types::Changes;
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::{broadcast, watch, Notify, Semaphore};

/// Longest a voter holds a change long-poll with nothing to report.
pub const LONG_POLL: Duration = Duration::from_secs(25);
/// Notices a local subscriber may fall behind before it is told it lagged.
const NOTICE_CAPACITY: usize = 1024;
/// Most log entries with changes a voter keeps for long-polls.
const RING_ENTRIES: usize = 4096;
/// Most bytes (by [`Changes::weight`]) those entries may take.
const RING_BYTES: usize = 8 << 20;
/// Most bytes of changes in one long-poll answer (at least one entry).
const ANSWER_BYTES: usize = 1 << 20;
/// Most long-polls held at once; beyond them a poll with nothing to
/// report is refused (the asker backs off).
const MAX_POLLS: usize = 1024;

/// What a subscriber hears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Log entry `index` changed these inodes and entries.
    Changed { index: u64, changes: Arc<Changes> },
    /// What changed up to `index` is not known (a snapshot replaced the
    /// state, or the feed lost track): anything cached may be stale.
    Reset { index: u64 },
}

/// The recent changes a voter keeps: every entry with changes after
/// `floor` up to `last`, oldest first, bounded in count and bytes.
#[derive(Debug)]
pub(super) struct ChangeRing {
    entries: VecDeque<(u64, Arc<Changes>)>,
    /// Every change after this index is in `entries`.
    floor: u64,
    /// The last index recorded (with or without changes).
    last: u64,
    weight: usize,
    max_entries: usize,
    max_weight: usize,
}

impl ChangeRing {
    pub(super) fn new(max_entries: usize, max_weight: usize) -> Self {
        ChangeRing {
            entries: VecDeque::new(),
            floor: 0,
            last: 0,
            weight: 0,
            max_entries: max_entries.max(1),
            max_weight,
        }
    }

    /// Forgets everything: the history up to `index` is unknown.
    pub(super) fn reset(&mut self, index: u64) {
        self.entries.clear();
        self.weight = 0;
        self.floor = index;
        self.last = index;
    }

    /// Records that entry `index` was applied and changed `changes` (None:
    /// nothing). Indices only grow; one that does not restarts the ring.
    pub(super) fn push(&mut self, index: u64, changes: Option<Arc<Changes>>) {
        if index <= self.last {
            self.reset(index);
            return;
        }
        self.last = index;
        let Some(c) = changes else { return };
        self.weight += c.weight();
        self.entries.push_back((index, c));
        while self.entries.len() > self.max_entries
            || (self.weight > self.max_weight && self.entries.len() > 1)
        {
            if let Some((i, old)) = self.entries.pop_front() {
                self.weight -= old.weight();
                self.floor = i;
            }
        }
    }

    /// The answer to a long-poll asking after `since`, or None when there
    /// is nothing to report yet. An answer holds at most `max_bytes` of
    /// changes (and at least one entry).
    pub(super) fn after(&self, since: Option<u64>, max_bytes: usize) -> Option<ChangesAnswer> {
        let Some(since) = since else {
            return Some(ChangesAnswer::Entries {
                upto: self.last,
                entries: Vec::new(),
            });
        };
        if since < self.floor {
            return Some(ChangesAnswer::TooOld { upto: self.last });
        }
        let start = self.entries.partition_point(|(i, _)| *i <= since);
        if start == self.entries.len() {
            return None;
        }
        let mut entries = Vec::new();
        let mut bytes = 0;
        for (i, c) in self.entries.range(start..) {
            if !entries.is_empty() && bytes + c.weight() > max_bytes {
                // Cut here: the rest comes with the next poll.
                return Some(ChangesAnswer::Entries {
                    upto: *i - 1,
                    entries,
                });
            }
            bytes += c.weight();
            entries.push((*i, Changes::clone(c)));
        }
        Some(ChangesAnswer::Entries {
            upto: self.last,
            entries,
        })
    }

    pub(super) fn last(&self) -> u64 {
        self.last
    }
}

/// The feed of one node. Shared by its state machine (on a voter), its
/// metadata service and its subscribers.
pub(super) struct ChangeFeed {
    tx: broadcast::Sender<Notice>,
    ring: Mutex<ChangeRing>,
    /// The last index recorded: wakes held long-polls.
    last: watch::Sender<u64>,
    polls: Semaphore,
    /// Signalled when someone subscribes: a non-voter polls only then.
    wanted: Notify,
}

impl ChangeFeed {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(ChangeFeed {
            tx: broadcast::channel(NOTICE_CAPACITY).0,
            ring: Mutex::new(ChangeRing::new(RING_ENTRIES, RING_BYTES)),
            last: watch::channel(0).0,
            polls: Semaphore::new(MAX_POLLS),
            wanted: Notify::new(),
        })
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, ChangeRing> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Notice> {
        let rx = self.tx.subscribe();
        self.wanted.notify_one();
        rx
    }

    pub(super) fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Waits until someone subscribes (returns at once if someone has).
    pub(super) async fn wanted(&self) {
        while !self.has_subscribers() {
            self.wanted.notified().await;
        }
    }

    /// The state starts at `index` (the last snapshot); nothing before it
    /// is known. Tells nobody: nobody can have cached anything yet.
    pub(super) fn start_at(&self, index: u64) {
        self.ring().reset(index);
        self.last.send_replace(index);
    }

    /// Entry `index` was applied and changed `changes`.
    pub(super) fn record(&self, index: u64, changes: Changes) {
        let changes = (!changes.is_empty()).then(|| Arc::new(changes));
        self.ring().push(index, changes.clone());
        self.last.send_replace(index);
        if let Some(changes) = changes {
            // No subscriber is not an error.
            let _ = self.tx.send(Notice::Changed { index, changes });
        }
    }

    /// The state was replaced wholesale at `index` (a snapshot installed).
    pub(super) fn reset(&self, index: u64) {
        self.ring().reset(index);
        self.last.send_replace(index);
        let _ = self.tx.send(Notice::Reset { index });
    }

    /// Republishes a notice polled from a voter (on a non-voter).
    pub(super) fn forward(&self, notice: Notice) {
        let _ = self.tx.send(notice);
    }

    /// Answers a long-poll: at once when there are changes after `since`
    /// (or `since` is too old, or None), else when some arrive, else after
    /// `wait` with none. None: there is nothing to report and too many
    /// polls are held already.
    pub(super) async fn wait_after(
        &self,
        since: Option<u64>,
        wait: Duration,
    ) -> Option<ChangesAnswer> {
        let mut rx = self.last.subscribe();
        let held = self.polls.try_acquire().ok();
        let until = tokio::time::Instant::now() + wait;
        loop {
            // Mark the current index seen before looking, so a record
            // between the look and the wait still wakes us.
            rx.borrow_and_update();
            let last = {
                let ring = self.ring();
                if let Some(answer) = ring.after(since, ANSWER_BYTES) {
                    return Some(answer);
                }
                ring.last()
            };
            let nothing = ChangesAnswer::Entries {
                upto: since.unwrap_or(0).max(last),
                entries: Vec::new(),
            };
            held.as_ref()?;
            match tokio::time::timeout_at(until, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Some(nothing),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(ino: u64) -> Option<Arc<Changes>> {
        let mut c = Changes::default();
        c.inodes.insert(ino);
        Some(Arc::new(c))
    }

    fn indices(a: &ChangesAnswer) -> Vec<u64> {
        match a {
            ChangesAnswer::Entries { entries, .. } => entries.iter().map(|(i, _)| *i).collect(),
            ChangesAnswer::TooOld { .. } => panic!("too old: {a:?}"),
        }
    }

    #[test]
    fn t10_the_ring_answers_what_came_after_an_index() {
        let mut r = ChangeRing::new(100, 1 << 20);
        r.reset(10);
        assert_eq!(
            r.after(None, 1 << 20),
            Some(ChangesAnswer::Entries {
                upto: 10,
                entries: vec![]
            })
        );
        assert_eq!(r.after(Some(10), 1 << 20), None, "nothing yet");
        r.push(11, ch(1));
        r.push(12, None);
        r.push(13, ch(2));
        let a = r.after(Some(10), 1 << 20).expect("answer");
        assert_eq!(indices(&a), [11, 13]);
        assert!(matches!(a, ChangesAnswer::Entries { upto: 13, .. }));
        assert_eq!(indices(&r.after(Some(11), 1 << 20).expect("answer")), [13]);
        assert_eq!(r.after(Some(13), 1 << 20), None);
        // A voter behind the asker: nothing to report yet.
        assert_eq!(r.after(Some(50), 1 << 20), None);
        // Before what the ring holds.
        assert_eq!(
            r.after(Some(9), 1 << 20),
            Some(ChangesAnswer::TooOld { upto: 13 })
        );
    }

    #[test]
    fn t10_the_ring_is_bounded_and_knows_what_it_dropped() {
        let mut r = ChangeRing::new(3, 1 << 20);
        for i in 1..=5 {
            r.push(i, ch(i));
        }
        assert_eq!(r.entries.len(), 3);
        assert_eq!(
            r.after(Some(1), 1 << 20),
            Some(ChangesAnswer::TooOld { upto: 5 })
        );
        assert_eq!(
            indices(&r.after(Some(2), 1 << 20).expect("answer")),
            [3, 4, 5]
        );

        // Bounded in bytes too, keeping at least the newest entry.
        let one = ch(1).expect("changes").weight();
        let mut r = ChangeRing::new(100, 2 * one);
        for i in 1..=5 {
            r.push(i, ch(i));
        }
        assert_eq!(r.entries.len(), 2);
        let mut r = ChangeRing::new(100, 0);
        r.push(1, ch(1));
        assert_eq!(r.entries.len(), 1);
    }

    #[test]
    fn t10_a_long_answer_is_cut_and_resumes() {
        let mut r = ChangeRing::new(100, 1 << 20);
        for i in 1..=10 {
            r.push(i, ch(i));
        }
        let one = ch(1).expect("changes").weight();
        let a = r.after(Some(0), 3 * one).expect("answer");
        assert_eq!(indices(&a), [1, 2, 3]);
        assert!(matches!(a, ChangesAnswer::Entries { upto: 3, .. }));
        let a = r.after(Some(3), 0).expect("answer");
        assert_eq!(indices(&a), [4], "at least one entry");
        assert!(matches!(a, ChangesAnswer::Entries { upto: 4, .. }));
    }

    #[test]
    fn t10_an_index_that_goes_back_restarts_the_ring() {
        let mut r = ChangeRing::new(100, 1 << 20);
        r.push(5, ch(5));
        r.push(3, ch(3));
        assert_eq!(r.after(Some(3), 1 << 20), None);
        assert_eq!(
            r.after(Some(2), 1 << 20),
            Some(ChangesAnswer::TooOld { upto: 3 })
        );
    }

    #[tokio::test]
    async fn t10_a_held_poll_wakes_on_a_change_and_ends_at_its_deadline() {
        let feed = ChangeFeed::new();
        feed.start_at(7);
        let f = feed.clone();
        let poll =
            tokio::spawn(async move { f.wait_after(Some(7), Duration::from_secs(30)).await });
        tokio::task::yield_now().await;
        feed.record(8, Changes::default());
        let mut c = Changes::default();
        c.inodes.insert(42);
        feed.record(9, c.clone());
        let a = tokio::time::timeout(Duration::from_secs(5), poll)
            .await
            .expect("answered when the change came")
            .expect("poll task")
            .expect("not refused");
        assert_eq!(
            a,
            ChangesAnswer::Entries {
                upto: 9,
                entries: vec![(9, c)]
            }
        );
        let a = feed.wait_after(Some(9), Duration::from_millis(10)).await;
        assert_eq!(
            a,
            Some(ChangesAnswer::Entries {
                upto: 9,
                entries: vec![]
            })
        );
        // Past the held-poll bound: refused when there is nothing to say,
        // answered when there is.
        let _all = feed
            .polls
            .acquire_many(MAX_POLLS as u32)
            .await
            .expect("permits");
        assert_eq!(
            feed.wait_after(Some(9), Duration::from_secs(30)).await,
            None
        );
        assert!(feed
            .wait_after(Some(8), Duration::from_secs(30))
            .await
            .is_some());
    }

    #[tokio::test]
    async fn t10_subscribers_hear_changes_and_resets() {
        let feed = ChangeFeed::new();
        let mut rx = feed.subscribe();
        feed.record(1, Changes::default());
        let mut c = Changes::default();
        c.entries.insert((1, "a".into()));
        feed.record(2, c.clone());
        feed.reset(10);
        assert_eq!(
            rx.recv().await.expect("notice"),
            Notice::Changed {
                index: 2,
                changes: Arc::new(c)
            }
        );
        assert_eq!(
            rx.recv().await.expect("notice"),
            Notice::Reset { index: 10 }
        );
    }
}
