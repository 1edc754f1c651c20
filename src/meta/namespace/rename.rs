//! `rename(2)` with its flags (RENAME_NOREPLACE, RENAME_EXCHANGE): the
//! lookups, the ancestry traps, and moving or swapping the entries.

use super::{check_name, Body, Namespace};
use crate::meta::types::{FsError, Ino, RenameFlags, Reply, Time, LINK_MAX};

impl Namespace {
    pub(super) fn rename(
        &mut self,
        parent: Ino,
        name: String,
        new_parent: Ino,
        new_name: String,
        flags: RenameFlags,
        now: Time,
    ) -> Result<Reply, FsError> {
        if flags.noreplace && flags.exchange {
            return Err(FsError::Invalid);
        }
        check_name(&name)?;
        check_name(&new_name)?;
        self.check_sealed_name(new_parent, &new_name)?;
        let src = *self.dir(parent)?.get(&name).ok_or(FsError::NotFound)?;
        let dst = self.dir(new_parent)?.get(&new_name).copied();
        // Linux's order: lookups, then the flags, then the ancestry traps.
        match dst {
            None if flags.exchange => return Err(FsError::NotFound),
            Some(_) if flags.noreplace => return Err(FsError::Exists),
            _ => {}
        }
        let src_dir = self.node(src)?.is_dir();
        if src_dir && self.is_within(new_parent, src) {
            return Err(FsError::Invalid);
        }
        let dst_dir = match dst {
            Some(dst) => self.node(dst)?.is_dir(),
            None => false,
        };
        if let Some(dst) = dst.filter(|_| dst_dir) {
            if self.is_within(parent, dst) {
                // The target is an ancestor of the source.
                return Err(if flags.exchange {
                    FsError::Invalid
                } else {
                    FsError::NotEmpty
                });
            }
        }
        // The same entry, or two hard links to one inode: POSIX says do nothing.
        if dst == Some(src) {
            return Ok(Reply::Done);
        }
        let moves_across = parent != new_parent;
        if moves_across {
            self.same_share(parent, new_parent)?;
        }
        let full = |ino: Ino| self.node(ino).map(|n| n.attr.nlink >= LINK_MAX);

        if let (true, Some(dst)) = (flags.exchange, dst) {
            if moves_across
                && ((src_dir && !dst_dir && full(new_parent)?)
                    || (dst_dir && !src_dir && full(parent)?))
            {
                return Err(FsError::TooManyLinks);
            }
            self.exchange(
                (parent, name, src, src_dir),
                (new_parent, new_name, dst, dst_dir),
                now,
            );
            return Ok(Reply::Done);
        }

        match dst {
            Some(dst) => match (src_dir, &self.node(dst)?.body) {
                (true, Body::Dir { entries }) if !entries.is_empty() => {
                    return Err(FsError::NotEmpty)
                }
                (true, Body::Dir { .. }) => {}
                (true, _) => return Err(FsError::NotDir),
                (false, Body::Dir { .. }) => return Err(FsError::IsDir),
                (false, _) => {}
            },
            None if src_dir && moves_across && full(new_parent)? => {
                return Err(FsError::TooManyLinks)
            }
            None => {}
        }

        if let Some(dst) = dst {
            self.entries_mut(new_parent).remove(&new_name);
            if src_dir {
                // An empty directory: it goes, and with it its ".." link.
                self.inodes.remove(&dst);
                self.forget_share(dst);
                self.node_mut(new_parent).attr.nlink -= 1;
            } else {
                self.drop_link(dst, new_parent, &new_name, now);
            }
        }
        self.entries_mut(parent).remove(&name);
        self.entries_mut(new_parent).insert(new_name.clone(), src);
        let node = self.node_mut(src);
        node.links.remove(&(parent, name));
        node.links.insert((new_parent, new_name));
        node.attr.ctime = now;
        if src_dir && moves_across {
            self.node_mut(parent).attr.nlink -= 1;
            self.node_mut(new_parent).attr.nlink += 1;
        }
        self.node_mut(parent).touch(now);
        self.node_mut(new_parent).touch(now);
        Ok(Reply::Done)
    }

    /// Swaps two entries (directory, name, inode, is a directory), both checked.
    fn exchange(&mut self, a: (Ino, String, Ino, bool), b: (Ino, String, Ino, bool), now: Time) {
        let (a_parent, a_name, a_ino, a_dir) = a;
        let (b_parent, b_name, b_ino, b_dir) = b;
        self.entries_mut(a_parent).insert(a_name.clone(), b_ino);
        self.entries_mut(b_parent).insert(b_name.clone(), a_ino);
        let node = self.node_mut(a_ino);
        node.links.remove(&(a_parent, a_name.clone()));
        node.links.insert((b_parent, b_name.clone()));
        node.attr.ctime = now;
        let node = self.node_mut(b_ino);
        node.links.remove(&(b_parent, b_name));
        node.links.insert((a_parent, a_name));
        node.attr.ctime = now;
        if a_parent != b_parent && a_dir != b_dir {
            let (loses, gains) = if a_dir {
                (a_parent, b_parent)
            } else {
                (b_parent, a_parent)
            };
            self.node_mut(loses).attr.nlink -= 1;
            self.node_mut(gains).attr.nlink += 1;
        }
        self.node_mut(a_parent).touch(now);
        self.node_mut(b_parent).touch(now);
    }
}
