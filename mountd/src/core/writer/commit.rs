//! A commit: what a handle changed becomes a new version (changed
//! fragments stored first, then the version committed while a copy of
//! its manifest is stored beside it), and fsync makes it durable on the
//! holders, the manifest's copies included.

use super::{Content, Core, OpError};
use bytes::Bytes;
use fragfs::{
    fragment::{FragmentEntry, Manifest, NO_FILE_HASH},
    meta::{Caller, FsError, Ino},
    redundancy::Candidate,
    volume::{Base, Committed, Durability, VolumeError},
};
use std::{
    collections::HashMap,
    sync::{atomic::Ordering, Arc},
};

impl Core {
    /// Stores everything `c` changed and commits it as a new version of
    /// `ino` by `caller`. Returns whether a version was committed (not when
    /// nothing changed, or when the file was removed meanwhile).
    pub(in crate::core) async fn commit_content(
        &self,
        c: &mut Content,
        ino: Ino,
        caller: Caller,
    ) -> Result<bool, OpError> {
        if !c.changed {
            return Ok(false);
        }
        let ino = c.moved_to.unwrap_or(ino);
        // Fresh candidates for this commit: peers may have come or gone.
        *self.upload_cands.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let keys: Vec<u64> = c.dirty.keys().copied().collect();
        for i in keys {
            self.stage(c, i, false, false).await?;
        }
        let file_sha3 = self.file_hash(c).await;
        let keys: Vec<u64> = c.uploading.keys().copied().collect();
        let mut first_err = None;
        for i in keys {
            if let Err(e) = self.finish_upload(c, i).await {
                first_err.get_or_insert(e);
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        let mut fragments = Vec::with_capacity(c.count() as usize);
        // Holes: one stored fragment of zeros per length.
        let mut holes: HashMap<usize, FragmentEntry> = HashMap::new();
        for i in 0..c.count() {
            let flen = c.frag_len(i);
            let staged = c.staged.get(&i);
            if let Some(e) = staged.filter(|e| e.len as usize == flen) {
                fragments.push(e.clone());
                continue;
            }
            let base = c.base_valid(i);
            let reseal = c.seal.as_ref().is_some_and(|s| s.reseal);
            if let Some((e, valid)) = base.filter(|_| !reseal) {
                if e.len as usize == flen && valid == flen {
                    fragments.push(e.clone());
                    continue;
                }
            }
            let hole = staged.is_none() && base.is_none();
            if let Some(e) = holes.get(&flen).filter(|_| hole) {
                fragments.push(e.clone());
                continue;
            }
            // A hole, a grown tail or a cut fragment: its bytes as they are
            // now.
            let data = Bytes::from(self.materialize(c, i).await?);
            let cands = self.upload_candidates().await;
            let e = self
                .client_for(c.scheme, false)
                .sealed(c.seal.as_ref().map(|s| s.key.clone()))
                .put_fragment_as(i, c.algo, data.clone(), &cands)
                .await?;
            if let Some(s) = &c.seal {
                self.note_sealed(e.id, &s.key);
            }
            c.unsynced.extend(e.holders.iter().cloned());
            self.cache.insert(e.id, data);
            if hole {
                holes.insert(flen, e.clone());
            }
            fragments.push(e);
        }
        let manifest = Manifest {
            name: format!("ino-{ino}"),
            size: c.size,
            fragment_size: fragfs::fragment::FragmentSize::new(c.fsz as u32)
                .unwrap_or(self.volume.client().config().fragment_size),
            hash_algo: c.algo,
            // A plaintext's hash would tell who knows it that it is here.
            file_sha3: match c.seal {
                Some(_) => fragfs::fragment::NO_FILE_HASH,
                None => file_sha3,
            },
            redundancy: c.scheme,
            fragments,
        };
        let cands = self.upload_candidates().await;
        // Sealed: the namespace gets padded lengths, the exact ones go
        // sealed in the key (`fragfs::trust::sizes`).
        let (stored_manifest, key) = self.hide_sizes(c, &manifest)?;
        let manifest = Arc::new(manifest);
        // Nothing uploaded since the last commit: the fragments are the
        // base's (the head's while the base is current) or just stored.
        let stored_at = c.stored_since.unwrap_or_else(std::time::Instant::now);
        // The manifest's copy on the peers (for `get ID`) is stored beside
        // the commit; a close waits for the commit only, an fsync for both.
        let base = c.version.map(|(version, hlc)| Base { version, hlc });
        let (client, copy) = (self.client.clone(), stored_manifest.clone());
        c.manifests
            .push(self.tasks.spawn_result("fuse-manifest", async move {
                client.put_manifest(&copy, &cands).await
            }));
        let committed = self
            .volume
            .commit_stored(
                ino,
                base,
                stored_manifest.clone(),
                caller,
                Durability::Visible,
                fragfs::volume::Stored { at: stored_at, key },
            )
            .await;
        let committed = match committed {
            Err(VolumeError::Fs(FsError::NotFound)) => {
                self.bring_back(c, ino, &manifest, caller).await
            }
            other => other,
        };
        if let Ok(v) = &committed {
            self.saves.served(
                c.moved_to.unwrap_or(ino),
                Base {
                    version: v.version,
                    hlc: v.hlc,
                },
            );
            tracing::debug!(ino, version = v.version, bytes = c.size, "committed");
            self.counters.commits.fetch_add(1, Ordering::Relaxed);
        }
        let committed = match committed {
            Ok(v) if c.seal.is_some() && v.differs_from(&stored_manifest) => {
                // Theirs kept: go on from it, with its exact lengths.
                let head = self.revealed_head(ino, caller).await?;
                Ok(Committed {
                    manifest: head.manifest,
                    ..v
                })
            }
            Ok(v) if c.seal.is_some() => Ok(Committed {
                manifest: (*manifest).clone(),
                ..v
            }),
            other => other,
        };
        c.reap_manifests();
        settle(c, manifest, committed)
    }

    /// The manifest a commit of `c` stores and the key it carries: for a
    /// sealed file, lengths padded and the exact ones sealed in a note.
    fn hide_sizes(
        &self,
        c: &Content,
        manifest: &Manifest,
    ) -> Result<(Manifest, Option<fragfs::meta::proofs::SealedKey>), OpError> {
        let Some(s) = &c.seal else {
            return Ok((manifest.clone(), None));
        };
        let (stored, lens) = fragfs::trust::sizes::hide(manifest);
        let note = fragfs::trust::sizes::seal_lens(&s.key, &lens)
            .map_err(|e| OpError::Bug(format!("sealing a file's lengths: {e}")))?;
        Ok((stored, Some(s.sealed.with_note(&note))))
    }

    /// Makes what `c` stored durable on its holders (after a commit),
    /// the copies of its manifests included.
    pub(in crate::core) async fn sync_content(&self, c: &mut Content) -> Result<(), OpError> {
        c.manifests_stored().await?;
        if c.unsynced.is_empty() {
            return Ok(());
        }
        self.client.sync_holders(c.unsynced.iter().cloned()).await?;
        c.unsynced.clear();
        Ok(())
    }

    /// The whole-file hash when every byte arrived as appends from empty.
    async fn file_hash(&self, c: &mut Content) -> [u8; 32] {
        let size = c.size;
        let fsz = c.fsz;
        let Some(seq) = c.seq.as_ref() else {
            return NO_FILE_HASH;
        };
        if size < seq.fed || size - seq.fed >= fsz {
            c.seq = None;
            return NO_FILE_HASH;
        }
        let tail = if size > seq.fed {
            let i = seq.fed / fsz;
            match c.uploading.get(&i) {
                Some(u) if u.bytes.len() as u64 == size - seq.fed => u.bytes.clone(),
                _ => {
                    c.seq = None;
                    return NO_FILE_HASH;
                }
            }
        } else {
            Bytes::new()
        };
        match c.seq.as_mut() {
            Some(s) => s.finish(tail).await.unwrap_or(NO_FILE_HASH),
            None => NO_FILE_HASH,
        }
    }

    /// Placement candidates, looked up once and kept until the next commit.
    pub(super) async fn upload_candidates(&self) -> Arc<Vec<Candidate>> {
        if let Some(c) = self
            .upload_cands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return c;
        }
        let c = Arc::new(self.volume.client().placement_candidates().await);
        *self.upload_cands.lock().unwrap_or_else(|e| e.into_inner()) = Some(c.clone());
        c
    }
}

/// Records in `c` what a commit did.
fn settle(
    c: &mut Content,
    manifest: Arc<Manifest>,
    committed: Result<Committed, VolumeError>,
) -> Result<bool, OpError> {
    let mut manifest = manifest;
    let done = match committed {
        Ok(v) => {
            c.version = Some((v.version, v.hlc));
            c.stored_since = None;
            // Merged with someone else's change (or theirs kept): the
            // handle goes on from what the head holds now.
            if v.differs_from(&manifest) {
                c.fsz = u64::from(v.manifest.fragment_size.get());
                c.algo = v.manifest.hash_algo;
                c.size = v.manifest.size;
                if !v.manifest.fragments.is_empty() {
                    c.scheme = v.manifest.redundancy;
                }
                manifest = Arc::new(v.manifest);
            }
            true
        }
        // Unlinked while open: nobody can reach this content any more,
        // and close must not fail because of it.
        Err(VolumeError::Fs(FsError::NotFound)) => {
            tracing::debug!("file was removed while open; its last writes are dropped");
            false
        }
        Err(e) => return Err(e.into()),
    };
    c.base = Some(manifest);
    c.base_limit = c.size;
    c.staged.clear();
    c.zeroed.clear();
    c.changed = false;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fragfs::{
        client::ClientError,
        fragment::{FragmentId, FragmentSize, HashAlgo},
        meta::Hlc,
        redundancy::NodeId,
        redundancy::{Redundancy, Replicas},
    };

    fn manifest() -> Arc<Manifest> {
        Arc::new(Manifest {
            name: "f".into(),
            size: 0,
            fragment_size: FragmentSize::new(1 << 16).expect("valid"),
            hash_algo: HashAlgo::Sha3_256,
            file_sha3: NO_FILE_HASH,
            redundancy: Redundancy::Replicas(Replicas::new(1).expect("valid")),
            fragments: vec![],
        })
    }

    fn content() -> Content {
        let one = Redundancy::Replicas(Replicas::new(1).expect("valid"));
        Content::new(None, 1 << 16, HashAlgo::Sha3_256, one)
    }

    #[test]
    fn t10_a_committed_version_is_recorded() {
        let hlc = Hlc {
            wall_ms: 9,
            logical: 0,
            node: 1,
        };
        let mut c = content();
        c.changed = true;
        let committed = Ok(Committed {
            version: 7,
            hlc,
            attr: fragfs::testing::file_attr(2),
            manifest: (*manifest()).clone(),
            mark: None,
        });
        assert!(matches!(settle(&mut c, manifest(), committed), Ok(true)));
        assert_eq!(
            c.version,
            Some((7, hlc)),
            "the handle is on the new version"
        );
        assert!(!c.changed, "nothing left to commit");
    }

    #[tokio::test]
    async fn t20_a_manifest_copy_that_failed_is_reported_by_the_next_fsync_only() {
        let mut c = content();
        let (ok_tx, ok_rx) = tokio::sync::oneshot::channel();
        let (bad_tx, bad_rx) = tokio::sync::oneshot::channel();
        let (slow_tx, slow_rx) = tokio::sync::oneshot::channel();
        c.manifests = vec![ok_rx, bad_rx, slow_rx];
        let holder = NodeId(vec![1; 38]);
        let id = FragmentId::of(HashAlgo::Sha3_256, b"m");
        ok_tx.send(Ok((id, vec![holder.clone()]))).expect("sent");
        let refused = ClientError::Bug("no holder took the manifest".into());
        bad_tx.send(Err(refused)).expect("sent");
        c.reap_manifests();
        assert_eq!(c.manifests.len(), 1, "the copy still running is kept");
        assert!(c.unsynced.contains(&holder), "a stored copy needs a sync");
        slow_tx.send(Ok((id, vec![]))).expect("sent");
        let r = c.manifests_stored().await;
        assert!(matches!(r, Err(OpError::Client(_))), "reported: {r:?}");
        assert!(c.manifests_stored().await.is_ok(), "reported once");
    }
}
