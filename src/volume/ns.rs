//! Namespace operations by inode: lookups, listings, creating and removing
//! names, attributes, extended attributes and file locks. Each sends one
//! metadata query or command stamped with the wall clock and matches its
//! reply through `reply`.

use super::{clock::now, reply, Volume, VolumeError};
use crate::meta::{
    Attr, Caller, Command, Context, DirEntry, Ino, Kind, Lock, LockCmd, LockKind, LockOwner, Query,
    RenameFlags, Time, Version, XattrMode, Xattrs,
};

/// Attribute changes asked by `setattr` (None: unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetAttrs {
    pub perm: Option<u16>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<Time>,
    pub mtime: Option<Time>,
}

/// What a special file is made of (`mknod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewNode {
    pub kind: Kind,
    pub perm: u16,
    pub rdev: u64,
}

/// `cmd` with the caller's context (groups, umask) when it has any.
fn in_context(ctx: Context, cmd: Command) -> Command {
    if ctx == Context::default() {
        return cmd;
    }
    Command::WithContext {
        ctx,
        cmd: Box::new(cmd),
    }
}

/// One entry of a listing with its attributes and, when small, its
/// extended attributes.
pub type ListedEntry = (DirEntry, Attr, Option<Xattrs>);

/// A head version and the wrapped key its content is sealed under.
pub type SealedHead = (
    Attr,
    Option<(Version, Option<crate::meta::proofs::SealedKey>)>,
);

impl Volume {
    async fn query_with<T>(
        &self,
        q: Query,
        f: impl FnOnce(crate::meta::QueryReply) -> Result<T, VolumeError>,
    ) -> Result<T, VolumeError> {
        f(self.read(q).await?.reply)
    }

    async fn command_attr(&self, cmd: Command) -> Result<Attr, VolumeError> {
        reply::changed(self.write(cmd).await?)
    }

    async fn command_done(&self, cmd: Command) -> Result<(), VolumeError> {
        reply::done(self.write(cmd).await?)
    }

    pub async fn lookup(&self, parent: Ino, name: String) -> Result<Attr, VolumeError> {
        self.query_with(Query::Lookup { parent, name }, reply::attr)
            .await
    }

    pub async fn getattr(&self, ino: Ino) -> Result<Attr, VolumeError> {
        self.query_with(Query::Getattr { ino }, reply::attr).await
    }

    /// The attributes of `ino` and, for a regular file, its head version
    /// (None before the first commit).
    /// The head is checked against its proof first (`proven`).
    pub async fn head(&self, ino: Ino) -> Result<(Attr, Option<Version>), VolumeError> {
        let (attr, head) = self.head_sealed(ino).await?;
        Ok((attr, head.map(|(v, _)| v)))
    }

    /// [`Volume::head`] with the wrapped content key its fragments are
    /// sealed under (None: plaintext).
    pub async fn head_sealed(&self, ino: Ino) -> Result<SealedHead, VolumeError> {
        let (attr, head) = self.query_with(Query::Head { ino }, reply::head).await?;
        let Some((v, proof)) = head else {
            return Ok((attr, None));
        };
        self.check_proof(ino, &v, proof.as_deref()).await?;
        let key = proof.and_then(|p| p.key);
        Ok((attr, Some((v, key))))
    }

    pub async fn readdir(&self, ino: Ino) -> Result<Vec<DirEntry>, VolumeError> {
        self.query_with(Query::Readdir { ino }, reply::entries)
            .await
    }

    /// A directory's entries with their attributes and their extended
    /// attributes when small (`Query::ReaddirAll`).
    pub async fn readdir_all(&self, ino: Ino) -> Result<Vec<ListedEntry>, VolumeError> {
        self.query_with(Query::ReaddirAll { ino }, reply::entries_all)
            .await
    }

    pub async fn readlink(&self, ino: Ino) -> Result<String, VolumeError> {
        self.query_with(Query::Readlink { ino }, reply::target)
            .await
    }

    /// A new empty regular file.
    pub async fn create(
        &self,
        parent: Ino,
        name: String,
        perm: u16,
        caller: Caller,
        ctx: Context,
    ) -> Result<Attr, VolumeError> {
        let cmd = Command::Create {
            parent,
            name,
            perm,
            caller,
            now: now(),
        };
        self.command_attr(in_context(ctx, cmd)).await
    }

    /// A regular file, fifo, socket or device node.
    pub async fn mknod(
        &self,
        parent: Ino,
        name: String,
        node: NewNode,
        caller: Caller,
        ctx: Context,
    ) -> Result<Attr, VolumeError> {
        let cmd = Command::Mknod {
            parent,
            name,
            kind: node.kind,
            perm: node.perm,
            rdev: node.rdev,
            caller,
            now: now(),
        };
        self.command_attr(in_context(ctx, cmd)).await
    }

    pub async fn mkdir(
        &self,
        parent: Ino,
        name: String,
        perm: u16,
        caller: Caller,
        ctx: Context,
    ) -> Result<Attr, VolumeError> {
        let cmd = Command::Mkdir {
            parent,
            name,
            perm,
            caller,
            now: now(),
        };
        self.command_attr(in_context(ctx, cmd)).await
    }

    pub async fn symlink(
        &self,
        parent: Ino,
        name: String,
        target: String,
        caller: Caller,
    ) -> Result<Attr, VolumeError> {
        let cmd = Command::Symlink {
            parent,
            name,
            target,
            caller,
            now: now(),
        };
        self.command_attr(cmd).await
    }

    /// A new hard link to `ino`; answers its attributes.
    pub async fn link(
        &self,
        ino: Ino,
        new_parent: Ino,
        new_name: String,
    ) -> Result<Attr, VolumeError> {
        let cmd = Command::Link {
            ino,
            new_parent,
            new_name,
            now: now(),
        };
        self.command_attr(cmd).await
    }

    pub async fn unlink(&self, parent: Ino, name: String) -> Result<(), VolumeError> {
        let cmd = Command::Unlink {
            parent,
            name,
            now: now(),
        };
        self.command_done(cmd).await
    }

    pub async fn rmdir(&self, parent: Ino, name: String) -> Result<(), VolumeError> {
        let cmd = Command::Rmdir {
            parent,
            name,
            now: now(),
        };
        self.command_done(cmd).await
    }

    pub async fn rename(
        &self,
        parent: Ino,
        name: String,
        new_parent: Ino,
        new_name: String,
        flags: RenameFlags,
    ) -> Result<(), VolumeError> {
        let cmd = Command::Rename {
            parent,
            name,
            new_parent,
            new_name,
            flags,
            now: now(),
        };
        self.command_done(cmd).await
    }

    /// Changes the attributes `set` names; answers the new attributes.
    pub async fn setattr(
        &self,
        ino: Ino,
        set: SetAttrs,
        caller: Caller,
        ctx: Context,
    ) -> Result<Attr, VolumeError> {
        let cmd = Command::SetAttr {
            ino,
            caller,
            perm: set.perm,
            uid: set.uid,
            gid: set.gid,
            size: set.size,
            atime: set.atime,
            mtime: set.mtime,
            now: now(),
        };
        self.command_attr(in_context(ctx, cmd)).await
    }

    /// Every extended attribute of `ino` with its value.
    pub async fn xattrs(&self, ino: Ino) -> Result<Xattrs, VolumeError> {
        self.query_with(Query::Xattrs { ino }, reply::xattrs).await
    }

    /// Sets an extended attribute. A value of an attribute fragfs reads
    /// (`user.fragfs.redundancy`, `user.fragfs.keep`) that does not parse
    /// is refused with [`FsError::Invalid`](crate::meta::FsError::Invalid).
    pub async fn setxattr(
        &self,
        ino: Ino,
        name: String,
        value: Vec<u8>,
        mode: XattrMode,
    ) -> Result<(), VolumeError> {
        super::redundancy::check_xattr(&name, &value)?;
        let cmd = Command::SetXattr {
            ino,
            name,
            value,
            mode,
            now: now(),
        };
        self.command_done(cmd).await
    }

    pub async fn removexattr(&self, ino: Ino, name: String) -> Result<(), VolumeError> {
        let cmd = Command::RemoveXattr {
            ino,
            name,
            now: now(),
        };
        self.command_done(cmd).await
    }

    /// A change to the file lock table (take, release, renew, end).
    pub async fn lock(&self, cmd: LockCmd) -> Result<(), VolumeError> {
        self.command_done(Command::Lock(cmd)).await
    }

    /// Records `sha3` as the whole-file SHA3-256 of version `version` of
    /// `ino`, whose manifest has none (see [`Command::RecordHash`]).
    pub async fn record_hash(
        &self,
        ino: Ino,
        version: u64,
        sha3: [u8; 32],
    ) -> Result<(), VolumeError> {
        self.command_done(Command::RecordHash { ino, version, sha3 })
            .await
    }

    /// The first live lock of another owner that keeps `owner` from taking
    /// `kind` on bytes `range` (end included) of `ino` now (`F_GETLK`).
    pub async fn lock_conflict(
        &self,
        ino: Ino,
        owner: LockOwner,
        kind: LockKind,
        range: (u64, u64),
    ) -> Result<Option<Lock>, VolumeError> {
        let q = Query::Lock {
            ino,
            owner,
            kind,
            start: range.0,
            end: range.1,
            now: now(),
        };
        self.query_with(q, reply::lock).await
    }
}
