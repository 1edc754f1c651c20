//! Bytes of versions: one fragment fetched and verified against its id, a
//! byte range of a version, and the capacity of the stores reachable from
//! this node (for `statfs`). Callers that cache fragments fetch them one by
//! one with [`Volume::fetch_fragment`].

use super::{
    capacity::{self, NetworkUsage},
    Volume, VolumeError,
};
use crate::{
    client::Progress,
    fragment::{FragmentEntry, Manifest},
    redundancy::Redundancy,
};
use bytes::Bytes;
use std::time::Duration;

impl Volume {
    /// Fragment `f` (number `index` of its file), fetched and verified
    /// against its id; a copy of another length than the manifest says is
    /// refused.
    pub async fn fetch_fragment(
        &self,
        f: &FragmentEntry,
        index: u64,
    ) -> Result<Bytes, VolumeError> {
        self.fetch_entry(Redundancy::default(), f, index).await
    }

    /// [`Volume::fetch_fragment`] of a file stored with `redundancy`: a
    /// coded fragment is rebuilt from its shards.
    pub async fn fetch_entry(
        &self,
        redundancy: Redundancy,
        f: &FragmentEntry,
        index: u64,
    ) -> Result<Bytes, VolumeError> {
        let b = self
            .client()
            .fetch_entry(redundancy, f, index as usize, &Progress::default())
            .await?;
        if b.len() != f.len as usize {
            return Err(VolumeError::Protocol(format!(
                "fragment {index} has {} bytes, the manifest says {}",
                b.len(),
                f.len
            )));
        }
        Ok(b)
    }

    /// Bytes `start..start + len` of fragment `f` (number `index` of a
    /// file stored with `redundancy`) without fetching the rest, each
    /// checked against the fragment's id; None when the fragment cannot
    /// be sliced (not named by BLAKE3, or coded into shards): fetch it
    /// whole.
    pub async fn fetch_slice(
        &self,
        redundancy: Redundancy,
        f: &FragmentEntry,
        index: u64,
        start: u32,
        len: u32,
    ) -> Option<Result<Bytes, VolumeError>> {
        let plain = matches!(redundancy, Redundancy::Replicas(_));
        if !plain || !crate::store::sliceable(f.id.algo()) {
            return None;
        }
        let want = f.len.saturating_sub(start).min(len) as usize;
        let got = self
            .client()
            .fetch_slice(&f.id, &f.holders, index as usize, start, len)
            .await;
        Some(match got {
            Ok(b) if b.len() == want => Ok(b),
            Ok(b) => Err(VolumeError::Protocol(format!(
                "a slice of fragment {index} has {} bytes, {want} expected",
                b.len()
            ))),
            Err(e) => Err(e.into()),
        })
    }

    /// Bytes `offset..offset + len` of the version whose manifest is `m`
    /// (short at the end of the file), every fragment verified.
    pub async fn read_range(
        &self,
        m: &Manifest,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, VolumeError> {
        let end = offset.saturating_add(len).min(m.size);
        let fsz = u64::from(m.fragment_size.get());
        let mut out = Vec::with_capacity(end.saturating_sub(offset).min(64 << 20) as usize);
        let mut at = offset;
        while at < end {
            let index = at / fsz;
            let f = m.fragments.get(index as usize).ok_or_else(|| {
                VolumeError::Protocol(format!("fragment {index} is not in the manifest"))
            })?;
            let data = self.fetch_entry(m.redundancy, f, index).await?;
            let start = (at - index * fsz) as usize;
            let stop = ((end - index * fsz).min(fsz) as usize).min(data.len());
            if start >= stop {
                return Err(VolumeError::Protocol(format!("fragment {index} is short")));
            }
            out.extend_from_slice(&data[start..stop]);
            at = index * fsz + stop as u64;
        }
        Ok(out)
    }

    /// This node's store plus every connected storage peer's, asking each
    /// for at most `deadline`.
    pub async fn network_usage(&self, deadline: Duration) -> NetworkUsage {
        capacity::network_usage(&self.inner.net, self.inner.store.as_deref(), deadline).await
    }
}
