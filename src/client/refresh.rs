//! Refreshing fragments before a commit: each holder of each fragment is
//! asked to touch its copy (`Touch`), so its garbage collector keeps it for
//! another grace period (`lifecycle::gc`, the race rule). A writer whose
//! fragments were stored longer ago than it may assume (see
//! `volume::commit`) refreshes them first; a fragment that no holder holds
//! any more is an error, never a committed version missing a fragment.

use super::{blocking, Client, ClientError};
use crate::{
    erasure::{Stripe, MAX_STRIPE_BYTES},
    fragment::{FragmentEntry, FragmentId},
    net,
    redundancy::NodeId,
    store::{FragmentStore, StoreError},
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
            blocking(move || touch_with_shards(&store, &asked))
                .await
                .ok()?
                .ok()?
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

/// Touches each of `ids` held and, for a stripe among them, the shards of
/// it held here too: a writer refreshes a coded version by its stripes
/// (the ids its manifest names), and the shards they name must outlive
/// the grace period as long as the stripe does (`node::gc`, the race
/// rule). Returns, per id of `ids`, whether it is held.
pub fn touch_with_shards(
    store: &FragmentStore,
    ids: &[FragmentId],
) -> Result<Vec<bool>, StoreError> {
    let present = store.touch(ids)?;
    let mut shards = Vec::new();
    for (id, _) in ids.iter().zip(&present).filter(|(_, held)| **held) {
        let small = store
            .len_of(id)
            .is_some_and(|n| n as usize <= MAX_STRIPE_BYTES);
        if let Some(stripe) = small
            .then(|| store.get(id).ok())
            .flatten()
            .and_then(|b| Stripe::decode(&b).ok())
        {
            shards.extend(stripe.shards);
        }
    }
    store.touch(&shards)?;
    Ok(present)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{erasure, fragment::HashAlgo, store::StoreConfig};
    use std::time::{Duration, SystemTime};

    fn age(store: &FragmentStore, id: &FragmentId, by: Duration) {
        use nix::sys::stat::{utimensat, UtimensatFlags};
        use nix::sys::time::TimeSpec;
        let then = SystemTime::now() - by;
        let t = TimeSpec::from(then.duration_since(SystemTime::UNIX_EPOCH).unwrap());
        let path = store.path_for_test(id);
        utimensat(
            nix::fcntl::AT_FDCWD,
            &path,
            &t,
            &t,
            UtimensatFlags::FollowSymlink,
        )
        .unwrap();
    }

    fn time_of(store: &FragmentStore, id: &FragmentId) -> SystemTime {
        let all = store.list_times().unwrap();
        all.into_iter().find(|(i, _, _)| i == id).unwrap().2
    }

    #[test]
    fn t10_touching_a_stripe_touches_the_shards_held_beside_it() {
        let d = tempfile::tempdir().unwrap();
        let store = FragmentStore::open(StoreConfig {
            dir: d.path().to_path_buf(),
            capacity: 1 << 24,
        })
        .unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let (stripe, shards) = erasure::encode(HashAlgo::Sha3_256, &data, 4, 2).unwrap();
        let bytes = stripe.encode();
        let stripe_id = FragmentId::of(HashAlgo::Sha3_256, &bytes);
        store.put(&stripe_id, &bytes).unwrap();
        store.put(&stripe.shards[1], &shards[1]).unwrap();
        let hour = Duration::from_secs(3600);
        age(&store, &stripe_id, hour);
        age(&store, &stripe.shards[1], hour);
        let before = SystemTime::now() - Duration::from_secs(60);

        let absent = stripe.shards[0];
        let present = touch_with_shards(&store, &[stripe_id, absent]).unwrap();
        assert_eq!(present, vec![true, false]);
        assert!(time_of(&store, &stripe_id) > before);
        assert!(time_of(&store, &stripe.shards[1]) > before, "the shard too");
    }
}
