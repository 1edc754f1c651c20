//! The node's clocks: wall time for the namespace's `now` stamps, and the
//! hybrid logical clock that orders the versions this node commits.
//!
//! Must not: be read inside `meta::namespace` apply (commands carry their
//! own stamps).

use crate::meta::{Hlc, Time};
use std::sync::Mutex;

/// The wall clock as a namespace time stamp.
pub fn now() -> Time {
    Time::now()
}

/// This node's hybrid logical clock.
#[derive(Debug)]
pub struct Clock {
    /// The metadata node id stamped into each reading.
    node: u64,
    /// The last reading given. A std mutex: held for one comparison.
    last: Mutex<Hlc>,
}

impl Clock {
    pub fn new(node: u64) -> Self {
        Clock {
            node,
            last: Mutex::new(Hlc::default()),
        }
    }

    /// The next reading, after both the last one given and `seen` (the
    /// head version's reading), so a new version is always later than the
    /// one it replaces even if wall clocks disagree.
    pub fn next(&self, seen: Option<Hlc>) -> Hlc {
        let t = now();
        let wall = t.secs as u64 * 1000 + t.nanos as u64 / 1_000_000;
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let base = seen.map_or(*last, |s| last.max(s));
        *last = base.tick(wall, self.node);
        *last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_readings_increase_past_what_was_seen() {
        let c = Clock::new(7);
        let a = c.next(None);
        let b = c.next(None);
        assert!(b > a);
        let far = Hlc {
            wall_ms: u64::MAX / 2,
            logical: 3,
            node: 1,
        };
        let d = c.next(Some(far));
        assert!(d > far);
        assert_eq!(d.node, 7);
    }
}
