//! The mount-wide budget of write buffers: how many bytes of changed
//! fragments every handle open for writing may keep ([`TOTAL_DIRTY`]) and
//! how many fragment uploads it may keep in flight ([`TOTAL_UPLOADING`]),
//! shared out evenly between the writing handles, so the mount's write
//! buffers stay bounded however many files are open for writing: at most
//! the totals, plus one dirty fragment and one upload per writing handle.
//!
//! Pure arithmetic on one atomic counter; the writer asks at each write.

use super::writer::{DIRTY_LIMIT, MAX_UPLOADS};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

/// Dirty bytes all writing handles keep together before storing them.
pub const TOTAL_DIRTY: usize = 32 << 20;
/// Bytes of fragment uploads all writing handles keep in flight together.
pub const TOTAL_UPLOADING: usize = 16 << 20;

/// Counts the handles open for writing.
#[derive(Clone, Default)]
pub struct WriteBudget {
    writers: Arc<AtomicUsize>,
}

/// One writing handle's share; dropping it gives the share back.
pub struct Share {
    writers: Arc<AtomicUsize>,
}

impl Drop for Share {
    fn drop(&mut self) {
        self.writers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl WriteBudget {
    /// A share for a handle opened for writing.
    pub fn join(&self) -> Share {
        self.writers.fetch_add(1, Ordering::Relaxed);
        Share {
            writers: self.writers.clone(),
        }
    }

    fn writers(&self) -> usize {
        self.writers.load(Ordering::Relaxed).max(1)
    }

    /// Dirty bytes one handle keeps before storing them: its share of
    /// [`TOTAL_DIRTY`] (at most [`DIRTY_LIMIT`]), at least one fragment of
    /// `fsz` bytes.
    pub fn dirty_limit(&self, fsz: u64) -> usize {
        (TOTAL_DIRTY / self.writers())
            .min(DIRTY_LIMIT)
            .max(fsz as usize)
    }

    /// Uploads one handle keeps in flight: its share of
    /// [`TOTAL_UPLOADING`] in fragments of `fsz` bytes, from 1 to
    /// [`MAX_UPLOADS`].
    pub fn max_uploads(&self, fsz: u64) -> usize {
        let per_writer = TOTAL_UPLOADING / self.writers();
        (per_writer / (fsz.max(1) as usize)).clamp(1, MAX_UPLOADS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t40_shares_shrink_as_writers_come_and_grow_as_they_go() {
        let b = WriteBudget::default();
        let mib = 1 << 20;
        assert_eq!(b.dirty_limit(mib), TOTAL_DIRTY);
        assert_eq!(b.max_uploads(mib), 8);
        let shares: Vec<Share> = (0..16).map(|_| b.join()).collect();
        assert_eq!(b.dirty_limit(mib), TOTAL_DIRTY / 16);
        assert_eq!(b.max_uploads(mib), 1);
        assert_eq!(b.max_uploads(mib / 4), 4);
        let more: Vec<Share> = (0..1000).map(|_| b.join()).collect();
        assert_eq!(b.dirty_limit(mib), mib as usize, "at least one fragment");
        assert_eq!(b.max_uploads(mib), 1, "at least one upload");
        assert_eq!(b.max_uploads(16 * mib), 1);
        drop(more);
        drop(shares);
        assert_eq!(b.dirty_limit(mib), TOTAL_DIRTY);
        assert_eq!(b.max_uploads(0), 8);
    }
}
