//! The namespace's event log: every commit whose mark is a conflict, an
//! override or a resurrection, in apply order, so `fragfs conflicts` can
//! list what happened. Bounded to the last [`MAX_EVENTS`]: the oldest is
//! dropped when a new one would exceed it (their `seq` numbers show the
//! gap). Deterministic: an event's time is its command's `now`.

use super::Namespace;
use crate::meta::types::{Ino, Time};
use crate::meta::versions::{Author, Event, Mark};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Most events kept.
pub const MAX_EVENTS: usize = 10_000;

/// The last [`MAX_EVENTS`] events, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLog {
    /// The `seq` of the next event.
    next_seq: u64,
    events: VecDeque<Event>,
}

/// What a recorded event is about (its `seq` is the log's).
pub(super) struct NewEvent {
    pub ino: Ino,
    pub path: String,
    pub version: u64,
    pub mark: Mark,
    pub author: Author,
    pub time: Time,
}

impl EventLog {
    fn push(&mut self, e: NewEvent) {
        self.next_seq = self.next_seq.max(1);
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(Event {
            seq,
            ino: e.ino,
            path: e.path,
            version: e.version,
            mark: e.mark,
            author: e.author,
            time: e.time,
        });
    }

    /// The last `limit` events whose path is `path` or lies under it (all
    /// of them for None or "/"), oldest first.
    pub fn matching(&self, path: Option<&str>, limit: usize) -> Vec<Event> {
        let under = |p: &str| match path.map(|q| q.trim_end_matches('/')) {
            None | Some("") => true,
            Some(q) => p == q || p.strip_prefix(q).is_some_and(|rest| rest.starts_with('/')),
        };
        let mut found: Vec<Event> = self
            .events
            .iter()
            .rev()
            .filter(|e| under(&e.path))
            .take(limit)
            .cloned()
            .collect();
        found.reverse();
        found
    }

    /// How many events are kept.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

impl Namespace {
    /// Records `e` if its mark is one the log keeps.
    pub(super) fn record_event(&mut self, e: NewEvent) {
        if e.mark.is_event() {
            self.events.push(e);
        }
    }

    /// The event log, for queries.
    pub fn events(&self) -> &EventLog {
        &self.events
    }
}
