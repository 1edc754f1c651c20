//! Putting a file: read it fragment by fragment, hash each fragment on the
//! blocking pool (several at once), place each on the R peers closest to its
//! id, and store the manifest the same way once every fragment reached its
//! quorum (fragments first, manifest second).

use super::{blocking, Client, ClientError, Progress};
use crate::{
    fragment::{FileHasher, FragmentEntry, FragmentId, HashAlgo, Manifest},
    net::{self, PeerId},
    redundancy::{rank_by_closeness, Candidate, NodeId, Redundancy},
    wire::{Request, Response},
};
use bytes::Bytes;
use futures::{stream::FuturesUnordered, StreamExt, TryStreamExt};
use std::{io::Read, path::Path, sync::atomic::Ordering, sync::Arc, time::Duration};
use tokio::sync::mpsc;

/// What a put did.
#[derive(Debug, Clone)]
pub struct PutReport {
    /// The file's id: the id of its manifest.
    pub id: FragmentId,
    pub manifest: Manifest,
    /// Fewest copies any fragment (or the manifest) got.
    pub min_copies: usize,
}

impl Client {
    /// The peers a fragment may be placed on: connected storage peers and,
    /// on a storage node, this node. Looks for more peers through the DHT
    /// when fewer than the replica count are known.
    pub async fn placement_candidates(&self) -> Vec<Candidate> {
        let want = self
            .cfg
            .replicas
            .get()
            .max(self.cfg.scheme().peers_needed());
        let mut peers = self.net.storage_peers().await;
        let own = usize::from(self.store.is_some());
        if peers.len() + own < want {
            self.net.discover(Duration::from_secs(5)).await;
            peers = self.net.storage_peers().await;
        }
        let mut out: Vec<Candidate> = peers
            .iter()
            .map(|p| Candidate {
                node: net::node_id(&p.peer_id),
                key: net::dht_key_of_peer(&p.peer_id),
            })
            .collect();
        if self.store.is_some() {
            let me = self.net.local_peer_id();
            out.push(Candidate {
                node: net::node_id(&me),
                key: net::dht_key_of_peer(&me),
            });
        }
        out
    }

    /// Stores the file at `path` under `name` (default: its file name).
    pub async fn put_file(
        &self,
        path: &Path,
        name: Option<String>,
        progress: Arc<Progress>,
    ) -> Result<PutReport, ClientError> {
        let io = |source| ClientError::Io {
            path: path.to_path_buf(),
            source,
        };
        let opened = std::fs::File::open(path).and_then(|f| {
            let meta = f.metadata()?;
            if meta.is_file() {
                Ok((f, meta.len()))
            } else {
                Err(std::io::Error::other("not a regular file"))
            }
        });
        let (file, len) = opened.map_err(io)?;
        let name = name.unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".into())
        });
        self.put_reader(file, len, name, progress).await
    }

    /// Stores `size` bytes read from `reader`.
    pub async fn put_reader<R: Read + Send + 'static>(
        &self,
        reader: R,
        size: u64,
        name: String,
        progress: Arc<Progress>,
    ) -> Result<PutReport, ClientError> {
        let cfg = &self.cfg;
        let need = cfg.peers_needed();
        let candidates = Arc::new(self.placement_candidates().await);
        if candidates.len() < need {
            return Err(ClientError::NotEnoughPeers {
                have: candidates.len(),
                need,
            });
        }
        progress.total.store(size, Ordering::Relaxed);
        let fsz = cfg.fragment_size;
        let count = fsz.count(size);

        // The whole-file hash runs on its own blocking thread, fed in order.
        let (hash_tx, mut hash_rx) = mpsc::channel::<Bytes>(cfg.concurrency * 2);
        let hasher = tokio::task::spawn_blocking(move || {
            let mut h = FileHasher::new();
            while let Some(chunk) = hash_rx.blocking_recv() {
                h.update(&chunk);
            }
            h.finish()
        });

        let chunks = read_chunks(reader, size, fsz.get());
        let algo = cfg.hash;
        let feed = hash_tx.clone();
        let (this, prog, cands) = (self.clone(), progress.clone(), candidates.clone());
        let entries: Vec<FragmentEntry> = chunks
            .then(move |r| {
                let tx = feed.clone();
                async move {
                    let (i, data) = r?;
                    let _ = tx.send(data.clone()).await;
                    Ok::<_, ClientError>((i, data))
                }
            })
            .map_ok(move |(i, data)| {
                let (this, progress, candidates) = (this.clone(), prog.clone(), cands.clone());
                async move {
                    let len = data.len() as u64;
                    let entry = this.put_one(i, algo, data, &candidates, &progress).await?;
                    progress.done.fetch_add(len, Ordering::Relaxed);
                    Ok(entry)
                }
            })
            .try_buffered(cfg.concurrency.max(1))
            .try_collect()
            .await?;
        drop(hash_tx);
        let file_sha3 = hasher.await.map_err(|e| ClientError::Bug(e.to_string()))?;
        if entries.len() as u64 != count {
            return Err(ClientError::Bug(format!(
                "read {} fragments, expected {count}",
                entries.len()
            )));
        }

        let manifest = Manifest {
            name,
            size,
            fragment_size: fsz,
            hash_algo: algo,
            file_sha3,
            redundancy: cfg.scheme(),
            fragments: entries,
        };
        let bytes = Bytes::from(manifest.encode());
        let id = FragmentId::of(HashAlgo::Sha3_256, &bytes);
        let holders = self
            .replicate(count, id, bytes, &candidates, &progress)
            .await?;
        let min_copies = manifest
            .fragments
            .iter()
            .map(|f| f.holders.len())
            .chain([holders.len()])
            .min()
            .unwrap_or(0);
        Ok(PutReport {
            id,
            manifest,
            min_copies,
        })
    }

    /// Stores one fragment (`index` only names it in errors) with the
    /// client's redundancy among `candidates`: hashes it on the blocking
    /// pool with the client's algorithm and places it on the R closest,
    /// or codes it into shards under `rs:K+M` (the entry then names its
    /// stripe).
    pub async fn put_fragment(
        &self,
        index: u64,
        data: Bytes,
        candidates: &[Candidate],
    ) -> Result<FragmentEntry, ClientError> {
        self.put_fragment_as(index, self.cfg.hash, data, candidates)
            .await
    }

    /// [`Client::put_fragment`] with an explicit id algorithm (a version
    /// keeps the algorithm of the file it rewrites).
    pub async fn put_fragment_as(
        &self,
        index: u64,
        algo: HashAlgo,
        data: Bytes,
        candidates: &[Candidate],
    ) -> Result<FragmentEntry, ClientError> {
        let need = self.cfg.peers_needed();
        if candidates.len() < need {
            return Err(ClientError::NotEnoughPeers {
                have: candidates.len(),
                need,
            });
        }
        let plain_len = data.len() as u32;
        let data = self.seal_bytes(data).await?;
        let mut entry = self
            .put_one(index, algo, data, candidates, &Progress::default())
            .await?;
        entry.len = plain_len;
        Ok(entry)
    }

    /// One fragment stored with the client's redundancy: full copies, or
    /// shards and their stripe.
    async fn put_one(
        &self,
        index: u64,
        algo: HashAlgo,
        data: Bytes,
        candidates: &[Candidate],
        progress: &Progress,
    ) -> Result<FragmentEntry, ClientError> {
        if let Redundancy::ReedSolomon { data: k, parity: m } = self.cfg.scheme() {
            return self
                .put_striped(index, algo, data, (k, m), candidates, progress)
                .await;
        }
        let len = data.len() as u32;
        let hashed = data.clone();
        let id = blocking(move || FragmentId::of(algo, &hashed)).await?;
        let holders = self
            .replicate(index, id, data, candidates, progress)
            .await?;
        Ok(FragmentEntry { id, len, holders })
    }

    /// Stores a manifest as a fragment (so `get ID` finds it from any
    /// peer); returns the file id and the manifest's holders.
    pub async fn put_manifest(
        &self,
        manifest: &Manifest,
        candidates: &[Candidate],
    ) -> Result<(FragmentId, Vec<NodeId>), ClientError> {
        let bytes = Bytes::from(manifest.encode());
        let id = FragmentId::of(HashAlgo::Sha3_256, &bytes);
        let holders = self
            .replicate(
                manifest.fragments.len() as u64,
                id,
                bytes,
                candidates,
                &Progress::default(),
            )
            .await?;
        Ok((id, holders))
    }

    /// Makes everything stored so far on `holders` durable (after puts
    /// made with `durable_puts` off), all holders at once.
    pub async fn sync_holders(
        &self,
        holders: impl IntoIterator<Item = NodeId>,
    ) -> Result<(), ClientError> {
        let me = self.net.local_peer_id();
        let mut calls = FuturesUnordered::new();
        for node in holders {
            let Some(peer) = net::peer_of(&node) else {
                continue;
            };
            calls.push(async move {
                let res = if peer == me {
                    match self.store.clone() {
                        Some(store) => blocking(move || store.sync())
                            .await
                            .map_err(|e| e.to_string())
                            .and_then(|r| r.map_err(|e| e.to_string())),
                        None => Ok(()),
                    }
                } else {
                    match self
                        .net
                        .request(peer, Request::Sync, self.cfg.attempt_timeout)
                        .await
                    {
                        Ok(Response::Synced) => Ok(()),
                        Ok(Response::Failed { reason }) | Ok(Response::Rejected { reason }) => {
                            Err(reason)
                        }
                        Ok(other) => Err(format!("unexpected answer {other:?}")),
                        Err(e) => Err(e.to_string()),
                    }
                };
                res.map_err(|reason| ClientError::Sync {
                    peer: peer.to_string(),
                    reason,
                })
            });
        }
        while let Some(r) = calls.next().await {
            r?;
        }
        Ok(())
    }

    /// Places one fragment on the closest candidates until it has R copies
    /// (or no candidate is left), trying the next-closest peer when one
    /// fails. Errors unless the write quorum was reached.
    pub(crate) async fn replicate(
        &self,
        index: u64,
        id: FragmentId,
        data: Bytes,
        candidates: &[Candidate],
        progress: &Progress,
    ) -> Result<Vec<NodeId>, ClientError> {
        let ranked = rank_by_closeness(&net::dht_key_of_fragment(&id), candidates);
        let want = self.cfg.replicas.get();
        let need = self.cfg.write_quorum().get();
        let mut next = 0;
        let mut inflight = FuturesUnordered::new();
        let mut placed: Vec<NodeId> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        while inflight.len() < want && next < ranked.len() {
            inflight.push(self.push_to(ranked[next].clone(), id, data.clone()));
            next += 1;
        }
        while let Some((node, res)) = inflight.next().await {
            match res {
                Ok(()) => placed.push(node),
                Err(e) => {
                    progress.retries.fetch_add(1, Ordering::Relaxed);
                    errors.push(e);
                    if next < ranked.len() && placed.len() + inflight.len() < want {
                        inflight.push(self.push_to(ranked[next].clone(), id, data.clone()));
                        next += 1;
                    }
                }
            }
        }
        if placed.len() < need {
            let errors = if errors.is_empty() {
                "not enough peers".to_string()
            } else {
                errors.join("; ")
            };
            return Err(ClientError::Quorum {
                index,
                id,
                copies: placed.len(),
                need,
                errors,
            });
        }
        // Record holders closest first, as placement ranked them.
        placed.sort_by_key(|n| ranked.iter().position(|r| r == n));
        for n in &placed {
            if let Some(p) = net::peer_of(n) {
                progress.add_peer(p);
            }
        }
        Ok(placed)
    }

    /// Stores one fragment on one peer (or in the local store when the peer
    /// is this node). The error is a one-line description naming the peer.
    pub(super) async fn push_to(
        &self,
        node: NodeId,
        id: FragmentId,
        data: Bytes,
    ) -> (NodeId, Result<(), String>) {
        let Some(peer) = net::peer_of(&node) else {
            return (node, Err("invalid peer id".into()));
        };
        let res = if peer == self.net.local_peer_id() {
            self.store_locally(id, data).await
        } else {
            self.push_remote(peer, id, data).await
        };
        (node, res.map_err(|e| format!("{peer}: {e}")))
    }

    async fn store_locally(&self, id: FragmentId, data: Bytes) -> Result<(), String> {
        let Some(store) = self.store.clone() else {
            return Err("this node has no store".into());
        };
        let durable = self.cfg.durable_puts;
        blocking(move || store.put_verified_as(&id, &data, durable))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.net.provide(&id).await;
        Ok(())
    }

    async fn push_remote(&self, peer: PeerId, id: FragmentId, data: Bytes) -> Result<(), String> {
        let req = if self.cfg.durable_puts {
            Request::Put { id, data }
        } else {
            Request::PutBuffered { id, data }
        };
        match self.net.request(peer, req, self.cfg.attempt_timeout).await {
            Ok(Response::Stored) => Ok(()),
            Ok(Response::Full) => Err("store full".into()),
            Ok(Response::Rejected { reason }) | Ok(Response::Failed { reason }) => Err(reason),
            Ok(other) => Err(format!("unexpected answer {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Reads `size` bytes from `reader` as numbered fragments of `fragment_size`
/// bytes, each read on the blocking pool.
fn read_chunks<R: Read + Send + 'static>(
    reader: R,
    size: u64,
    fragment_size: u32,
) -> impl futures::Stream<Item = Result<(u64, Bytes), ClientError>> {
    let count = size.div_ceil(fragment_size as u64);
    futures::stream::unfold((Some(reader), 0u64), move |(reader, i)| async move {
        let mut reader = reader?;
        if i >= count {
            return None;
        }
        let len = (size - i * fragment_size as u64).min(fragment_size as u64) as usize;
        let r = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; len];
            reader.read_exact(&mut buf).map(|_| (reader, buf))
        })
        .await;
        match r {
            Ok(Ok((reader, buf))) => Some((Ok((i, Bytes::from(buf))), (Some(reader), i + 1))),
            Ok(Err(e)) => {
                let e = ClientError::Io {
                    path: "input".into(),
                    source: e,
                };
                Some((Err(e), (None, count)))
            }
            Err(e) => Some((Err(ClientError::Bug(e.to_string())), (None, count))),
        }
    })
}
