//! What `statfs` (`df`) reports: the raw bytes of every store reachable
//! from the mount's node (its own and each connected storage peer's),
//! measured at most once per `MountConfig::statfs_ttl` and otherwise
//! answered from the last measure.
//!
//! Raw, not divided by the replica count: `df` shows the disks' bytes, and
//! a file written with three copies takes three times its size of them
//! (see `DESIGN.md`).

use fragfs::volume::Volume;
use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long one peer may take to answer a `Stat` request.
pub const STAT_DEADLINE: Duration = Duration::from_secs(2);

/// Block size reported to the kernel.
pub const BSIZE: u64 = 4096;

/// What a node that stores nothing and reaches no store reports: plenty,
/// so that writes are not refused before the network is asked.
const UNKNOWN_CAPACITY: u64 = 1 << 44;

/// The numbers of a `statfs` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statfs {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
}

/// `statfs` numbers for `used` of `capacity` bytes. Inodes are not
/// limited: plenty are reported.
pub fn statfs_of(used: u64, capacity: u64) -> Statfs {
    let capacity = if capacity == 0 {
        UNKNOWN_CAPACITY
    } else {
        capacity
    };
    let free = capacity.saturating_sub(used) / BSIZE;
    Statfs {
        blocks: capacity / BSIZE,
        bfree: free,
        bavail: free,
        files: 1 << 32,
        ffree: 1 << 31,
    }
}

/// The network's (used, capacity), cached.
pub struct Capacity {
    volume: Volume,
    ttl: Duration,
    /// The last measure and when it was taken. A std mutex: held to copy
    /// two numbers, never across an await.
    last: Mutex<Option<(Instant, u64, u64)>>,
    /// One measure at a time: callers arriving during a measure wait for
    /// it and take its result. A tokio mutex, held across the requests.
    measuring: tokio::sync::Mutex<()>,
}

impl Capacity {
    pub fn new(volume: Volume, ttl: Duration) -> Self {
        Capacity {
            volume,
            ttl,
            last: Mutex::new(None),
            measuring: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<(u64, u64)> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match *last {
            Some((at, used, cap)) if at.elapsed() < self.ttl => Some((used, cap)),
            _ => None,
        }
    }

    /// Bytes used and capacity of every reachable store.
    pub async fn usage(&self) -> (u64, u64) {
        if let Some(u) = self.fresh() {
            return u;
        }
        let _one = self.measuring.lock().await;
        if let Some(u) = self.fresh() {
            return u;
        }
        let u = self.volume.network_usage(STAT_DEADLINE).await;
        tracing::debug!(?u, "measured the network's stores");
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), u.used, u.capacity));
        (u.used, u.capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_statfs_numbers() {
        let s = statfs_of(BSIZE * 3 + 1, BSIZE * 10);
        assert_eq!((s.blocks, s.bfree, s.bavail), (10, 6, 6));
        // More used than the capacity (a peer shrank): nothing free.
        assert_eq!(statfs_of(BSIZE * 20, BSIZE * 10).bfree, 0);
        // Nothing known: plenty.
        assert_eq!(statfs_of(0, 0).blocks, UNKNOWN_CAPACITY / BSIZE);
    }
}
