//! New versions of a file: a commit names the version it was written on
//! (its base); when another version was committed since, the base is stale
//! and [`resolve_conflict`] decides what is committed instead. That is the
//! one place a stale base is handled.

use super::{clock::now, reply, Volume, VolumeError};
use crate::{
    fragment::Manifest,
    meta::{Attr, Caller, Command, FsError, Hlc, Ino, Version},
};

/// How many times a commit meets a stale base before it gives up.
const TRIES: usize = 5;

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
}

/// What to commit once the base turned out stale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// The base the next try names.
    pub base: Option<Base>,
    /// The manifest it commits.
    pub manifest: Manifest,
}

/// Decides what to commit when `ours` was written on `base` but the head
/// is now `theirs` (None: the file has no version any more).
///
/// Today's rule: the last writer wins. Ours is committed on top of theirs,
/// and theirs stays in the history (every version is kept).
pub fn resolve_conflict(
    base: Option<Base>,
    ours: &Manifest,
    theirs: Option<&Version>,
) -> Resolution {
    let _ = base;
    Resolution {
        base: theirs.map(Base::from),
        manifest: ours.clone(),
    }
}

impl Volume {
    /// Makes `manifest` (whose fragments are stored) the new head version
    /// of regular file `ino`, by `caller`, written on `base`. A stale base
    /// goes through [`resolve_conflict`].
    pub async fn commit(
        &self,
        ino: Ino,
        base: Option<Base>,
        manifest: Manifest,
        caller: Caller,
        durability: Durability,
    ) -> Result<Committed, VolumeError> {
        let (mut base, mut manifest) = (base, manifest);
        for _ in 0..TRIES {
            match self.commit_once(ino, base, &manifest, caller).await {
                Err(VolumeError::Fs(FsError::Conflict { .. })) => {
                    let (_, theirs) = self.head(ino).await?;
                    let r = resolve_conflict(base, &manifest, theirs.as_ref());
                    (base, manifest) = (r.base, r.manifest);
                }
                Err(e) => return Err(e),
                Ok(c) => {
                    if durability == Durability::Durable {
                        self.client().sync_holders(manifest.holders()).await?;
                    }
                    return Ok(c);
                }
            }
        }
        Err(VolumeError::Fs(FsError::Conflict {
            head: base.map(|b| b.version),
        }))
    }

    /// One try: commits if the head is still `base`.
    async fn commit_once(
        &self,
        ino: Ino,
        base: Option<Base>,
        manifest: &Manifest,
        caller: Caller,
    ) -> Result<Committed, VolumeError> {
        let hlc = self.inner.clock.next(base.map(|b| b.hlc));
        let cmd = Command::CommitVersion {
            ino,
            base: base.map(|b| b.version),
            manifest: manifest.clone(),
            author: self.inner.author.clone(),
            hlc,
            caller,
            now: now(),
        };
        let (version, attr) = reply::committed(self.write(cmd).await?)?;
        Ok(Committed { version, hlc, attr })
    }

    /// Commits the content of version `version` of file `ino` again, as a
    /// new head version (nothing is erased).
    pub async fn revert(
        &self,
        path: &str,
        version: u64,
        caller: Caller,
    ) -> Result<Committed, VolumeError> {
        let (attr, versions) = self.history(path).await?;
        let old = versions
            .iter()
            .find(|v| v.id == version)
            .ok_or(VolumeError::Fs(FsError::NotFound))?;
        let base = versions.last().map(Base::from);
        let manifest = old.manifest.clone();
        self.commit(attr.ino, base, manifest, caller, Durability::Visible)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fragment::{FragmentSize, HashAlgo, NO_FILE_HASH};
    use crate::redundancy::{Redundancy, Replicas};

    fn manifest(size: u64) -> Manifest {
        Manifest {
            name: "f".into(),
            size,
            fragment_size: FragmentSize::new(1 << 20).expect("valid"),
            hash_algo: HashAlgo::Sha3_256,
            file_sha3: NO_FILE_HASH,
            redundancy: Redundancy::Replicas(Replicas::new(1).expect("valid")),
            fragments: vec![],
        }
    }

    fn fragfs_author(peer: &str) -> crate::meta::Author {
        crate::meta::Author {
            peer: peer.into(),
            uid: 0,
        }
    }

    #[test]
    fn t10_a_stale_base_commits_ours_on_top_of_theirs() {
        let hlc = Hlc::default();
        let theirs = Version {
            id: 4,
            parent: Some(3),
            manifest: manifest(9),
            author: fragfs_author("them"),
            hlc,
            based_on: Some(3),
            mark: None,
            owners: vec![],
        };
        let base = Some(Base { version: 3, hlc });
        let r = resolve_conflict(base, &manifest(1), Some(&theirs));
        assert_eq!(r.base, Some(Base { version: 4, hlc }));
        assert_eq!(r.manifest, manifest(1));
        assert_eq!(resolve_conflict(base, &manifest(1), None).base, None);
    }
}
