//! Reverting a file: the content of an old version committed again as a
//! new head, marked [`Mark::Reverted`] (nothing is erased).

use super::{clock::now, reply, Committed, Volume, VolumeError};
use crate::meta::{find_version, Author, Caller, Command, CommitCmd, FsError, Mark, MetaError};

/// How many times a revert meets a head that moved before it gives up.
const TRIES: usize = 5;

impl Volume {
    /// Commits the content of version `to` of the file at `path` as a new
    /// head version by `caller`, marked as reverted to `to`. A head that
    /// moved meanwhile is simply built on: a revert means "make the
    /// content that of version `to`".
    pub async fn revert_to(
        &self,
        path: &str,
        to: u64,
        caller: Caller,
    ) -> Result<Committed, VolumeError> {
        for _ in 0..TRIES {
            let (attr, versions) = self.history(path).await?;
            let Some(old) = find_version(&versions, to) else {
                return Err(VolumeError::Meta(MetaError::Other(format!(
                    "{path} has no version {to} (it has {})",
                    match versions.last() {
                        Some(h) => format!("versions 1 to {}", h.id),
                        None => "none".to_string(),
                    }
                ))));
            };
            let head = versions.last();
            let hlc = self.inner.clock.next(head.map(|h| h.hlc));
            let cmd = Command::Commit(CommitCmd {
                ino: attr.ino,
                base: head.map(|h| h.id),
                based_on: head.map(|h| h.id),
                manifest: old.manifest.clone(),
                author: Author {
                    peer: self.inner.author.clone(),
                    uid: caller.uid,
                },
                hlc,
                caller,
                now: now(),
                mark: Some(Mark::Reverted { to }),
                copy: None,
            });
            match self.write(cmd).await {
                Err(VolumeError::Fs(FsError::Conflict { .. })) => continue,
                Err(e) => return Err(e),
                Ok(r) => {
                    let (version, attr) = reply::committed(r)?;
                    return Ok(Committed { version, hlc, attr });
                }
            }
        }
        Err(VolumeError::Fs(FsError::Conflict { head: None }))
    }
}
