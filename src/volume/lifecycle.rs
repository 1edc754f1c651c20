//! What the storage lifecycle asks of the namespace: applying retention,
//! and every fragment id kept versions refer to (what the stores'
//! collectors must keep). See `node::gc` for the workers that use them.

use super::{clock::now, reply, Volume, VolumeError};
use crate::{
    fragment::FragmentId,
    meta::{Command, Ino, MetaError, Query, MAX_REFS_PAGE},
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
                return Err(VolumeError::Meta(MetaError::Other(
                    "the namespace could not confirm it is up to date".into(),
                )));
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

    /// Whether this node leads the metadata cluster now.
    pub fn is_meta_leader(&self) -> bool {
        self.meta().status().leader == Some(self.node_id())
    }
}
