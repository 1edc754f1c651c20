//! Restoring one lost copy on a chosen peer: a full copy fetched and
//! verified like any read, or a lost shard computed again from the
//! fragment rebuilt out of K verified shards and checked against the
//! stripe's id for it before it is stored (with the stripe beside it).

use super::{blocking, Client, ClientError, Progress};
use crate::{
    erasure,
    fragment::FragmentEntry,
    redundancy::{NodeId, Redundancy},
};
use bytes::Bytes;
use std::collections::HashSet;

impl Client {
    /// Stores on `target` the copy of entry `f` (of a file stored with
    /// `redundancy`) that was `shard` (None: a full copy), fetched from
    /// `f`'s holders that are not `gone`; returns the bytes stored.
    pub async fn restore_copy(
        &self,
        redundancy: Redundancy,
        f: &FragmentEntry,
        shard: Option<usize>,
        target: NodeId,
        gone: &HashSet<NodeId>,
    ) -> Result<u64, ClientError> {
        let progress = Progress::default();
        let live = FragmentEntry {
            holders: f
                .holders
                .iter()
                .filter(|h| !gone.contains(h))
                .cloned()
                .collect(),
            ..f.clone()
        };
        let (id, bytes, stripe) = match (redundancy, shard) {
            (Redundancy::ReedSolomon { data: k, parity: m }, Some(i)) => {
                // The stripe from a live holder; the shards then come
                // from their holders by position (gone ones fail fast).
                let stripe = self.stripe_of(redundancy, &live, 0, &progress).await?;
                let data = self.fetch_entry(redundancy, f, 0, &progress).await?;
                let algo = stripe.data_id.algo();
                let (again, mut shards) = blocking(move || erasure::encode(algo, &data, k, m))
                    .await?
                    .map_err(|e| ClientError::Bug(format!("coding {}: {e}", f.id)))?;
                if i >= shards.len() || again.shards.get(i) != stripe.shards.get(i) {
                    return Err(ClientError::BadStripe {
                        id: f.id,
                        reason: format!("shard {i} computed again does not match the stripe"),
                    });
                }
                let encoded = Bytes::from(stripe.encode());
                (
                    stripe.shards[i],
                    Bytes::from(shards.swap_remove(i)),
                    Some(encoded),
                )
            }
            _ => {
                let data = self.fetch_entry(redundancy, &live, 0, &progress).await?;
                (f.id, data, None)
            }
        };
        let sent = bytes.len() as u64;
        let stored = self.push_to(target.clone(), id, bytes).await.1;
        let stored = match stripe {
            Some(s) => {
                let len = s.len() as u64;
                stored
                    .and(self.push_to(target, f.id, s).await.1)
                    .map(|_| sent + len)
            }
            None => stored.map(|_| sent),
        };
        stored.map_err(|e| ClientError::Quorum {
            index: 0,
            id,
            copies: 0,
            need: 1,
            errors: e,
        })
    }
}
