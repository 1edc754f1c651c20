//! The structural invariants of the namespace, checked on demand (tests,
//! and after loading a snapshot).

use super::{check_name, Body, Namespace};
use crate::meta::types::{Ino, Kind, ROOT};
use std::collections::BTreeSet;

impl Namespace {
    /// Verifies that the tree is consistent: entries point at existing
    /// inodes and agree with each inode's back links, every inode is
    /// reachable from the root exactly as often as its links say, link
    /// counts match, names are valid and version chains are well formed.
    /// Returns a description of the first violation found.
    pub fn check_invariants(&self) -> Result<(), String> {
        let root = self.inodes.get(&ROOT).ok_or("the root is missing")?;
        if !root.is_dir() || !root.links.is_empty() {
            return Err("the root is not a directory without entries naming it".into());
        }
        for (&ino, node) in &self.inodes {
            self.check_inode(ino, node)?;
        }
        self.check_reachable()
    }

    fn check_inode(&self, ino: Ino, node: &super::Inode) -> Result<(), String> {
        let a = &node.attr;
        if a.ino != ino {
            return Err(format!("inode {ino} says it is {}", a.ino));
        }
        if ino >= self.next_ino {
            return Err(format!(
                "inode {ino} is not below the next number {}",
                self.next_ino
            ));
        }
        if a.perm & !super::PERM_MASK != 0 {
            return Err(format!("inode {ino} has mode bits {:o}", a.perm));
        }
        for (dir, name) in &node.links {
            let entry = self
                .inodes
                .get(dir)
                .and_then(|d| d.entries().ok())
                .and_then(|e| e.get(name));
            if entry != Some(&ino) {
                return Err(format!(
                    "inode {ino} claims entry {name:?} of {dir}, which does not name it"
                ));
            }
        }
        match (&node.body, a.kind) {
            (Body::Dir { entries }, Kind::Dir) => {
                if ino != ROOT && node.links.len() != 1 {
                    return Err(format!(
                        "directory {ino} has {} entries naming it",
                        node.links.len()
                    ));
                }
                let mut subdirs = 0u32;
                for (name, child) in entries {
                    check_name(name).map_err(|e| format!("entry {name:?} of {ino}: {e}"))?;
                    let c = self
                        .inodes
                        .get(child)
                        .ok_or(format!("entry {name:?} of {ino} points at missing {child}"))?;
                    if !c.links.contains(&(ino, name.clone())) {
                        return Err(format!(
                            "entry {name:?} of {ino} is not among the links of {child}"
                        ));
                    }
                    subdirs += u32::from(c.is_dir());
                }
                if a.nlink != 2 + subdirs {
                    return Err(format!(
                        "directory {ino} has nlink {} with {subdirs} subdirectories",
                        a.nlink
                    ));
                }
            }
            (Body::Dir { .. }, _) | (_, Kind::Dir) => {
                return Err(format!("inode {ino}: kind and body disagree"))
            }
            (body, kind) => {
                if a.nlink == 0 || a.nlink as usize != node.links.len() {
                    return Err(format!(
                        "inode {ino} has nlink {} and {} entries",
                        a.nlink,
                        node.links.len()
                    ));
                }
                match (body, kind) {
                    (Body::File { versions }, Kind::File) => check_versions(ino, versions)?,
                    (Body::Symlink { target }, Kind::Symlink) => {
                        if target.is_empty() || a.size != target.len() as u64 {
                            return Err(format!(
                                "symlink {ino} has size {} for target {target:?}",
                                a.size
                            ));
                        }
                    }
                    (Body::Special, Kind::Fifo | Kind::Socket | Kind::CharDev | Kind::BlockDev) => {
                    }
                    _ => return Err(format!("inode {ino}: kind and body disagree")),
                }
            }
        }
        Ok(())
    }

    /// Every inode is reached from the root, and no directory twice.
    fn check_reachable(&self) -> Result<(), String> {
        let mut seen = BTreeSet::from([ROOT]);
        let mut todo = vec![ROOT];
        while let Some(dir) = todo.pop() {
            let Some(Body::Dir { entries }) = self.inodes.get(&dir).map(|n| &n.body) else {
                continue;
            };
            for &child in entries.values() {
                let is_dir = self.inodes.get(&child).is_some_and(|n| n.is_dir());
                if !seen.insert(child) && is_dir {
                    return Err(format!(
                        "directory {child} is reached twice (a cycle or a second entry)"
                    ));
                }
                if is_dir {
                    todo.push(child);
                }
            }
        }
        if seen.len() != self.inodes.len() {
            let orphans: Vec<Ino> = self
                .inodes
                .keys()
                .filter(|i| !seen.contains(i))
                .copied()
                .collect();
            return Err(format!("inodes not reachable from the root: {orphans:?}"));
        }
        Ok(())
    }
}

/// Version ids count 1, 2, 3… and each names its predecessor as parent;
/// owner runs start at slot 0, increase, number at most one per fragment
/// and name versions up to their own.
/// A file's size is not compared with its head: a truncate (SetAttr size)
/// changes the size before the client commits the matching version.
fn check_versions(ino: Ino, versions: &[crate::meta::types::Version]) -> Result<(), String> {
    for (i, v) in versions.iter().enumerate() {
        let want_parent = if i == 0 { None } else { Some(i as u64) };
        if v.id != i as u64 + 1 || v.parent != want_parent {
            return Err(format!(
                "file {ino}: version {i} has id {} and parent {:?}",
                v.id, v.parent
            ));
        }
        let frags = v.manifest.fragments.len();
        let starts_at_0 = v.owners.first().is_none_or(|r| r.first_slot == 0);
        let increasing = v
            .owners
            .windows(2)
            .all(|w| w[0].first_slot < w[1].first_slot);
        let known = v.owners.iter().all(|r| (1..=v.id).contains(&r.version));
        let fits = v.owners.len() <= frags && (frags == 0) == v.owners.is_empty();
        if !(starts_at_0 && increasing && known && fits) {
            return Err(format!(
                "file {ino}: version {} has owners {:?} for {frags} fragments",
                v.id, v.owners
            ));
        }
    }
    Ok(())
}
