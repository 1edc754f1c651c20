//! The namespace operations of the mount: lookups, attributes (with what
//! the mount adds: the size of unsaved writes, open unlinked files),
//! directories, links, renames (saves by rename-over), `setattr` and
//! extended attributes, through the node's [`Volume`](fragfs::volume::Volume).

use super::{base_content, Core, IntoOp, Listing, Renamed, SetAttrs};
use crate::errno::OpError;
use fragfs::{
    meta::{
        Attr, Caller, Context, DirEntry, FsError, Ino, Kind, MetaError, RenameFlags, XattrMode,
        Xattrs,
    },
    volume::NewNode,
};
use fuser::Errno;
use std::sync::{atomic::Ordering, Arc};

impl Core {
    // ---- namespace ----

    pub async fn lookup(&self, parent: Ino, name: String) -> Result<Attr, OpError> {
        self.counters.lookups.fetch_add(1, Ordering::Relaxed);
        let name = self.volume.stored_name(parent, name).await?;
        let cache = &self.meta_cache;
        let a = match cache.entry(parent, &name) {
            Some(a) => a,
            None => {
                let t = cache.ticket();
                let a = self.volume.lookup(parent, name.clone()).await?;
                cache.keep_entry(t, parent, &name, &a);
                a
            }
        };
        Ok(self.overlay(self.exact(a).await))
    }

    /// The namespace's attributes of `ino`, remembered or asked.
    async fn ns_getattr(&self, ino: Ino) -> Result<Attr, OpError> {
        if let Some(a) = self.meta_cache.attr(ino) {
            return Ok(a);
        }
        let t = self.meta_cache.ticket();
        let a = self.volume.getattr(ino).await?;
        self.meta_cache.keep_attr(t, &a);
        Ok(a)
    }

    /// The extended attributes of `ino`, remembered or asked.
    async fn xattrs(&self, ino: Ino) -> Result<Arc<Xattrs>, OpError> {
        if let Some(x) = self.meta_cache.xattrs(ino) {
            return Ok(x);
        }
        let t = self.meta_cache.ticket();
        let x = Arc::new(self.volume.xattrs(ino).await?);
        self.meta_cache.keep_xattrs(t, ino, x.clone());
        Ok(x)
    }

    /// The attributes of `ino`. A file this mount holds open after its last
    /// name went (unlinked, renamed over) is still answered, as last seen
    /// here with no links: `fstat` of an open unlinked file works. The
    /// namespace forgets such a file at once; its open handles keep what
    /// they read and wrote until the last one is released.
    pub async fn getattr(&self, ino: Ino) -> Result<Attr, OpError> {
        let ino = self.saves.target(ino);
        match self.ns_getattr(ino).await {
            Ok(a) => {
                let a = self.exact(a).await;
                self.remember(&a);
                Ok(self.overlay(a))
            }
            Err(e) if crate::errno::errno(&e) == Errno::ENOENT => match self.orphan(ino) {
                Some(a) => Ok(self.overlay(a)),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Reads directory `ino`'s listing (entries with their attributes, and
    /// the directory's own) once and keeps it under a handle.
    pub async fn opendir(&self, ino: Ino) -> Result<u64, OpError> {
        let (entries, own) = tokio::join!(self.listed(ino), self.getattr(ino));
        let mut entries: Vec<(DirEntry, Attr)> = self.shown(ino, entries?).await?;
        self.exact_all(entries.iter_mut().map(|(_, a)| a)).await;
        self.overlay_all(entries.iter_mut().map(|(_, a)| a));
        let listing = Arc::new(Listing { own: own?, entries });
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fh, listing);
        Ok(fh)
    }

    /// Directory `ino`'s entries with their attributes, as stored; what
    /// came with them (attributes, small extended attributes) is
    /// remembered for the questions a listing brings (`ls -l`).
    pub(super) async fn listed(&self, ino: Ino) -> Result<Vec<(DirEntry, Attr)>, OpError> {
        let cache = &self.meta_cache;
        let t = cache.ticket();
        let all = self.volume.readdir_all(ino).await?;
        let mut out = Vec::with_capacity(all.len());
        for (e, a, x) in all {
            cache.keep_entry(t, ino, &e.name, &a);
            if let Some(x) = x {
                cache.keep_xattrs(t, a.ino, Arc::new(x));
            }
            out.push((e, a));
        }
        Ok(out)
    }

    /// The listing kept by [`Core::opendir`].
    pub fn dir_listing(&self, fh: u64) -> Option<Arc<Listing>> {
        self.dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&fh)
            .cloned()
    }

    pub fn releasedir(&self, fh: u64) {
        self.dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&fh);
    }

    pub async fn readlink(&self, ino: Ino) -> Result<String, OpError> {
        Ok(self.volume.readlink(ino).await?)
    }

    pub async fn mknod(
        &self,
        parent: Ino,
        name: String,
        node: NewNode,
        caller: Caller,
        ctx: Context,
    ) -> Result<Attr, OpError> {
        let name = self.volume.stored_name(parent, name).await?;
        Ok(self.volume.mknod(parent, name, node, caller, ctx).await?)
    }

    pub async fn mkdir(
        &self,
        parent: Ino,
        name: String,
        perm: u16,
        caller: Caller,
        ctx: Context,
    ) -> Result<Attr, OpError> {
        let name = self.volume.stored_name(parent, name).await?;
        Ok(self.volume.mkdir(parent, name, perm, caller, ctx).await?)
    }

    pub async fn symlink(
        &self,
        parent: Ino,
        name: String,
        target: String,
        caller: Caller,
    ) -> Result<Attr, OpError> {
        let name = self.volume.stored_name(parent, name).await?;
        Ok(self.volume.symlink(parent, name, target, caller).await?)
    }

    pub async fn link(&self, ino: Ino, new_parent: Ino, new_name: String) -> Result<Attr, OpError> {
        let new_name = self.volume.stored_name(new_parent, new_name).await?;
        let a = self.volume.link(ino, new_parent, new_name).await?;
        Ok(self.overlay(self.exact(a).await))
    }

    pub async fn unlink(&self, parent: Ino, name: String) -> Result<(), OpError> {
        let name = self.volume.stored_name(parent, name).await?;
        self.note_local_unlink(parent, &name).await;
        Ok(self.volume.unlink(parent, name).await?)
    }

    pub async fn rmdir(&self, parent: Ino, name: String) -> Result<(), OpError> {
        let name = self.volume.stored_name(parent, name).await?;
        Ok(self.volume.rmdir(parent, name).await?)
    }

    pub async fn rename(
        &self,
        parent: Ino,
        name: String,
        new_parent: Ino,
        new_name: String,
        flags: RenameFlags,
        caller: Caller,
    ) -> Result<Renamed, OpError> {
        let name = self.volume.stored_name(parent, name).await?;
        let new_name = self.volume.stored_name(new_parent, new_name).await?;
        if !flags.noreplace && !flags.exchange {
            let (from, to) = ((parent, name.as_str()), (new_parent, new_name.as_str()));
            if self.save_over(from, to, caller).await? {
                return Ok(Renamed::SavedOver);
            }
            self.note_local_unlink(new_parent, &new_name).await;
        }
        self.volume
            .rename(parent, name, new_parent, new_name, flags)
            .await?;
        Ok(Renamed::Moved)
    }

    /// Directory `dir`'s entries under the names a caller sees
    /// (`fragfs::volume::names`).
    pub(super) async fn shown(
        &self,
        dir: Ino,
        mut entries: Vec<(DirEntry, Attr)>,
    ) -> Result<Vec<(DirEntry, Attr)>, OpError> {
        if self.volume.name_key(dir).await?.is_some() {
            for (e, _) in &mut entries {
                e.name = self
                    .volume
                    .shown_name(dir, std::mem::take(&mut e.name))
                    .await?;
            }
        }
        Ok(entries)
    }

    pub async fn setattr(
        &self,
        ino: Ino,
        fh: Option<u64>,
        set: SetAttrs,
        caller: Caller,
        ctx: Context,
    ) -> Result<Attr, OpError> {
        let ino = self.saves.target(ino);
        let mut attr = None;
        if set.atime.is_some() || set.mtime.is_some() {
            // Times set while the file is open for writing are final: what
            // was written so far is committed first, so its commit cannot
            // move them.
            self.commit_writers_of(ino).await?;
        }
        if let Some(size) = set.size {
            let writer = match fh {
                Some(fh) => self
                    .handle(fh)
                    .ok()
                    .filter(|of| of.ino == ino && of.writer.is_some()),
                None => None,
            };
            match writer {
                // ftruncate on a handle open for writing: its buffer changes,
                // the flush commits it.
                Some(of) => {
                    let w = of
                        .writer
                        .as_ref()
                        .ok_or(OpError::Bug("writer vanished".into()))?;
                    let mut buf = w.buf.lock().await;
                    let res = self.resize_content(&mut buf, size).await;
                    w.mirror(&buf);
                    res?;
                }
                None => attr = Some(self.truncate(ino, size, caller).await?),
            }
        }
        let rest = SetAttrs { size: None, ..set };
        if rest.perm.is_some()
            || rest.uid.is_some()
            || rest.gid.is_some()
            || rest.atime.is_some()
            || rest.mtime.is_some()
        {
            attr = Some(self.volume.setattr(ino, rest, caller, ctx).await?);
        }
        match attr {
            Some(a) => {
                let a = self.exact(a).await;
                self.remember(&a);
                Ok(self.overlay(a))
            }
            None => self.getattr(ino).await,
        }
    }

    /// `truncate(2)`: a new version holding the head's content cut or
    /// zero-extended to `size`.
    async fn truncate(&self, ino: Ino, size: u64, caller: Caller) -> Result<Attr, OpError> {
        let (attr, head, opened) = self.head_opened(ino, caller.uid).await?;
        match attr.kind {
            Kind::File => {}
            Kind::Dir => return Err(fragfs::meta::FsError::IsDir.into_op()),
            _ => return Err(fragfs::meta::FsError::Invalid.into_op()),
        }
        let seal = self.sealing_for(ino, head.as_ref(), opened).await?;
        let mut content = base_content(&head, ino, self).await?;
        content.seal = seal;
        self.resize_content(&mut content, size).await?;
        self.commit_content(&mut content, ino, caller).await?;
        self.getattr(ino).await
    }

    // ---- extended attributes ----

    pub async fn getxattr(&self, ino: Ino, name: String) -> Result<Vec<u8>, OpError> {
        self.xattrs(ino)
            .await?
            .get(&name)
            .cloned()
            .ok_or_else(|| OpError::Meta(MetaError::Fs(FsError::NoData)))
    }

    pub async fn listxattr(&self, ino: Ino) -> Result<Vec<String>, OpError> {
        Ok(self.xattrs(ino).await?.keys().cloned().collect())
    }

    pub async fn setxattr(
        &self,
        ino: Ino,
        name: String,
        value: Vec<u8>,
        mode: XattrMode,
    ) -> Result<(), OpError> {
        Ok(self.volume.setxattr(ino, name, value, mode).await?)
    }

    pub async fn removexattr(&self, ino: Ino, name: String) -> Result<(), OpError> {
        Ok(self.volume.removexattr(ino, name).await?)
    }
}
