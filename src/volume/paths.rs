//! Operations by absolute path: stat, history, `mkdir -p`, and committing a
//! stored file at a path (creating it and its parents), as `fragfs put`
//! and the light client do.

use super::merge::Attempt;
use super::{clock::now, reply, Base, Committed, Durability, Volume, VolumeError};
use crate::{
    fragment::{FragmentId, Manifest},
    meta::{
        Attr, Author, Caller, Command, Context, FsError, Ino, Kind, Mark, Query, Version, ROOT,
    },
};

/// Splits an absolute path into its parent and last component.
pub(super) fn split(path: &str) -> Result<(&str, &str), VolumeError> {
    let p = path.trim_end_matches('/');
    if !p.starts_with('/') || p.is_empty() {
        return Err(VolumeError::Fs(FsError::Invalid));
    }
    let i = p.rfind('/').unwrap_or(0);
    let parent = if i == 0 { "/" } else { &p[..i] };
    Ok((parent, &p[i + 1..]))
}

impl Volume {
    /// The attributes of what `path` names (symlinks followed).
    pub async fn stat(&self, path: &str) -> Result<Attr, VolumeError> {
        let q = Query::Stat {
            path: path.to_string(),
        };
        reply::attr(self.read(q).await?.reply)
    }

    /// A file's attributes and every version, oldest first.
    pub async fn history(&self, path: &str) -> Result<(Attr, Vec<Version>), VolumeError> {
        let q = Query::History {
            path: path.to_string(),
        };
        reply::history(self.read(q).await?.reply)
    }

    /// Version `id` of the file at `path`.
    pub async fn version(&self, path: &str, id: u64) -> Result<Version, VolumeError> {
        let (_, versions) = self.history(path).await?;
        versions
            .into_iter()
            .find(|v| v.id == id)
            .ok_or(VolumeError::Fs(FsError::NotFound))
    }

    /// The file id (manifest id) of the head version at `path`.
    pub async fn head_id(&self, path: &str) -> Result<FragmentId, VolumeError> {
        Ok(self.head_manifest(path).await?.id())
    }

    /// The manifest of the head version of the file at `path`, as the
    /// namespace records it.
    pub async fn head_manifest(&self, path: &str) -> Result<Manifest, VolumeError> {
        let (attr, mut versions) = self.history(path).await?;
        match versions.pop() {
            Some(v) => Ok(v.manifest),
            None if attr.kind == Kind::Dir => Err(VolumeError::Fs(FsError::IsDir)),
            None => Err(VolumeError::Meta(crate::meta::MetaError::Other(format!(
                "{path} has no content yet"
            )))),
        }
    }

    /// `mkdir -p PATH` as root: the inode of the directory.
    pub async fn mkdir_p(&self, path: &str) -> Result<Ino, VolumeError> {
        if !path.starts_with('/') {
            return Err(VolumeError::Fs(FsError::Invalid));
        }
        self.make_dirs(path, Caller::ROOT).await
    }

    async fn make_dirs(&self, path: &str, caller: Caller) -> Result<Ino, VolumeError> {
        let mut ino = ROOT;
        let mut so_far = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            so_far.push('/');
            so_far.push_str(part);
            let cmd = Command::Mkdir {
                parent: ino,
                name: part.to_string(),
                perm: 0o755,
                caller,
                now: now(),
            };
            ino = match self.write(cmd).await {
                Ok(r) => reply::changed(r)?.ino,
                Err(VolumeError::Fs(FsError::Exists)) => {
                    let a = self.stat(&so_far).await?;
                    if a.kind != Kind::Dir {
                        return Err(VolumeError::Fs(FsError::NotDir));
                    }
                    a.ino
                }
                Err(e) => return Err(e),
            };
        }
        Ok(ino)
    }

    /// The inode of the regular file at `path` and its head, creating the
    /// file (empty) if it is missing.
    async fn file_at(
        &self,
        dir: Ino,
        path: &str,
        name: &str,
    ) -> Result<(Ino, Option<Base>), VolumeError> {
        for _ in 0..5 {
            match self.history(path).await {
                Ok((attr, versions)) => return Ok((attr.ino, versions.last().map(Base::from))),
                Err(VolumeError::Fs(FsError::NotFound)) => {}
                Err(e) => return Err(e),
            }
            let cmd = Command::Create {
                parent: dir,
                name: name.to_string(),
                perm: 0o644,
                caller: Caller::ROOT,
                now: now(),
            };
            match self.write(cmd).await {
                Ok(r) => return Ok((reply::changed(r)?.ino, None)),
                // Created by someone else meanwhile: read it again.
                Err(VolumeError::Fs(FsError::Exists)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(VolumeError::Fs(FsError::Exists))
    }

    /// Makes `manifest` (whose fragments are stored) the newest version of
    /// the file at `path`, creating the file and its parent directories as
    /// needed, as root.
    pub async fn commit_at_path(
        &self,
        path: &str,
        manifest: Manifest,
    ) -> Result<Committed, VolumeError> {
        let (parent, name) = split(path)?;
        let dir = self.make_dirs(parent, Caller::ROOT).await?;
        let (ino, base) = self.file_at(dir, path, name).await?;
        self.commit(ino, base, manifest, Caller::ROOT, Durability::Visible)
            .await
    }
}

impl Volume {
    /// Brings back a file deleted while `manifest` was being written on
    /// version `based_on` of it: a new file at `path` (its directories made
    /// again as needed) holding the change, marked resurrected. When the
    /// name was taken since, the change comes back beside it under a
    /// conflict copy's name. Returns the new file's inode and its version.
    pub async fn resurrect(
        &self,
        path: &str,
        based_on: Option<Base>,
        manifest: Manifest,
        caller: Caller,
        perm: u16,
    ) -> Result<(Ino, Committed), VolumeError> {
        let (parent, name) = split(path)?;
        let dir = self.make_dirs(parent, caller).await?;
        let ctx = Context::default();
        let attr = match self
            .create(dir, name.to_string(), perm, caller, ctx.clone())
            .await
        {
            Err(VolumeError::Fs(FsError::Exists)) => {
                let secs = now().secs;
                let author = Author {
                    peer: self.author().to_string(),
                    uid: caller.uid,
                };
                let beside = crate::version::conflict_name(name, secs, author.short());
                self.create(dir, beside, perm, caller, ctx).await?
            }
            other => other?,
        };
        let first = Attempt {
            mark: Some(Mark::Resurrected),
            ..Attempt::stored(None, manifest, None)
        };
        let c = self
            .commit_from(attr.ino, based_on, first, caller, Durability::Visible)
            .await?;
        Ok((attr.ino, c))
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn t10_split_paths() {
        assert_eq!(split("/a/b").ok(), Some(("/a", "b")));
        assert_eq!(split("/a/").ok(), Some(("/", "a")));
        assert!(split("a/b").is_err());
        assert!(split("/").is_err());
    }
}
