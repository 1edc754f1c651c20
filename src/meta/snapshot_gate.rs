//! Admission of snapshot chunks: a chunk must start at or before the end of
//! what already arrived for the same snapshot (0 for a new one). openraft
//! seeks its in-memory snapshot buffer to a chunk's offset before writing,
//! so an offset far past the data would zero-fill memory up to it; here a
//! snapshot costs at most the bytes actually sent.
//!
//! Pure bookkeeping behind a std mutex held for one comparison.

use super::raft_types::{NodeId, TypeConfig};
use openraft::{
    error::{InstallSnapshotError, RaftError, SnapshotMismatch},
    raft::InstallSnapshotRequest,
    SnapshotSegmentId,
};
use std::sync::Mutex;

/// The snapshot being received and how many bytes of it arrived.
#[derive(Default)]
pub struct SnapshotGate {
    current: Mutex<Option<(String, u64)>>,
}

impl SnapshotGate {
    /// Admits a chunk of `len` bytes at `offset` of snapshot `id`, or
    /// returns the offset that was expected at most.
    pub fn admit(&self, id: &str, offset: u64, len: usize) -> Result<(), u64> {
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let have = match &*cur {
            Some((known, end)) if known == id => *end,
            _ => 0,
        };
        if offset > have {
            return Err(have);
        }
        let end = offset.saturating_add(len as u64).max(have);
        *cur = Some((id.to_owned(), end));
        Ok(())
    }
}

/// Admits `req` through `gate`, or the error openraft itself gives for a
/// chunk that does not follow on.
// The error is openraft's own type, answered as it is to the sender.
#[allow(clippy::result_large_err)]
pub fn admit(
    gate: &SnapshotGate,
    req: &InstallSnapshotRequest<TypeConfig>,
) -> Result<(), RaftError<NodeId, InstallSnapshotError>> {
    let id = &req.meta.snapshot_id;
    gate.admit(id, req.offset, req.data.len()).map_err(|have| {
        tracing::warn!(snapshot = %id, offset = req.offset, have, "refused a snapshot chunk past the data received");
        RaftError::APIError(InstallSnapshotError::SnapshotMismatch(SnapshotMismatch {
            expect: SnapshotSegmentId {
                id: id.clone(),
                offset: have,
            },
            got: SnapshotSegmentId {
                id: id.clone(),
                offset: req.offset,
            },
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t40_chunks_may_not_skip_ahead() {
        let g = SnapshotGate::default();
        assert_eq!(g.admit("a", 1, 10), Err(0), "a new snapshot starts at 0");
        assert_eq!(g.admit("a", 0, 10), Ok(()));
        assert_eq!(g.admit("a", 10, 5), Ok(()), "the next chunk");
        assert_eq!(g.admit("a", 5, 10), Ok(()), "a resent chunk");
        assert_eq!(g.admit("a", 16, 1), Err(15), "a gap");
        assert_eq!(g.admit("a", u64::MAX, 1), Err(15));
        assert_eq!(g.admit("b", 15, 1), Err(0), "another snapshot starts over");
        assert_eq!(g.admit("b", 0, 0), Ok(()));
        assert_eq!(g.admit("a", 1, 0), Err(0), "the first one was left");
    }
}
