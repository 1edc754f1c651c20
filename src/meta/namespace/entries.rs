//! Creating and removing directory entries: new inodes, hard links, and
//! what unlink and rmdir leave behind (a file whose last link goes moves
//! to the trash, `retain.rs`).

use super::*;

impl Namespace {
    /// Creates a new inode named `name` in directory `parent`.
    pub(super) fn make(
        &mut self,
        parent: Ino,
        name: String,
        new: NewInode,
        caller: Caller,
        now: Time,
    ) -> Result<Reply, FsError> {
        check_name(&name)?;
        self.check_sealed_name(parent, &name)?;
        let dir = self.node(parent)?;
        if dir.entries()?.contains_key(&name) {
            return Err(FsError::Exists);
        }
        let is_dir = new.kind == Kind::Dir;
        if is_dir && dir.attr.nlink >= LINK_MAX {
            return Err(FsError::TooManyLinks);
        }
        let setgid_dir = dir.attr.perm & S_ISGID != 0;
        let gid = if setgid_dir { dir.attr.gid } else { caller.gid };
        let (mut perm, xattrs) = self.inherit_acl(parent, new.kind, new.perm & PERM_MASK);
        if is_dir && setgid_dir {
            perm |= S_ISGID;
        }
        let size = match &new.body {
            Body::Symlink { target } => target.len() as u64,
            _ => 0,
        };

        let ino = self.next_ino;
        self.next_ino += 1;
        let attr = Attr {
            ino,
            kind: new.kind,
            perm,
            uid: caller.uid,
            gid,
            size,
            nlink: if is_dir { 2 } else { 1 },
            atime: now,
            mtime: now,
            ctime: now,
            rdev: new.rdev,
        };
        let links = BTreeSet::from([(parent, name.clone())]);
        self.inodes.insert(
            ino,
            Inode {
                attr: attr.clone(),
                links,
                xattrs,
                body: new.body,
            },
        );
        self.entries_mut(parent).insert(name, ino);
        let dir = self.node_mut(parent);
        if is_dir {
            dir.attr.nlink += 1;
        }
        dir.touch(now);
        Ok(Reply::Attr(attr))
    }

    pub(super) fn link(
        &mut self,
        ino: Ino,
        new_parent: Ino,
        new_name: String,
        now: Time,
    ) -> Result<Reply, FsError> {
        check_name(&new_name)?;
        self.check_sealed_name(new_parent, &new_name)?;
        let node = self.node(ino)?;
        if self.dir(new_parent)?.contains_key(&new_name) {
            return Err(FsError::Exists);
        }
        if node.is_dir() {
            return Err(FsError::NotPermitted);
        }
        if node.attr.nlink >= LINK_MAX {
            return Err(FsError::TooManyLinks);
        }
        self.same_share(node.parent(), new_parent)?;

        self.entries_mut(new_parent).insert(new_name.clone(), ino);
        self.node_mut(new_parent).touch(now);
        let node = self.node_mut(ino);
        node.links.insert((new_parent, new_name));
        node.attr.nlink += 1;
        node.attr.ctime = now;
        Ok(Reply::Attr(node.attr.clone()))
    }

    /// Removes the entry (`dir`, `name`) from a non-directory's links and
    /// frees the inode when no entry names it any more. The directory side
    /// of the entry is the caller's business.
    pub(super) fn drop_link(&mut self, ino: Ino, dir: Ino, name: &str, now: Time) {
        let path = self.entry_path(dir, name);
        let node = self.node_mut(ino);
        node.links.remove(&(dir, name.to_owned()));
        node.attr.nlink -= 1;
        node.attr.ctime = now;
        if node.attr.nlink == 0 {
            if let Some(node) = self.inodes.remove(&ino) {
                self.keep_deleted(ino, node, dir, path, now);
            }
        }
    }

    pub(super) fn unlink(&mut self, parent: Ino, name: &str, now: Time) -> Result<Reply, FsError> {
        check_name(name)?;
        let ino = *self.dir(parent)?.get(name).ok_or(FsError::NotFound)?;
        if self.node(ino)?.is_dir() {
            return Err(FsError::IsDir);
        }

        self.entries_mut(parent).remove(name);
        self.node_mut(parent).touch(now);
        self.drop_link(ino, parent, name, now);
        Ok(Reply::Done)
    }

    pub(super) fn rmdir(&mut self, parent: Ino, name: &str, now: Time) -> Result<Reply, FsError> {
        check_name(name)?;
        let ino = *self.dir(parent)?.get(name).ok_or(FsError::NotFound)?;
        // The root is no directory's entry, so it cannot get here.
        match &self.node(ino)?.body {
            Body::Dir { entries } if !entries.is_empty() => return Err(FsError::NotEmpty),
            Body::Dir { .. } => {}
            _ => return Err(FsError::NotDir),
        }

        self.entries_mut(parent).remove(name);
        let dir = self.node_mut(parent);
        dir.attr.nlink -= 1;
        dir.touch(now);
        self.inodes.remove(&ino);
        self.forget_share(ino);
        Ok(Reply::Done)
    }
}
