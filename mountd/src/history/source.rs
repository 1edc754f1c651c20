//! Where the history tree gets its facts: the one adapter between the tree
//! and the rest of the mount. Everything the tree knows of the namespace
//! and of file contents comes through these few functions, so moving the
//! tree onto another data API touches only this file.

use crate::{core::Core, errno::OpError};
use fragfs::meta::{Attr, Caller, FsError, Ino, Kind, Version};
use std::sync::Arc;

/// One version of a file as the tree lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    pub number: u64,
    /// The version's hybrid-logical wall time, ms since the epoch.
    pub wall_ms: u64,
    pub size: u64,
}

impl VersionInfo {
    fn of(v: &Version) -> Self {
        VersionInfo {
            number: v.id,
            wall_ms: v.hlc.wall_ms,
            size: v.manifest.size,
        }
    }
}

/// An entry of a real directory: its name and attributes.
pub type Entry = (String, Attr);

pub struct Source {
    core: Arc<Core>,
}

fn not_found() -> OpError {
    OpError::Meta(FsError::NotFound.into())
}

impl Source {
    pub fn new(core: Arc<Core>) -> Self {
        Source { core }
    }

    /// The attributes of real inode `ino`.
    pub async fn attr(&self, ino: Ino) -> Result<Attr, OpError> {
        self.core.getattr(ino).await
    }

    /// Entry `name` of real directory `parent`.
    pub async fn child(&self, parent: Ino, name: &str) -> Result<Attr, OpError> {
        self.core.lookup(parent, name.to_string()).await
    }

    /// The entries of real directory `ino`.
    pub async fn entries(&self, ino: Ino) -> Result<Vec<Entry>, OpError> {
        let all = self.core.entries(ino).await?;
        Ok(all.into_iter().map(|(e, a)| (e.name, a)).collect())
    }

    /// The attributes and versions of the regular file `ino`, found at
    /// namespace `path`. Not found when the path now names another inode
    /// (the file was renamed or removed since the tree saw it there).
    pub async fn versions(
        &self,
        path: &str,
        ino: Ino,
    ) -> Result<(Attr, Vec<VersionInfo>), OpError> {
        let (attr, versions) = self.file_versions(path, ino).await?;
        let versions = match self.core.names_sealed(ino).await? {
            true => self.core.exact_versions(ino, versions).await,
            false => versions,
        };
        Ok((attr, versions.iter().map(VersionInfo::of).collect()))
    }

    /// Opens version `number` of file `ino` (at `path`) for reading; the
    /// handle answers as `node`, the tree's attributes of that version.
    pub async fn open_version(
        &self,
        path: &str,
        ino: Ino,
        number: u64,
        node: Attr,
        caller: Caller,
    ) -> Result<u64, OpError> {
        let (_, versions) = self.file_versions(path, ino).await?;
        let v = versions
            .into_iter()
            .find(|v| v.id == number)
            .ok_or_else(not_found)?;
        self.core.open_version(ino, node, v, caller).await
    }

    async fn file_versions(&self, path: &str, ino: Ino) -> Result<(Attr, Vec<Version>), OpError> {
        let (attr, versions) = match self.core.versions(path).await {
            Ok(found) => found,
            // In an encrypted shared directory the namespace knows the
            // path only under its sealed names.
            Err(e) if self.core.names_sealed(ino).await? => {
                match self.core.versions_of(ino).await {
                    Ok(found) => found,
                    Err(_) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        if attr.ino != ino || attr.kind != Kind::File {
            return Err(not_found());
        }
        Ok((attr, versions))
    }
}
