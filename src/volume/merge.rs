//! What a commit becomes when its base went stale: the file's merge policy
//! applied to the three versions (the writer's base, ours, the head
//! committed since), with the contents fetched and verified when the
//! planner asks for them. The decision itself is `crate::version` (pure);
//! this file does its IO: the history, the policy attribute, the three
//! contents, the merged text's fragments, the conflict copy's place.

use super::{reply, Base, Committed, Volume, VolumeError};
use crate::meta::proofs::SealedKey;
use crate::{
    fragment::{Manifest, NO_FILE_HASH},
    meta::{find_version, Attr, ConflictCopy, Ino, Mark, Query, Version},
    version::{self, Merged, Plan, Policy, Resolution, Side, TextMerge},
};
use bytes::Bytes;
use std::time::Instant;

/// The next thing [`Volume::commit`] does after meeting a stale base.
pub(super) enum Step {
    /// The head already holds everything ours changed: nothing to commit.
    Done(Committed),
    /// Commit this on top of the head.
    Commit(Attempt),
}

/// One try of a commit: what it sends.
#[derive(Clone, Debug)]
pub(super) struct Attempt {
    /// The head it must replace.
    pub head: Option<Base>,
    pub manifest: Manifest,
    pub mark: Option<Mark>,
    pub copy: Option<ConflictCopy>,
    /// When the writer last stored or refreshed every fragment of
    /// `manifest`; None when unknown (they are refreshed before the commit:
    /// see `commit::REFRESH_AFTER`).
    pub stored_at: Option<Instant>,
    /// The content key `manifest`'s fragments are sealed with, wrapped
    /// for the group (None: plaintext).
    pub key: Option<SealedKey>,
}

impl Attempt {
    /// A commit of `manifest` on `head`, its fragments stored at
    /// `stored_at` (None: unknown).
    pub fn stored(head: Option<Base>, manifest: Manifest, stored_at: Option<Instant>) -> Self {
        Attempt {
            head,
            manifest,
            mark: None,
            copy: None,
            stored_at,
            key: None,
        }
    }
}

impl Volume {
    /// One absolute path of `ino` (its first link).
    pub async fn path_of(&self, ino: Ino) -> Result<String, VolumeError> {
        reply::path(self.read(Query::PathOf { ino }).await?.reply)
    }

    /// Decides what to commit now that `ours`, written on `base`, met a
    /// head committed since. `copy_n` numbers the conflict copy's name
    /// (2, 3… when the first choices were taken).
    pub(super) async fn resolve_stale(
        &self,
        ino: Ino,
        base: Option<Base>,
        ours: &Manifest,
        key: Option<&SealedKey>,
        copy_n: u32,
    ) -> Result<Step, VolumeError> {
        let sealed = key.is_some();
        let key = key.cloned();
        let q = Query::HistoryOf { ino };
        let (attr, versions) = reply::history(self.read(q).await?.reply)?;
        let Some(theirs) = versions.last() else {
            return Ok(Step::Commit(Attempt {
                key,
                ..Attempt::stored(None, ours.clone(), None)
            }));
        };
        let head = Some(Base::from(theirs));
        let base_manifest = base
            .and_then(|b| find_version(&versions, b.version))
            .map_or_else(|| ours.emptied(), |v| v.manifest.clone());
        let policy = self.policy_of(ino).await?;
        let plan = version::plan(&base_manifest, ours, &theirs.manifest);
        let text = match (&plan, policy) {
            (Plan::NeedsContent { .. }, Policy::Merge) if !sealed => {
                self.merge_contents(&base_manifest, ours, &theirs.manifest)
                    .await
            }
            _ => None,
        };
        let with = theirs.id;
        let commit = |manifest: Manifest, mark: Option<Mark>| {
            Ok(Step::Commit(Attempt {
                head,
                stored_at: None,
                manifest,
                mark,
                copy: None,
                key: key.clone(),
            }))
        };
        let resolution = match version::resolve(policy, plan, text) {
            // Fragments sealed under two keys never make one version.
            Resolution::Merged(Merged::Fragments { .. }) if sealed => {
                Resolution::ConflictCopy(version::ConflictReason::Sealed)
            }
            r => r,
        };
        match resolution {
            Resolution::Merged(Merged::Take(Side::Theirs)) => Ok(Step::Done(kept(theirs, attr))),
            Resolution::Merged(Merged::Take(Side::Ours)) if ours.same_bytes(&theirs.manifest) => {
                Ok(Step::Done(kept(theirs, attr)))
            }
            Resolution::Merged(Merged::Take(Side::Ours)) => commit(ours.clone(), None),
            Resolution::Merged(Merged::Fragments { manifest, .. }) => {
                commit(manifest, Some(Mark::Merged { with }))
            }
            Resolution::Merged(Merged::Text(bytes)) => {
                let manifest = self.store_text(ours, bytes).await?;
                commit(manifest, Some(Mark::Merged { with }))
            }
            Resolution::Override => commit(ours.clone(), Some(Mark::Overrode { version: with })),
            Resolution::ConflictCopy(reason) => {
                tracing::debug!(ino, %reason, "no clean merge: keeping the other side as a copy");
                let copy = self.copy_place(ino, theirs, copy_n).await?;
                Ok(Step::Commit(Attempt {
                    head,
                    stored_at: None,
                    manifest: ours.clone(),
                    mark: Some(Mark::Conflict {
                        with,
                        copy: 0,
                        copy_name: String::new(),
                    }),
                    copy: Some(copy),
                    key,
                }))
            }
        }
    }

    /// The line merge of the three whole contents, each fetched and
    /// verified; None when one could not be fetched (the caller keeps a
    /// conflict copy: nothing is lost).
    async fn merge_contents(
        &self,
        base: &Manifest,
        ours: &Manifest,
        theirs: &Manifest,
    ) -> Option<TextMerge> {
        let (b, o, t) = tokio::join!(
            self.read_range(base, 0, base.size),
            self.read_range(ours, 0, ours.size),
            self.read_range(theirs, 0, theirs.size),
        );
        let (b, o, t) = match (b, o, t) {
            (Ok(b), Ok(o), Ok(t)) => (b, o, t),
            (b, o, t) => {
                let e = [b.err(), o.err(), t.err()].into_iter().flatten().next();
                tracing::warn!(error = ?e, "a version to merge could not be fetched");
                return None;
            }
        };
        tokio::task::spawn_blocking(move || version::merge_text(&b, &o, &t))
            .await
            .ok()
    }

    /// Cuts a merged text into fragments shaped like `like`'s (size,
    /// algorithm, redundancy), stores them and returns its manifest.
    async fn store_text(&self, like: &Manifest, text: Vec<u8>) -> Result<Manifest, VolumeError> {
        let client = self.client();
        let cands = client.placement_candidates().await;
        let fsz = like.fragment_size.get() as usize;
        let text = Bytes::from(text);
        let mut fragments = Vec::with_capacity(text.len().div_ceil(fsz));
        for (i, start) in (0..text.len()).step_by(fsz).enumerate() {
            let piece = text.slice(start..(start + fsz).min(text.len()));
            let e = client
                .put_fragment_as(i as u64, like.hash_algo, piece, &cands)
                .await?;
            fragments.push(e);
        }
        Ok(Manifest {
            size: text.len() as u64,
            file_sha3: NO_FILE_HASH,
            fragments,
            ..like.clone()
        })
    }

    /// Where the conflict copy of `theirs` goes: beside the file, named
    /// after it, the time of theirs and its author.
    async fn copy_place(
        &self,
        ino: Ino,
        theirs: &Version,
        n: u32,
    ) -> Result<ConflictCopy, VolumeError> {
        let path = self.path_of(ino).await?;
        let (dir, name) = super::paths::split(&path)?;
        let parent = self.stat(dir).await?.ino;
        let secs = i64::try_from(theirs.hlc.wall_ms / 1000).unwrap_or(i64::MAX);
        // Named after the name a member sees, sealed again in an encrypted
        // shared directory.
        let shown = self.shown_name(parent, name.to_string()).await?;
        let copy = version::conflict_name_n(&shown, secs, theirs.author.short(), n);
        Ok(ConflictCopy {
            parent,
            name: self.stored_name(parent, copy).await?,
            of_version: theirs.id,
        })
    }
}

/// The head, kept as it is, as what a commit resulted in.
fn kept(theirs: &Version, attr: Attr) -> Committed {
    Committed {
        version: theirs.id,
        hlc: theirs.hlc,
        attr,
        manifest: theirs.manifest.clone(),
        mark: None,
    }
}

#[cfg(test)]
mod tests {

    use crate::volume::test_manifest as manifest;

    #[test]
    fn t10_same_bytes_compares_fragment_ids_in_order() {
        assert!(manifest(b"ab").same_bytes(&manifest(b"ab")));
        assert!(!manifest(b"ab").same_bytes(&manifest(b"ba")));
        assert!(!manifest(b"ab").same_bytes(&manifest(b"abc")));
        let e = manifest(b"abc").emptied();
        assert_eq!((e.size, e.fragments.len()), (0, 0));
        assert_eq!(e.fragment_size, manifest(b"a").fragment_size);
    }
}
