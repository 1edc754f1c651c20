//! Parts of fragments: the whole, or a verified slice of a fragment named
//! by BLAKE3 (`store::sliceable`), fetched from its holders like a whole
//! one (`Client::fetch_part`) and opened against the fragment's id before
//! a byte is returned (`fragfs_hash::slices`).

use super::{blocking, Client, ClientError, Progress};
use crate::{fragment::FragmentId, redundancy::NodeId, store::FragmentStore, wire::Request};
use bytes::Bytes;
use std::sync::Arc;

/// What of a fragment is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    Whole,
    /// Bytes `start..start + len` (short at the fragment's end).
    Slice {
        start: u32,
        len: u32,
    },
}

impl Part {
    pub(super) fn request(self, id: FragmentId) -> Request {
        match self {
            Part::Whole => Request::Get { id },
            Part::Slice { start, len } => Request::GetSlice { id, start, len },
        }
    }

    /// The bytes `answer` carries, if they check against `id` (blocking:
    /// hashes).
    pub(super) fn open(self, id: FragmentId, answer: Bytes) -> Option<Bytes> {
        match self {
            Part::Whole => id.matches(&answer).then_some(answer),
            Part::Slice { start, len } => {
                fragfs_hash::slices::open(&answer, id.digest(), start.into(), len.into())
                    .ok()
                    .map(Bytes::from)
            }
        }
    }
}

impl Client {
    /// Bytes `start..start + len` of fragment `id` (short at its end),
    /// each checked against the id: a slice from the holders (in the
    /// order given, from `rotate`), retried elsewhere when one lies or
    /// fails, as [`Client::fetch_fragment`] does. Only for ids
    /// `store::sliceable` accepts.
    pub async fn fetch_slice(
        &self,
        id: &FragmentId,
        holders: &[NodeId],
        rotate: usize,
        start: u32,
        len: u32,
    ) -> Result<Bytes, ClientError> {
        if !crate::store::sliceable(id.algo()) {
            return Err(ClientError::Bug(format!(
                "no slices of {id}: not a BLAKE3 id"
            )));
        }
        let part = Part::Slice { start, len };
        self.fetch_part(id, holders, rotate, &Progress::default(), part)
            .await
    }

    /// `part` of fragment `id` from the local store, checked.
    pub(super) async fn local_part(
        &self,
        store: Arc<FragmentStore>,
        id: FragmentId,
        part: Part,
    ) -> Result<Result<Bytes, crate::store::StoreError>, ClientError> {
        blocking(move || match part {
            // The store checked the whole copy against its id.
            Part::Whole => store.get(&id).map(Bytes::from),
            // A slice is opened as one from a peer is.
            Part::Slice { start, len } => {
                let data = Bytes::from(store.get_slice(&id, start, len)?);
                part.open(id, data)
                    .ok_or(crate::store::StoreError::HashMismatch(id))
            }
        })
        .await
    }
}
