//! Refreshing fragments before a commit: each holder of each fragment is
//! asked to touch its copy (`Touch`), so its garbage collector keeps it for
//! another grace period (`lifecycle::gc`, the race rule). A writer whose
//! fragments were stored longer ago than it may assume (see
//! `volume::commit`) refreshes them first; a fragment that no holder holds
//! any more is an error, never a committed version missing a fragment.

use super::{blocking, Client, ClientError};
use crate::{
    fragment::{FragmentEntry, FragmentId},
    net,
    redundancy::NodeId,
    wire::{Request, Response, MAX_HAS_IDS},
};
use futures::{stream::FuturesUnordered, StreamExt};
use std::collections::{BTreeMap, BTreeSet};

impl Client {
    /// Touches every fragment of `fragments` on each of its holders (all
    /// holders at once, in batches). Errors with [`ClientError::Gone`] for
    /// a fragment none of its reachable holders still holds; a holder that
    /// does not answer is skipped (another copy is enough).
    pub async fn refresh(&self, fragments: &[FragmentEntry]) -> Result<(), ClientError> {
        let mut by_holder: BTreeMap<NodeId, Vec<FragmentId>> = BTreeMap::new();
        for f in fragments {
            for h in &f.holders {
                by_holder.entry(h.clone()).or_default().push(f.id);
            }
        }
        let mut calls = FuturesUnordered::new();
        for (holder, ids) in by_holder {
            for batch in ids.chunks(MAX_HAS_IDS) {
                calls.push(self.touch_on(holder.clone(), batch.to_vec()));
            }
        }
        let mut held: BTreeSet<FragmentId> = BTreeSet::new();
        let mut answered = false;
        while let Some(r) = calls.next().await {
            if let Some(ids) = r {
                answered = true;
                held.extend(ids);
            }
        }
        match fragments.iter().find(|f| !held.contains(&f.id)) {
            None => Ok(()),
            Some(f) if answered => Err(ClientError::Gone { id: f.id }),
            Some(f) => Err(ClientError::Unavailable {
                id: f.id,
                tried: f.holders.len(),
                last: "no holder answered a refresh".into(),
            }),
        }
    }

    /// The ids of `ids` that `holder` holds (and has refreshed); None when
    /// it could not be asked.
    async fn touch_on(&self, holder: NodeId, ids: Vec<FragmentId>) -> Option<Vec<FragmentId>> {
        let peer = net::peer_of(&holder)?;
        let present = if peer == self.net.local_peer_id() {
            let store = self.store.clone()?;
            let asked = ids.clone();
            blocking(move || store.touch(&asked)).await.ok()?.ok()?
        } else {
            let req = Request::Touch { ids: ids.clone() };
            match self.net.request(peer, req, self.cfg.attempt_timeout).await {
                Ok(Response::Has { present }) if present.len() == ids.len() => present,
                Ok(other) => {
                    tracing::debug!(%peer, answer = ?other, "refresh not answered");
                    return None;
                }
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "refresh failed");
                    return None;
                }
            }
        };
        Some(
            ids.into_iter()
                .zip(present)
                .filter_map(|(id, held)| held.then_some(id))
                .collect(),
        )
    }
}
