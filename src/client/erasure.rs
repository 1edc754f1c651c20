//! Putting a fragment under `rs:K+M`: its bytes are hashed and coded into
//! K data and M parity shards on the blocking pool; shard i goes to the
//! i-th of the candidates ranked by closeness to the fragment's id (the
//! next-closest unused peer when one fails), each shard holder also keeps
//! the fragment's stripe (so any peer holding a shard can tell which
//! fragment it belongs to), all in parallel. Every shard must be placed
//! for the put to succeed. The entry returned names the stripe and the
//! shard holders in shard order.
//!
//! Also the client's erasure state: the counters `fragfs status` reports
//! and the cache of decoded stripes.

use super::{blocking, Client, ClientError, Progress};
use crate::{
    erasure::{self, Stripe},
    fragment::{FragmentEntry, FragmentId, HashAlgo},
    net,
    redundancy::{rank_by_closeness, Candidate, NodeId},
};
use bytes::Bytes;
use futures::{stream::FuturesUnordered, StreamExt};
use lru::LruCache;
use std::{
    num::NonZeroUsize,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

/// Decoded stripes kept by a client (at most 2.3 KiB each).
const STRIPE_CACHE: NonZeroUsize = NonZeroUsize::new(1024).unwrap();

/// What reads of coded fragments met, since the client was made.
#[derive(Debug, Default)]
pub struct ErasureCounters {
    /// Fragments rebuilt with a parity shard in place of a data shard.
    pub degraded_reads: AtomicU64,
    /// Shards that could not be had from a peer asked for them: missing,
    /// unreachable, too slow to matter or corrupt.
    pub failed_shards: AtomicU64,
}

/// Shared by every copy of a client.
pub(super) struct ErasureState {
    pub(super) counters: ErasureCounters,
    /// Decoded stripes by id. A std mutex: held for one lookup or insert.
    stripes: Mutex<LruCache<FragmentId, Arc<Stripe>>>,
}

impl Default for ErasureState {
    fn default() -> Self {
        ErasureState {
            counters: ErasureCounters::default(),
            stripes: Mutex::new(LruCache::new(STRIPE_CACHE)),
        }
    }
}

impl ErasureState {
    pub(super) fn cached(&self, id: &FragmentId) -> Option<Arc<Stripe>> {
        self.lock().get(id).cloned()
    }

    pub(super) fn remember(&self, id: FragmentId, stripe: Arc<Stripe>) {
        self.lock().put(id, stripe);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<FragmentId, Arc<Stripe>>> {
        self.stripes.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn count(&self, counter: impl Fn(&ErasureCounters) -> &AtomicU64) {
        counter(&self.counters).fetch_add(1, Ordering::Relaxed);
    }
}

/// One shard and the stripe, bound for one peer.
#[derive(Clone)]
struct Upload {
    stripe_id: FragmentId,
    stripe: Bytes,
    ids: Arc<Vec<FragmentId>>,
    shards: Arc<Vec<Bytes>>,
}

impl Client {
    /// Stores `data` (fragment `index`, named in errors) as `k` data and
    /// `m` parity shards among `candidates`; see the module header.
    pub(super) async fn put_striped(
        &self,
        index: u64,
        algo: HashAlgo,
        data: Bytes,
        (k, m): (u8, u8),
        candidates: &[Candidate],
        progress: &Progress,
    ) -> Result<FragmentEntry, ClientError> {
        let n = usize::from(k) + usize::from(m);
        let len = data.len() as u32;
        let (stripe, shards) = blocking(move || erasure::encode(algo, &data, k, m))
            .await?
            .map_err(|e| ClientError::Bug(format!("fragment {index} could not be coded: {e}")))?;
        let ranked = rank_by_closeness(&net::dht_key_of_fragment(&stripe.data_id), candidates);
        if ranked.len() < n {
            return Err(ClientError::NotEnoughPeers {
                have: ranked.len(),
                need: n,
            });
        }
        let encoded = Bytes::from(stripe.encode());
        let up = Upload {
            stripe_id: FragmentId::of(algo, &encoded),
            stripe: encoded,
            ids: Arc::new(stripe.shards),
            shards: Arc::new(shards.into_iter().map(Bytes::from).collect()),
        };
        let mut holders: Vec<Option<NodeId>> = vec![None; n];
        let mut inflight: FuturesUnordered<_> = (0..n)
            .map(|i| self.push_shard(i, ranked[i].clone(), up.clone()))
            .collect();
        let mut next = n;
        let mut errors = Vec::new();
        while let Some((i, node, res)) = inflight.next().await {
            match res {
                Ok(()) => holders[i] = Some(node),
                Err(e) => {
                    progress.retries.fetch_add(1, Ordering::Relaxed);
                    errors.push(e);
                    if let Some(spare) = ranked.get(next) {
                        inflight.push(self.push_shard(i, spare.clone(), up.clone()));
                        next += 1;
                    }
                }
            }
        }
        let placed: Vec<NodeId> = holders.into_iter().flatten().collect();
        if placed.len() < n {
            return Err(ClientError::Quorum {
                index,
                id: up.stripe_id,
                copies: placed.len(),
                need: n,
                errors: errors.join("; "),
            });
        }
        for p in placed.iter().filter_map(net::peer_of) {
            progress.add_peer(p);
        }
        Ok(FragmentEntry {
            id: up.stripe_id,
            len,
            holders: placed,
        })
    }

    /// Stores shard `i` and the stripe on `node`, both at once.
    async fn push_shard(
        &self,
        i: usize,
        node: NodeId,
        up: Upload,
    ) -> (usize, NodeId, Result<(), String>) {
        let (shard, stripe) = tokio::join!(
            self.push_to(node.clone(), up.ids[i], up.shards[i].clone()),
            self.push_to(node.clone(), up.stripe_id, up.stripe.clone()),
        );
        (i, node, shard.1.and(stripe.1))
    }
}
