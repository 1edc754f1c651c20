//! Answering other peers: `get` reads and verifies from the store, `put`
//! verifies and stores then announces, `has` checks presence, `stat` tells
//! the store's use and capacity. Store IO runs on
//! the blocking pool; at most [`MAX_CONCURRENT`] requests are served at once.

use super::Shared;
use crate::worker::{Backoff, Worker};
use crate::{
    fragment::FragmentId,
    net::Inbound,
    store::{FragmentStore, StoreError},
    task::Tasks,
    wire::{Request, Response},
};
use bytes::Bytes;
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, Semaphore};

pub const MAX_CONCURRENT: usize = 64;

pub(super) async fn serve(shared: Arc<Shared>, mut inbound: mpsc::Receiver<Inbound>, tasks: Tasks) {
    let limit = Arc::new(Semaphore::new(MAX_CONCURRENT));
    while let Some(req) = inbound.recv().await {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break;
        };
        let shared = shared.clone();
        tasks.spawn("serve-request", async move {
            // A member admitted since the gate was last set is already in
            // a voter's replica.
            let member =
                shared.gatekeeper.answers(&req.peer) || shared.meta.is_local_member(&req.peer);
            let response = if member {
                answer(&shared, req.request).await
            } else {
                tracing::warn!(peer = %req.peer, "refused a fragment request from a non-member");
                Response::Rejected {
                    reason: "not a member of this network".into(),
                }
            };
            req.reply.send(response).await;
            drop(permit);
        });
    }
}

/// Answers a read of fragment `id` done by `get` on the blocking pool: its
/// bytes, or what kept them from being served (a corrupt copy is no longer
/// announced, and the scrubber is woken to replace it).
async fn read(
    shared: &Shared,
    id: FragmentId,
    get: impl FnOnce() -> Result<Vec<u8>, StoreError> + Send + 'static,
    lie_from: usize,
) -> Response {
    match tokio::task::spawn_blocking(get).await {
        Ok(Ok(mut data)) => {
            let from = lie_from.min(data.len());
            shared.switches.tamper(&mut data[from..]);
            Response::Data {
                data: Bytes::from(data),
            }
        }
        Ok(Err(StoreError::NotFound(_))) => Response::NotFound,
        Ok(Err(StoreError::Corrupt { .. })) => {
            shared.net.unprovide(&id).await;
            shared.scrub.wake();
            Response::Corrupt
        }
        Ok(Err(e)) => Response::Failed {
            reason: e.to_string(),
        },
        Err(e) => failed(e),
    }
}

async fn answer(shared: &Shared, request: Request) -> Response {
    let Some(store) = shared.store.clone() else {
        return Response::Rejected {
            reason: "this peer stores nothing".into(),
        };
    };
    match request {
        Request::Get { id } => {
            shared.switches.stall().await;
            read(shared, id, move || store.get(&id), 0).await
        }
        Request::GetSlice { id, start, len } => {
            shared.switches.stall().await;
            // A lie changes what follows the slice's 8-byte length.
            read(shared, id, move || store.get_slice(&id, start, len), 8).await
        }
        Request::Put { id, data } => put(shared, store, id, data, true).await,
        Request::PutBuffered { id, data } => put(shared, store, id, data, false).await,
        Request::Sync => match tokio::task::spawn_blocking(move || store.sync()).await {
            Ok(Ok(())) => Response::Synced,
            Ok(Err(e)) => Response::Failed {
                reason: e.to_string(),
            },
            Err(e) => failed(e),
        },
        Request::Stat => {
            let u = store.usage();
            Response::Usage {
                used: u.used,
                capacity: u.capacity,
            }
        }
        Request::Touch { ids } => {
            match tokio::task::spawn_blocking(move || {
                crate::client::touch_with_shards(&store, &ids)
            })
            .await
            {
                Ok(Ok(present)) => Response::Has { present },
                Ok(Err(e)) => Response::Failed {
                    reason: e.to_string(),
                },
                Err(e) => failed(e),
            }
        }
        Request::Has { ids } => {
            match tokio::task::spawn_blocking(move || ids.iter().map(|id| store.has(id)).collect())
                .await
            {
                Ok(present) => Response::Has { present },
                Err(e) => failed(e),
            }
        }
    }
}

fn failed(e: tokio::task::JoinError) -> Response {
    Response::Failed {
        reason: e.to_string(),
    }
}

/// Stores a fragment a peer sent; `durable` waits for the disk (else the
/// next `Sync` does).
async fn put(
    shared: &Shared,
    store: Arc<FragmentStore>,
    id: FragmentId,
    data: Bytes,
    durable: bool,
) -> Response {
    match tokio::task::spawn_blocking(move || store.put_as(&id, &data, durable)).await {
        Ok(Ok(_)) => {
            shared.net.provide(&id).await;
            Response::Stored
        }
        Ok(Err(StoreError::Full { .. })) => Response::Full,
        Ok(Err(e @ StoreError::HashMismatch(_))) => Response::Rejected {
            reason: e.to_string(),
        },
        Ok(Err(e)) => Response::Failed {
            reason: e.to_string(),
        },
        Err(e) => failed(e),
    }
}

/// Announces every held fragment in the DHT: at once (so the node answers
/// provider lookups for what it holds from its first second) and again once
/// it has a storage peer to publish the records to, as after a restart.
pub(super) async fn announce_held(shared: Arc<Shared>, w: Worker) {
    let Some(store) = shared.store.clone() else {
        return;
    };
    let mut backoff = Backoff::default();
    let ids = loop {
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.list()).await {
            Ok(Ok(ids)) => break ids,
            Ok(Err(e)) => {
                let wait = backoff.failure();
                w.failed(format!("cannot list the store to announce it: {e}"), wait);
                tokio::time::sleep(wait).await;
            }
            Err(_) => return,
        }
    };
    w.busy(Some(ids.len() as u64));
    for id in &ids {
        shared.net.provide(id).await;
    }
    w.idle();
    while shared.net.storage_peers().await.is_empty() {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tracing::info!(fragments = ids.len(), "announcing held fragments");
    w.busy(Some(ids.len() as u64));
    for id in &ids {
        shared.net.provide(id).await;
        w.advance(1);
    }
    w.idle();
}
