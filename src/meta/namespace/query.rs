//! Read-only questions to the namespace: attributes, listings, symlink
//! targets, extended attributes, versions and path resolution.

use super::{check_name, Body, Namespace};
use crate::meta::types::{
    find_version, slot_owners, Attr, Author, DirEntry, FsError, Ino, Version, NAME_MAX, PATH_MAX,
    ROOT, SYMLOOP_MAX,
};

impl Namespace {
    /// The attributes of `ino`.
    pub fn getattr(&self, ino: Ino) -> Result<Attr, FsError> {
        Ok(self.node(ino)?.attr.clone())
    }

    /// The attributes of the entry `name` of directory `parent`; "." and ".."
    /// name the directory itself and its parent (the root's parent is the root).
    pub fn lookup(&self, parent: Ino, name: &str) -> Result<Attr, FsError> {
        let dir = self.node(parent)?;
        let entries = dir.entries()?;
        let ino = match name {
            "." => parent,
            ".." => dir.parent(),
            _ => {
                check_name(name)?;
                *entries.get(name).ok_or(FsError::NotFound)?
            }
        };
        self.getattr(ino)
    }

    /// The entries of directory `ino` sorted by name, without "." and "..".
    pub fn readdir(&self, ino: Ino) -> Result<Vec<DirEntry>, FsError> {
        let entries = self.dir(ino)?;
        entries
            .iter()
            .map(|(name, &child)| {
                Ok(DirEntry {
                    name: name.clone(),
                    ino: child,
                    kind: self.node(child)?.attr.kind,
                })
            })
            .collect()
    }

    /// The target of symlink `ino`.
    pub fn readlink(&self, ino: Ino) -> Result<String, FsError> {
        match &self.node(ino)?.body {
            Body::Symlink { target } => Ok(target.clone()),
            _ => Err(FsError::Invalid),
        }
    }

    /// The value of extended attribute `name` of `ino`.
    pub fn getxattr(&self, ino: Ino, name: &str) -> Result<Vec<u8>, FsError> {
        self.node(ino)?
            .xattrs
            .get(name)
            .cloned()
            .ok_or(FsError::NoData)
    }

    /// Every extended attribute of `ino`.
    pub fn xattrs(
        &self,
        ino: Ino,
    ) -> Result<&std::collections::BTreeMap<String, Vec<u8>>, FsError> {
        Ok(&self.node(ino)?.xattrs)
    }

    /// The names of the extended attributes of `ino`, sorted.
    pub fn listxattr(&self, ino: Ino) -> Result<Vec<String>, FsError> {
        Ok(self.node(ino)?.xattrs.keys().cloned().collect())
    }

    /// The versions of regular file `ino`, oldest first.
    pub fn versions(&self, ino: Ino) -> Result<&[Version], FsError> {
        match &self.node(ino)?.body {
            Body::File { versions } => Ok(versions),
            Body::Dir { .. } => Err(FsError::IsDir),
            _ => Err(FsError::Invalid),
        }
    }

    /// Version `id` of regular file `ino`: NotFound if it has none such.
    pub fn version(&self, ino: Ino, id: u64) -> Result<&Version, FsError> {
        find_version(self.versions(ino)?, id).ok_or(FsError::NotFound)
    }

    /// Per fragment slot of version `id` of file `ino`: the author and
    /// number of the version that last changed it.
    pub fn slot_owners(&self, ino: Ino, id: u64) -> Result<Vec<(Author, u64)>, FsError> {
        slot_owners(self.versions(ino)?, id).ok_or(FsError::NotFound)
    }

    /// Extended attribute `name` of `ino` or of the nearest directory above
    /// it that has one, with the inode that holds it; None if none does.
    pub fn inherited(&self, ino: Ino, name: &str) -> Result<Option<(Ino, Vec<u8>)>, FsError> {
        let mut cur = self.node(ino)?;
        // Bounded by the number of inodes, so a corrupt tree cannot hang us.
        for _ in 0..=self.inodes.len() {
            if let Some(v) = cur.xattrs.get(name) {
                return Ok(Some((cur.attr.ino, v.clone())));
            }
            if cur.attr.ino == ROOT {
                break;
            }
            cur = self.node(cur.parent())?;
        }
        Ok(None)
    }

    /// The newest version of regular file `ino` (None before the first commit).
    pub fn head(&self, ino: Ino) -> Result<Option<&Version>, FsError> {
        Ok(self.versions(ino)?.last())
    }

    /// The inode an absolute path names, following symlinks in every
    /// component including the last.
    pub fn resolve(&self, path: &str) -> Result<Ino, FsError> {
        self.resolve_path(path, true)
    }

    /// Like [`Self::resolve`], but a symlink as the last component is
    /// returned itself (as `lstat` sees it). A trailing '/' still follows it.
    pub fn resolve_nofollow(&self, path: &str) -> Result<Ino, FsError> {
        self.resolve_path(path, false)
    }

    fn resolve_path(&self, path: &str, follow_last: bool) -> Result<Ino, FsError> {
        if path.len() > PATH_MAX {
            return Err(FsError::NameTooLong);
        }
        let rest = path.strip_prefix('/').ok_or(FsError::Invalid)?;
        // Components still to walk, the next one last.
        let mut pending: Vec<&str> = rest.split('/').rev().collect();
        let mut cur = ROOT;
        let mut followed = 0;
        while let Some(comp) = pending.pop() {
            let dir = self.node(cur)?;
            let entries = dir.entries()?;
            match comp {
                "" | "." => continue,
                ".." => {
                    cur = dir.parent();
                    continue;
                }
                _ if comp.len() > NAME_MAX => return Err(FsError::NameTooLong),
                _ => {}
            }
            let child = *entries.get(comp).ok_or(FsError::NotFound)?;
            if let Body::Symlink { target } = &self.node(child)?.body {
                if follow_last || !pending.is_empty() {
                    followed += 1;
                    if followed > SYMLOOP_MAX {
                        return Err(FsError::Loop);
                    }
                    // A relative target starts from the symlink's directory, `cur`.
                    if target.starts_with('/') {
                        cur = ROOT;
                    }
                    pending.extend(target.split('/').rev());
                    continue;
                }
            }
            cur = child;
        }
        Ok(cur)
    }

    /// One absolute path naming `ino` ("/" for the root; for a file with
    /// several hard links, the first by (directory, name)). None if no such inode.
    pub fn path_of(&self, ino: Ino) -> Option<String> {
        let mut names = Vec::new();
        let mut cur = ino;
        // Bounded by the number of inodes, so a corrupt tree cannot hang us.
        for _ in 0..=self.inodes.len() {
            if cur == ROOT {
                names.reverse();
                return Some(format!("/{}", names.join("/")));
            }
            let (dir, name) = self.inodes.get(&cur)?.links.first()?;
            names.push(name.as_str());
            cur = *dir;
        }
        None
    }

    /// Every path in the tree with its attributes, depth first, each
    /// directory's entries sorted by name; the root itself is left out.
    pub fn walk(&self) -> Vec<(String, Attr)> {
        let mut out = Vec::new();
        let mut stack: Vec<(String, Ino)> = Vec::new();
        let push_children = |stack: &mut Vec<(String, Ino)>, prefix: &str, ino: Ino| {
            if let Some(Body::Dir { entries }) = self.inodes.get(&ino).map(|n| &n.body) {
                stack.extend(
                    entries
                        .iter()
                        .rev()
                        .map(|(name, &child)| (format!("{prefix}/{name}"), child)),
                );
            }
        };
        push_children(&mut stack, "", ROOT);
        while let Some((path, ino)) = stack.pop() {
            let Some(node) = self.inodes.get(&ino) else {
                continue;
            };
            push_children(&mut stack, &path, ino);
            out.push((path, node.attr.clone()));
        }
        out
    }

    /// The number of inodes, the root included.
    pub fn len(&self) -> usize {
        self.inodes.len()
    }

    /// Never true: the root always exists.
    pub fn is_empty(&self) -> bool {
        self.inodes.is_empty()
    }
}
