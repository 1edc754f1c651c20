//! Getting a fragment stored under `rs:K+M`: fetch its stripe (any holder,
//! verified against the entry's id, decoded stripes cached), then ask K
//! shard holders at once, data shards first. A shard that fails, is
//! missing or corrupt is asked of the DHT's providers of its id while the
//! next unasked shard is started; a holder that has not answered after
//! `hedge_after` gets one more shard asked beside it. Every shard is
//! checked against its id; K good shards are rebuilt on the blocking pool
//! and the result checked against the stripe's data id. Unchecked bytes
//! are never returned.

use super::{blocking, Client, ClientError, Progress};
use crate::{
    erasure::Stripe,
    fragment::FragmentEntry,
    net::{self, PeerId},
    redundancy::Redundancy,
};
use bytes::Bytes;
use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, StreamExt};
use std::{
    collections::{HashSet, VecDeque},
    sync::{atomic::Ordering, Arc},
};
use tokio::time::Instant;

impl Client {
    /// Fragment `f` (number `rotate` of its file, which spreads parallel
    /// fetches over holders) of a file stored with `redundancy`, verified:
    /// a copy under replicas ([`Client::fetch_fragment`]), rebuilt from
    /// shards under `rs:K+M`.
    pub async fn fetch_entry(
        &self,
        redundancy: Redundancy,
        f: &FragmentEntry,
        rotate: usize,
        progress: &Progress,
    ) -> Result<Bytes, ClientError> {
        let stored = match redundancy {
            Redundancy::Replicas(_) => {
                self.fetch_fragment(&f.id, &f.holders, rotate, progress)
                    .await?
            }
            Redundancy::ReedSolomon { .. } => {
                self.fetch_striped(redundancy, f, rotate, progress).await?
            }
        };
        self.open_bytes(f, stored).await
    }

    async fn fetch_striped(
        &self,
        redundancy: Redundancy,
        f: &FragmentEntry,
        rotate: usize,
        progress: &Progress,
    ) -> Result<Bytes, ClientError> {
        let stripe = self.stripe_of(redundancy, f, rotate, progress).await?;
        if let Some(data) = self.whole_copy(&stripe).await {
            return Ok(data);
        }
        let shards = Gather::new(self, &stripe, f).run(progress).await?;
        if shards.iter().any(|(i, _)| *i >= usize::from(stripe.data)) {
            self.erasure.count(|c| &c.degraded_reads);
        }
        let st = stripe.clone();
        let data = blocking(move || {
            let refs: Vec<(usize, &[u8])> = shards.iter().map(|(i, b)| (*i, &b[..])).collect();
            st.rebuild(&refs)
        })
        .await?
        .map_err(|e| ClientError::Unavailable {
            id: f.id,
            tried: stripe.total(),
            last: format!("could not rebuild the fragment: {e}"),
        })?;
        Ok(Bytes::from(data))
    }

    /// A whole copy of the stripe's fragment in the local store (a pinned
    /// file keeps one), read and checked by the store.
    async fn whole_copy(&self, stripe: &Stripe) -> Option<Bytes> {
        let store = self.store.clone().filter(|s| s.has(&stripe.data_id))?;
        let id = stripe.data_id;
        match blocking(move || store.get(&id)).await {
            Ok(Ok(data)) => Some(Bytes::from(data)),
            Ok(Err(e)) => {
                tracing::warn!(fragment = %id, error = %e, "local whole copy unusable; using shards");
                None
            }
            Err(_) => None,
        }
    }

    /// The stripe of entry `f` of a file stored with `redundancy` (rs),
    /// from the cache or fetched and verified like a fragment; it must
    /// agree with the manifest.
    pub async fn stripe_of(
        &self,
        redundancy: Redundancy,
        f: &FragmentEntry,
        rotate: usize,
        progress: &Progress,
    ) -> Result<Arc<Stripe>, ClientError> {
        if let Some(s) = self.erasure.cached(&f.id) {
            return Ok(s);
        }
        let bytes = self
            .fetch_fragment(&f.id, &f.holders, rotate, progress)
            .await?;
        let bad = |reason: String| ClientError::BadStripe { id: f.id, reason };
        let stripe = Stripe::decode(&bytes).map_err(|e| bad(e.to_string()))?;
        if stripe.redundancy() != redundancy
            || !self.stored_len_fits(f, stripe.len.into())
            || stripe.data_id.algo() != f.id.algo()
        {
            return Err(bad(format!(
                "it describes {} bytes as {}, the manifest {} bytes as {redundancy}",
                stripe.len,
                stripe.redundancy(),
                f.len
            )));
        }
        let stripe = Arc::new(stripe);
        self.erasure.remember(f.id, stripe.clone());
        Ok(stripe)
    }
}

/// What one piece of work in flight came back with.
enum Step {
    /// Shard `i` asked of a peer: checked bytes, or (corrupt, why not).
    Shard(usize, PeerId, Result<Bytes, (bool, String)>),
    /// Providers of shard `i` found in the DHT.
    Providers(usize, Vec<PeerId>),
}

/// The fetch of K good shards of one stripe.
struct Gather<'a> {
    client: &'a Client,
    stripe: &'a Stripe,
    entry: &'a FragmentEntry,
    me: PeerId,
    good: Vec<(usize, Bytes)>,
    /// Whether each shard was asked for (or read locally) yet.
    started: Vec<bool>,
    /// Whether the DHT was asked for each shard's providers.
    looked_up: Vec<bool>,
    tried: Vec<HashSet<PeerId>>,
    queues: Vec<VecDeque<PeerId>>,
    inflight: FuturesUnordered<BoxFuture<'a, Step>>,
    last: String,
}

impl<'a> Gather<'a> {
    fn new(client: &'a Client, stripe: &'a Stripe, entry: &'a FragmentEntry) -> Self {
        let n = stripe.total();
        Gather {
            client,
            stripe,
            entry,
            me: client.net.local_peer_id(),
            good: Vec::new(),
            started: vec![false; n],
            looked_up: vec![false; n],
            tried: vec![HashSet::new(); n],
            queues: vec![VecDeque::new(); n],
            inflight: FuturesUnordered::new(),
            last: String::from("no holder is known"),
        }
    }

    /// K good shards as (index, bytes), or why they could not be had.
    async fn run(mut self, progress: &Progress) -> Result<Vec<(usize, Bytes)>, ClientError> {
        let k = usize::from(self.stripe.data);
        let deadline = Instant::now() + self.client.cfg.fragment_deadline;
        self.read_local().await;
        while self.good.len() + self.inflight.len() < k && self.start_next() {}
        loop {
            if self.good.len() >= k {
                self.good.truncate(k);
                return Ok(self.good);
            }
            if self.inflight.is_empty() && !self.start_next() {
                return Err(self.unavailable(None));
            }
            let hedge = self.client.cfg.hedge_after;
            let more = self.started.iter().any(|s| !s);
            tokio::select! {
                Some(step) = self.inflight.next() => self.on_step(step, progress),
                _ = tokio::time::sleep(hedge), if more => {
                    tracing::debug!(stripe = %self.entry.id, "slow shard holder; hedging");
                    self.start_next();
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(self.unavailable(Some(self.client.cfg.fragment_deadline)));
                }
            }
        }
    }

    /// Shards this node holds, read (and checked) from its store.
    async fn read_local(&mut self) {
        let Some(store) = self.client.store.clone() else {
            return;
        };
        let k = usize::from(self.stripe.data);
        for (i, id) in self.stripe.shards.iter().copied().enumerate() {
            if self.good.len() >= k {
                break;
            }
            if !store.has(&id) {
                continue;
            }
            let store = store.clone();
            match blocking(move || store.get(&id)).await {
                Ok(Ok(data)) => {
                    self.started[i] = true;
                    self.good.push((i, Bytes::from(data)));
                }
                Ok(Err(e)) => {
                    self.client.erasure.count(|c| &c.failed_shards);
                    tracing::warn!(shard = %id, error = %e, "local shard unusable; fetching from peers");
                }
                Err(e) => tracing::warn!(shard = %id, error = %e, "local shard read failed"),
            }
        }
    }

    /// Starts the first shard not asked for yet; false when none is left.
    fn start_next(&mut self) -> bool {
        let Some(i) = self.started.iter().position(|s| !s) else {
            return false;
        };
        self.started[i] = true;
        match self.entry.holders.get(i).and_then(net::peer_of) {
            Some(p) if p != self.me => self.ask(i, p),
            _ => self.look_up(i),
        }
        true
    }

    fn ask(&mut self, i: usize, peer: PeerId) {
        self.tried[i].insert(peer);
        let (client, id) = (self.client, self.stripe.shards[i]);
        self.inflight.push(
            async move {
                let (peer, res) = client.try_holder(peer, id).await;
                Step::Shard(i, peer, res)
            }
            .boxed(),
        );
    }

    fn look_up(&mut self, i: usize) {
        if std::mem::replace(&mut self.looked_up[i], true) {
            return;
        }
        let (client, id) = (self.client, self.stripe.shards[i]);
        self.inflight.push(
            async move {
                let found = client
                    .net
                    .find_providers(&id, client.cfg.lookup_timeout)
                    .await;
                Step::Providers(i, found)
            }
            .boxed(),
        );
    }

    fn on_step(&mut self, step: Step, progress: &Progress) {
        match step {
            Step::Shard(i, peer, Ok(data)) => {
                progress.add_peer(peer);
                self.good.push((i, data));
            }
            Step::Shard(i, peer, Err((corrupt, e))) => {
                if corrupt {
                    progress.corrupt.fetch_add(1, Ordering::Relaxed);
                }
                progress.retries.fetch_add(1, Ordering::Relaxed);
                self.client.erasure.count(|c| &c.failed_shards);
                tracing::debug!(shard = %self.stripe.shards[i], %peer, error = %e, "shard holder failed");
                self.last = format!("shard {i} from {peer}: {e}");
                match self.queues[i].pop_front() {
                    Some(p) => self.ask(i, p),
                    None => self.look_up(i),
                }
                // Keep K shards coming while this one is looked for.
                self.start_next();
            }
            Step::Providers(i, found) => {
                let fresh: Vec<PeerId> = found
                    .into_iter()
                    .filter(|p| *p != self.me && !self.tried[i].contains(p))
                    .collect();
                self.queues[i].extend(fresh);
                if let Some(p) = self.queues[i].pop_front() {
                    self.ask(i, p);
                }
            }
        }
    }

    fn unavailable(&self, deadline: Option<std::time::Duration>) -> ClientError {
        let have = self.good.len();
        let need = usize::from(self.stripe.data);
        let last = match deadline {
            Some(d) => format!(
                "deadline of {d:?} passed; {have} of {need} shards; {}",
                self.last
            ),
            None => format!("{have} of {need} shards; {}", self.last),
        };
        ClientError::Unavailable {
            id: self.entry.id,
            tried: self.tried.iter().map(HashSet::len).sum(),
            last,
        }
    }
}
