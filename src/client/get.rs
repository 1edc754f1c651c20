//! Getting a file: fetch and check its manifest, then fetch fragments from
//! different holders in parallel (bounded), verify each against its id,
//! write them in order, and check the whole-file SHA3-256 before the output
//! file takes its final name.

use super::{blocking, slices::Part, Client, ClientError, Progress};
use crate::{
    fragment::{FileHasher, FragmentId, Manifest},
    net::{self, PeerId},
    redundancy::NodeId,
    wire::Response,
};
use bytes::Bytes;
use futures::{stream::FuturesUnordered, StreamExt};
use std::{
    collections::{HashSet, VecDeque},
    path::{Path, PathBuf},
    sync::{atomic::Ordering, Arc},
};
use tokio::{io::AsyncWriteExt, sync::mpsc, time::Instant};

/// How many connected peers a fetch asks when neither the manifest nor the
/// DHT named a holder that had the fragment.
const LAST_RESORT_PEERS: usize = 16;

#[derive(Debug, Clone)]
pub struct GetReport {
    pub manifest: Manifest,
    pub peers: usize,
    pub retries: u64,
}

impl Client {
    /// Fetches and decodes the manifest stored under `id`.
    pub async fn fetch_manifest(
        &self,
        id: &FragmentId,
        progress: &Progress,
    ) -> Result<Manifest, ClientError> {
        let bytes = self.fetch_fragment(id, &[], 0, progress).await?;
        Manifest::decode(&bytes).map_err(|e| ClientError::NotAManifest(*id, e))
    }

    /// Gets the file whose manifest id is `id` into `out`. The bytes are
    /// written to a temporary name beside `out` and renamed only once the
    /// whole-file hash matched.
    pub async fn get_file(
        &self,
        id: &FragmentId,
        out: &Path,
        progress: Arc<Progress>,
    ) -> Result<GetReport, ClientError> {
        let manifest = self.fetch_manifest(id, &progress).await?;
        self.get_manifest_file(manifest, out, progress).await
    }

    /// [`Client::get_file`] of a manifest the caller already holds (the
    /// namespace's record of a version).
    pub async fn get_manifest_file(
        &self,
        manifest: Manifest,
        out: &Path,
        progress: Arc<Progress>,
    ) -> Result<GetReport, ClientError> {
        progress.total.store(manifest.size, Ordering::Relaxed);
        let part = part_path(out);
        let mut file = tokio::fs::File::create(&part).await.map_err(io_at(&part))?;
        let result = self.fetch_into(&manifest, &mut file, &progress).await;
        let result = match result {
            Ok(()) => file.sync_all().await.map_err(io_at(&part)),
            Err(e) => Err(e),
        };
        drop(file);
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(e);
        }
        tokio::fs::rename(&part, out).await.map_err(io_at(out))?;
        Ok(GetReport {
            manifest,
            peers: progress.peer_count(),
            retries: progress.retries.load(Ordering::Relaxed),
        })
    }

    async fn fetch_into(
        &self,
        m: &Manifest,
        file: &mut tokio::fs::File,
        progress: &Arc<Progress>,
    ) -> Result<(), ClientError> {
        let (hash_tx, mut hash_rx) = mpsc::channel::<Bytes>(self.cfg.concurrency * 2);
        let hasher = tokio::task::spawn_blocking(move || {
            let mut h = FileHasher::new();
            while let Some(chunk) = hash_rx.blocking_recv() {
                h.update(&chunk);
            }
            h.finish()
        });
        let (this, prog, redundancy) = (self.clone(), progress.clone(), m.redundancy);
        let mut fragments = futures::stream::iter(m.fragments.clone().into_iter().enumerate())
            .map(move |(i, f)| {
                let (this, progress) = (this.clone(), prog.clone());
                async move { this.fetch_entry(redundancy, &f, i, &progress).await }
            })
            .buffered(self.cfg.concurrency.max(1));
        let mut written = 0u64;
        while let Some(data) = fragments.next().await {
            let data = data?;
            file.write_all(&data)
                .await
                .map_err(|source| ClientError::Io {
                    path: "output".into(),
                    source,
                })?;
            written += data.len() as u64;
            progress
                .done
                .fetch_add(data.len() as u64, Ordering::Relaxed);
            if hash_tx.send(data).await.is_err() {
                break;
            }
        }
        drop(fragments);
        drop(hash_tx);
        let got = hasher.await.map_err(|e| ClientError::Bug(e.to_string()))?;
        if written != m.size {
            return Err(ClientError::Bug(format!(
                "wrote {written} bytes, manifest says {}",
                m.size
            )));
        }
        if m.has_file_hash() && got != m.file_sha3 {
            return Err(ClientError::FileHash {
                expected: hex::encode(m.file_sha3),
                got: hex::encode(got),
            });
        }
        Ok(())
    }

    /// Obtains one fragment and verifies it: from the local store when held
    /// here, else from `holders` (starting at position `rotate`, so parallel
    /// fetches spread over peers), then from DHT providers, then from
    /// connected storage peers. A holder that has
    /// not answered after `hedge_after` gets company from the next one; a
    /// copy that fails its hash is discarded and the next holder is asked.
    pub async fn fetch_fragment(
        &self,
        id: &FragmentId,
        holders: &[NodeId],
        rotate: usize,
        progress: &Progress,
    ) -> Result<Bytes, ClientError> {
        self.fetch_part(id, holders, rotate, progress, Part::Whole)
            .await
    }

    /// [`Client::fetch_fragment`] of `part` of the fragment.
    pub(super) async fn fetch_part(
        &self,
        id: &FragmentId,
        holders: &[NodeId],
        rotate: usize,
        progress: &Progress,
        part: Part,
    ) -> Result<Bytes, ClientError> {
        if let Some(store) = self.store.clone() {
            if store.has(id) {
                match self.local_part(store, *id, part).await? {
                    Ok(data) => return Ok(data),
                    Err(e) => {
                        tracing::warn!(fragment = %id, error = %e, "local copy unusable; fetching from peers")
                    }
                }
            }
        }
        let me = self.net.local_peer_id();
        let mut queue: VecDeque<PeerId> = holders
            .iter()
            .filter_map(net::peer_of)
            .filter(|p| *p != me)
            .collect();
        if !queue.is_empty() {
            let n = rotate % queue.len();
            queue.rotate_left(n);
        }
        let mut tried: HashSet<PeerId> = HashSet::new();
        let mut asked_dht = false;
        let mut asked_all = false;
        let mut last = String::from("no holder is known");
        let deadline = Instant::now() + self.cfg.fragment_deadline;
        let mut inflight = FuturesUnordered::new();
        loop {
            if inflight.is_empty() {
                if queue.is_empty() && !asked_dht {
                    asked_dht = true;
                    for p in self.net.find_providers(id, self.cfg.lookup_timeout).await {
                        if p != me && !tried.contains(&p) {
                            queue.push_back(p);
                        }
                    }
                }
                if queue.is_empty() && !asked_all {
                    // Last resort: ask the storage peers we are connected to.
                    asked_all = true;
                    for p in self
                        .net
                        .storage_peers()
                        .await
                        .into_iter()
                        .map(|p| p.peer_id)
                        .take(LAST_RESORT_PEERS)
                    {
                        if p != me && !tried.contains(&p) {
                            queue.push_back(p);
                        }
                    }
                }
                let Some(p) = queue.pop_front() else {
                    return Err(ClientError::Unavailable {
                        id: *id,
                        tried: tried.len(),
                        last,
                    });
                };
                tried.insert(p);
                inflight.push(self.try_part(p, *id, part));
            }
            tokio::select! {
                Some((peer, res)) = inflight.next() => match res {
                    Ok(data) => {
                        progress.add_peer(peer);
                        return Ok(data);
                    }
                    Err((corrupt, e)) => {
                        if corrupt {
                            progress.corrupt.fetch_add(1, Ordering::Relaxed);
                        }
                        tracing::debug!(fragment = %id, %peer, error = %e, "holder failed; trying another");
                        progress.retries.fetch_add(1, Ordering::Relaxed);
                        last = format!("{peer}: {e}");
                    }
                },
                _ = tokio::time::sleep(self.cfg.hedge_after), if !queue.is_empty() => {
                    if let Some(p) = queue.pop_front() {
                        tracing::debug!(fragment = %id, peer = %p, "slow holder; hedging");
                        tried.insert(p);
                        inflight.push(self.try_part(p, *id, part));
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(ClientError::Unavailable { id: *id, tried: tried.len(), last: format!("deadline of {:?} passed; {last}", self.cfg.fragment_deadline) });
                }
            }
        }
    }

    /// Asks one peer for a fragment and checks the answer against the id.
    /// The error says whether the peer sent corrupt bytes.
    pub(super) async fn try_holder(
        &self,
        peer: PeerId,
        id: FragmentId,
    ) -> (PeerId, Result<Bytes, (bool, String)>) {
        self.try_part(peer, id, Part::Whole).await
    }

    /// [`Client::try_holder`] for `part` of the fragment.
    async fn try_part(
        &self,
        peer: PeerId,
        id: FragmentId,
        part: Part,
    ) -> (PeerId, Result<Bytes, (bool, String)>) {
        let res = match self
            .net
            .request(peer, part.request(id), self.cfg.attempt_timeout)
            .await
        {
            Ok(Response::Data { data }) => match blocking(move || part.open(id, data)).await {
                Ok(Some(data)) => Ok(data),
                Ok(None) => {
                    tracing::warn!(fragment = %id, %peer, "peer sent bytes that do not match the fragment id; discarded");
                    Err((
                        true,
                        "sent bytes that do not match the fragment id".to_string(),
                    ))
                }
                Err(e) => Err((false, e.to_string())),
            },
            Ok(Response::NotFound) => Err((false, "does not hold it".into())),
            Ok(Response::Corrupt) => Err((false, "its copy is corrupt".into())),
            Ok(Response::Failed { reason }) | Ok(Response::Rejected { reason }) => {
                Err((false, reason))
            }
            Ok(other) => Err((false, format!("unexpected answer {other:?}"))),
            Err(e) => Err((false, e.to_string())),
        };
        (peer, res)
    }
}

fn io_at(p: &Path) -> impl FnOnce(std::io::Error) -> ClientError {
    let path = p.to_path_buf();
    move |source| ClientError::Io { path, source }
}

/// The temporary name a download is written under, beside its final name.
fn part_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    out.with_file_name(format!(".{name}.fragfs-part"))
}
