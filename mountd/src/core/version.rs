//! Reading a file's past versions: the versions of a file, and a read-only
//! handle on any one of them. Such a handle is an ordinary [`OpenFile`]
//! whose `head` is the chosen version, so its reads share the fragment
//! cache, readahead and verification with every other read.

use super::{Core, OpenFile};
use crate::errno::OpError;
use fragfs::meta::{Attr, Caller, DirEntry, Ino, Version};

impl Core {
    /// The attributes of the file at namespace path `path` and every version
    /// it has, oldest first.
    pub async fn versions(&self, path: &str) -> Result<(Attr, Vec<Version>), OpError> {
        Ok(self.volume.history(path).await?)
    }

    /// The attributes and every version of file `ino` (found by its path
    /// as the namespace stores it: sealed names stay sealed).
    pub async fn versions_of(&self, ino: Ino) -> Result<(Attr, Vec<Version>), OpError> {
        let path = self.volume.path_of(ino).await?;
        self.versions(&path).await
    }

    /// Whether `ino` lies in an encrypted shared directory (its names
    /// sealed).
    pub async fn names_sealed(&self, ino: Ino) -> Result<bool, OpError> {
        Ok(self.volume.name_key(ino).await?.is_some())
    }

    /// Directory `ino`'s entries with their attributes, under the names a
    /// caller sees.
    pub async fn entries(&self, ino: Ino) -> Result<Vec<(DirEntry, Attr)>, OpError> {
        let entries = self.listed(ino).await?;
        self.shown(ino, entries).await
    }

    /// Opens `version` for reading, as `caller`: a handle like one
    /// [`Core::open`] gives read-only, on that version instead of the head.
    /// The handle belongs to inode `attr.ino`; the history tree passes its
    /// own (virtual) attributes, so the handle stays apart from the real
    /// file's (page cache, unlinked files, writers).
    /// A version of file `file` is served only when its proof holds, and
    /// a sealed one opens with the key the caller's user unwraps.
    pub async fn open_version(
        &self,
        file: Ino,
        attr: Attr,
        version: Version,
        caller: Caller,
    ) -> Result<u64, OpError> {
        let version = match self.volume.version_key(file, &version).await? {
            Some(sealed) => self.reveal(caller.uid, version, &sealed).await?.0,
            None => version,
        };
        Ok(self.add_handle(OpenFile::new(attr, caller, Some(version), None)))
    }
}
