//! What the storage lifecycle asks of the namespace: applying retention,
//! every fragment id kept versions refer to (what the stores' collectors
//! must keep), where kept versions' bytes are and replacing that (repair,
//! re-encoding). See `node::gc` and `node::repair` for the workers that
//! use them.

use super::{clock::now, reply, Volume, VolumeError};
use crate::{
    fragment::FragmentId,
    meta::{
        Command, Ino, MetaError, Placed, Query, Replacement, MAX_PLACEMENTS_PAGE, MAX_REFS_PAGE,
    },
};
use std::collections::HashSet;

impl Volume {
    /// Applies the retention policies now, protecting `protected`
    /// (versions that open handles or writes refer to); returns the
    /// versions and the deleted files dropped.
    pub async fn retain(&self, protected: Vec<(Ino, u64)>) -> Result<(u64, u64), VolumeError> {
        let cmd = Command::Retain {
            now: now(),
            protected,
        };
        reply::retained(self.write(cmd).await?)
    }

    /// Every fragment id the namespace's kept versions (of live and of
    /// deleted files) refer to, manifests' own ids included, read a page
    /// at a time from an up-to-date replica: every version committed
    /// before this call is seen. A page from a replica that could not
    /// confirm it is up to date is an error, never a partial answer.
    pub async fn fragment_refs(&self) -> Result<HashSet<FragmentId>, VolumeError> {
        let mut all = HashSet::new();
        let mut after = 0;
        loop {
            let q = Query::FragmentRefs {
                after,
                max: MAX_REFS_PAGE,
            };
            let a = reply::answer(self.read(q).await?, reply::fragment_refs)?;
            if a.stale {
                return Err(stale());
            }
            let (ids, next) = a.value;
            all.extend(ids);
            match next {
                Some(n) if n > after => after = n,
                Some(_) => {
                    return Err(VolumeError::Protocol(
                        "fragment references did not move forward".into(),
                    ))
                }
                None => return Ok(all),
            }
        }
    }

    /// Every kept version with its manifest, read a page at a time from
    /// an up-to-date replica (a stale page is an error).
    pub async fn placements(&self) -> Result<Vec<Placed>, VolumeError> {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let q = Query::Placements {
                after,
                max: MAX_PLACEMENTS_PAGE,
            };
            let a = reply::answer(self.read(q).await?, reply::placements)?;
            if a.stale {
                return Err(stale());
            }
            let (page, next) = a.value;
            all.extend(page);
            match next {
                Some(n) if n > after => after = n,
                Some(_) => {
                    return Err(VolumeError::Protocol(
                        "placements did not move forward".into(),
                    ))
                }
                None => return Ok(all),
            }
        }
    }

    /// Replaces versions' manifests with manifests of the same bytes
    /// (`Command::Replace`); returns the items replaced and skipped.
    pub async fn replace(&self, items: Vec<Replacement>) -> Result<(u64, u64), VolumeError> {
        reply::replaced(self.write(Command::Replace { items }).await?)
    }

    /// Reports what `holder` (one mount) holds open: `versions`, kept by
    /// retention for `lease` from now, replacing its last report; an empty
    /// list releases everything it held.
    pub async fn hold(
        &self,
        holder: &str,
        versions: Vec<(Ino, u64)>,
        lease: std::time::Duration,
    ) -> Result<(), VolumeError> {
        let t = now();
        let until = crate::meta::Time {
            secs: t.secs.saturating_add(lease.as_secs() as i64),
            nanos: t.nanos,
        };
        let cmd = Command::Hold {
            holder: holder.to_owned(),
            versions,
            until,
        };
        reply::done(self.write(cmd).await?)
    }

    /// Whether this node leads the metadata cluster now.
    pub fn is_meta_leader(&self) -> bool {
        self.meta().status().leader == Some(self.node_id())
    }
}

fn stale() -> VolumeError {
    VolumeError::Meta(MetaError::Other(
        "the namespace could not confirm it is up to date".into(),
    ))
}
