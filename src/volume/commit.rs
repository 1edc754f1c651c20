//! New versions of a file: a commit names the version it was written on
//! (its base); when another version was committed since, the base is stale
//! and `merge` decides what is committed instead. This loop is the one
//! place a stale base is met.

use super::merge::{Attempt, Step};
use super::{clock::now, reply, Volume, VolumeError};
use crate::{
    fragment::Manifest,
    meta::{
        find_version, Attr, Author, Caller, Command, CommitCmd, FsError, Hlc, Ino, Mark, MetaError,
        Version,
    },
};
use std::time::{Duration, Instant};

/// How many times a commit meets a stale base before it gives up.
const TRIES: usize = 5;

/// A fragment stored longer ago than this is refreshed on its holders
/// before a version that refers to it commits, so the stores' collectors
/// keep it (`lifecycle::gc`): a commit relies only on fragments stored or
/// refreshed within the last second. The collectors' grace period
/// (`fragfs node --gc-grace`, at least 5 s) must exceed this plus the
/// slowest commit.
pub const REFRESH_AFTER: Duration = Duration::from_secs(1);

/// The version a writer started from: its number and clock reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Base {
    pub version: u64,
    pub hlc: Hlc,
}

impl From<&Version> for Base {
    fn from(v: &Version) -> Self {
        Base {
            version: v.id,
            hlc: v.hlc,
        }
    }
}

/// What a writer knows of the manifest it commits: when its fragments were
/// stored (at the earliest), and the wrapped content key they are sealed
/// under (None: plaintext).
#[derive(Clone, Debug)]
pub struct Stored {
    pub at: Instant,
    pub key: Option<crate::meta::proofs::SealedKey>,
}

/// What a commit must reach before it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The version is the head, visible to every reader (a close).
    Visible,
    /// Also every fragment of the manifest is on disk on every holder (an
    /// fsync).
    Durable,
}

/// A committed version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// Its number.
    pub version: u64,
    /// Its hybrid-logical-clock reading.
    pub hlc: Hlc,
    /// The file's attributes after the commit.
    pub attr: Attr,
    /// What the head holds now: the writer's manifest, or a merge of it
    /// with versions committed since its base (see [`Committed::differs_from`]).
    pub manifest: Manifest,
    /// What happened beyond a plain commit (a merge, a conflict copy, an
    /// override).
    pub mark: Option<Mark>,
}

impl Committed {
    /// Whether the head holds other bytes than `written` (a merge took in
    /// someone else's change, or their version was kept as it was): a
    /// writer that committed `written` must re-read.
    pub fn differs_from(&self, written: &Manifest) -> bool {
        !self.manifest.same_bytes(written)
    }
}

impl Volume {
    /// Makes `manifest` (whose fragments are stored) the new head version
    /// of regular file `ino`, by `caller`, written on `base`. When another
    /// version was committed since `base`, the file's merge policy decides
    /// what is committed instead (`merge`: a three-way merge, or a conflict
    /// copy of the other side; `lww`: ours, the other recorded as
    /// overridden); nothing anyone wrote is dropped. The fragments are
    /// refreshed on their holders first (their storing time is not known;
    /// see [`Volume::commit_stored`]).
    pub async fn commit(
        &self,
        ino: Ino,
        base: Option<Base>,
        manifest: Manifest,
        caller: Caller,
        durability: Durability,
    ) -> Result<Committed, VolumeError> {
        let first = Attempt::stored(base, manifest, None);
        self.commit_from(ino, base, first, caller, durability).await
    }

    /// [`Volume::commit`] of a manifest a writer stored itself
    /// ([`Stored`]): its fragments are refreshed first only when they were
    /// stored more than [`REFRESH_AFTER`] ago, and a sealed one's key goes
    /// into the version's proof (a stale base is then never merged by
    /// content).
    pub async fn commit_stored(
        &self,
        ino: Ino,
        base: Option<Base>,
        manifest: Manifest,
        caller: Caller,
        durability: Durability,
        stored: Stored,
    ) -> Result<Committed, VolumeError> {
        let first = Attempt {
            key: stored.key,
            ..Attempt::stored(base, manifest, Some(stored.at))
        };
        self.commit_from(ino, base, first, caller, durability).await
    }

    /// Sends `attempt`, then whatever a stale base resolves to, at most
    /// [`TRIES`] times.
    pub(super) async fn commit_from(
        &self,
        ino: Ino,
        base: Option<Base>,
        mut attempt: Attempt,
        caller: Caller,
        durability: Durability,
    ) -> Result<Committed, VolumeError> {
        let ours = attempt.manifest.clone();
        let mut copy_n = 1;
        for _ in 0..TRIES {
            self.refresh_if_old(&mut attempt).await?;
            match self.commit_once(ino, base, &attempt, caller).await {
                Err(VolumeError::Fs(FsError::Conflict { .. })) => {}
                // Another file took the conflict copy's name: the next one.
                Err(VolumeError::Fs(FsError::Exists)) if attempt.copy.is_some() => copy_n += 1,
                Err(e) => return Err(e),
                Ok(c) => {
                    self.report(ino, &c).await;
                    if durability == Durability::Durable {
                        self.client().sync_holders(c.manifest.holders()).await?;
                    }
                    return Ok(c);
                }
            }
            let key = attempt.key.clone();
            attempt = match self
                .resolve_stale(ino, base, &ours, key.as_ref(), copy_n)
                .await?
            {
                Step::Done(c) => return Ok(c),
                Step::Commit(a) => a,
            };
        }
        Err(VolumeError::Fs(FsError::Conflict {
            head: attempt.head.map(|b| b.version),
        }))
    }

    /// Refreshes the fragments of `attempt` on their holders unless they
    /// were stored within [`REFRESH_AFTER`].
    async fn refresh_if_old(&self, attempt: &mut Attempt) -> Result<(), VolumeError> {
        if attempt
            .stored_at
            .is_some_and(|t| t.elapsed() <= REFRESH_AFTER)
        {
            return Ok(());
        }
        let started = Instant::now();
        self.client().refresh(&attempt.manifest.fragments).await?;
        attempt.stored_at = Some(started);
        Ok(())
    }

    /// One try: commits if the head is still `attempt.head`.
    async fn commit_once(
        &self,
        ino: Ino,
        based_on: Option<Base>,
        attempt: &Attempt,
        caller: Caller,
    ) -> Result<Committed, VolumeError> {
        let hlc = self.inner.clock.next(attempt.head.map(|b| b.hlc));
        let commit = CommitCmd {
            ino,
            base: attempt.head.map(|b| b.version),
            based_on: based_on.map(|b| b.version),
            manifest: attempt.manifest.clone(),
            author: Author {
                peer: self.inner.author.clone(),
                uid: caller.uid,
            },
            hlc,
            caller,
            now: now(),
            mark: attempt.mark.clone(),
            copy: attempt.copy.clone(),
        };
        let proof = Box::new(self.prove(&commit, attempt.key.clone()));
        let cmd = Command::SignedCommit { commit, proof };
        let (version, attr) = reply::committed(self.write(cmd).await?)?;
        let mark = match (&attempt.mark, &attempt.copy) {
            // The namespace made the copy; its name is the one sent.
            (Some(Mark::Conflict { with, .. }), Some(copy)) => Some(Mark::Conflict {
                with: *with,
                copy: 0,
                copy_name: copy.name.clone(),
            }),
            (m, _) => m.clone(),
        };
        Ok(Committed {
            version,
            hlc,
            attr,
            manifest: attempt.manifest.clone(),
            mark,
        })
    }

    /// Logs, once, a commit that overrode, conflicted with or resurrected
    /// something (also in the namespace's event log: `fragfs conflicts`).
    async fn report(&self, ino: Ino, c: &Committed) {
        let Some(mark) = c.mark.as_ref().filter(|m| m.is_event()) else {
            return;
        };
        let path = match self.path_of(ino).await {
            Ok(p) => p,
            Err(_) => format!("inode {ino}"),
        };
        let v = c.version;
        match mark {
            Mark::Conflict {
                with, copy_name, ..
            } => tracing::warn!(
                %path,
                "v{v}: conflicting change; v{with} by another writer is kept as {copy_name}"
            ),
            Mark::Overrode { version } => tracing::warn!(
                %path,
                "v{v}: last write wins; v{version} by another writer is overridden (kept in history)"
            ),
            _ => {
                tracing::warn!(%path, "v{v}: the file had been deleted; the change brought it back")
            }
        }
    }

    /// Commits the content of version `version` of the file at `path`
    /// again, as a new head version (nothing is erased).
    pub async fn revert(
        &self,
        path: &str,
        version: u64,
        caller: Caller,
    ) -> Result<Committed, VolumeError> {
        let (attr, versions) = self.history(path).await?;
        let Some(old) = find_version(&versions, version) else {
            let has = match versions.last() {
                Some(h) => format!("versions 1 to {}", h.id),
                None => "none".to_string(),
            };
            return Err(VolumeError::Meta(MetaError::Other(format!(
                "{path} has no version {version} (it has {has})"
            ))));
        };
        let base = versions.last().map(Base::from);
        let first = Attempt {
            mark: Some(Mark::Reverted { to: version }),
            ..Attempt::stored(base, old.manifest.clone(), None)
        };
        self.commit_from(attr.ino, base, first, caller, Durability::Visible)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::volume::test_manifest as manifest;

    fn committed(m: Manifest) -> Committed {
        let attr = Attr {
            ino: 2,
            kind: crate::meta::Kind::File,
            perm: 0o644,
            uid: 0,
            gid: 0,
            size: m.size,
            nlink: 1,
            atime: Default::default(),
            mtime: Default::default(),
            ctime: Default::default(),
            rdev: 0,
        };
        Committed {
            version: 2,
            hlc: Hlc::default(),
            attr,
            manifest: m,
            mark: None,
        }
    }

    #[test]
    fn t10_a_merged_head_differs_from_what_was_written() {
        assert!(!committed(manifest(b"ab")).differs_from(&manifest(b"ab")));
        assert!(committed(manifest(b"ab")).differs_from(&manifest(b"ax")));
        assert!(committed(manifest(b"abc")).differs_from(&manifest(b"ab")));
    }
}
