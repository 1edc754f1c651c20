//! Directories given to groups: `fragfs share PATH GROUP` records that
//! directory `dir` and everything below it belong to a group's members
//! ([`Share`]), by an act a member of that group signs
//! (`Act::Share`, verified like every account act). Only the mounts of
//! the group's members may enter such a directory; the namespace itself
//! refuses what would let a file slip out without being copied: a hard
//! link or a rename across the edge of a shared directory
//! ([`FsError::CrossShare`], EXDEV, so `mv` copies instead), and shares
//! inside shares. The root is never shared. In an encrypted shared
//! directory every name is sealed (`trust::names`): the namespace takes no
//! other, and a directory's names change key only while it is empty (an
//! encrypted share is given, changed or taken back only on an empty
//! directory).

use super::accounts::{AccountCmd, Act};
use super::{Namespace, ROOT};
use crate::meta::types::{FsError, Ino, Reply, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most directories shared at once.
pub const MAX_SHARES: usize = 4096;

/// A directory given to a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub group: String,
    /// Whether new versions of its files are sealed (on by default).
    pub encrypted: bool,
    /// The member who shared it.
    pub by: String,
    pub since: Time,
}

impl Namespace {
    /// The shared directory `ino` lies in (itself or the nearest shared
    /// directory above it), with its share.
    pub fn cover(&self, ino: Ino) -> Option<(Ino, &Share)> {
        if self.shares.is_empty() {
            return None;
        }
        let mut cur = ino;
        // Bounded by the number of inodes, so a corrupt tree cannot hang us.
        for _ in 0..=self.inodes.len() {
            if let Some(s) = self.shares.get(&cur) {
                return Some((cur, s));
            }
            if cur == ROOT {
                return None;
            }
            cur = self.inodes.get(&cur)?.parent();
        }
        None
    }

    /// Every shared directory.
    pub fn shares(&self) -> &BTreeMap<Ino, Share> {
        &self.shares
    }

    /// Refuses linking or moving something from directory `from` to
    /// directory `to` when they lie in different shares (or one in a
    /// share and the other not).
    pub(super) fn same_share(&self, from: Ino, to: Ino) -> Result<(), FsError> {
        let a = self.cover(from).map(|(d, _)| d);
        let b = self.cover(to).map(|(d, _)| d);
        (a == b).then_some(()).ok_or(FsError::CrossShare)
    }

    /// Applies a signed `Act::Share`: gives `dir` to `group` (None: takes
    /// it back). The actor must be a member of the group it gives the
    /// directory to, and to take a directory back, of the group holding
    /// it.
    pub(super) fn share(&mut self, cmd: AccountCmd) -> Result<Reply, FsError> {
        self.accounts.verify(&cmd)?;
        let Act::Share {
            dir,
            group,
            encrypted,
            now,
        } = cmd.act
        else {
            return Err(FsError::Invalid);
        };
        let actor = cmd.actor;
        if !self.node(dir)?.is_dir() {
            return Err(FsError::NotDir);
        }
        if dir == ROOT {
            return Err(FsError::NotPermitted);
        }
        let current = self.shares.get(&dir);
        if let Some(old) = current {
            if !self.accounts.is_member(&old.group, &actor) {
                return Err(FsError::Access);
            }
        }
        let Some(group) = group else {
            return match current {
                Some(s) if s.encrypted && !self.dir(dir)?.is_empty() => Err(FsError::NotEmpty),
                Some(_) => {
                    self.shares.remove(&dir);
                    Ok(Reply::Done)
                }
                None => Err(FsError::NotFound),
            };
        };
        if !self.accounts.is_member(&group, &actor) {
            return Err(FsError::Access);
        }
        if current.is_none() {
            self.check_no_nesting(dir)?;
        }
        let sealed_names = encrypted.then(|| group.clone());
        if sealed_names != current.and_then(|s| s.encrypted.then(|| s.group.clone()))
            && !self.dir(dir)?.is_empty()
        {
            // Its names would be sealed (or opened) under another key.
            return Err(FsError::NotEmpty);
        }
        let share = Share {
            group,
            encrypted,
            by: actor,
            since: now,
        };
        self.shares.insert(dir, share);
        Ok(Reply::Done)
    }

    /// Refuses a name that is not sealed (`fragfs_seal`'s text form) in an
    /// encrypted shared directory: names there reach the namespace only
    /// sealed, so no node's state holds them in clear.
    pub(super) fn check_sealed_name(&self, parent: Ino, name: &str) -> Result<(), FsError> {
        match self.cover(parent) {
            Some((_, s)) if s.encrypted && fragfs_seal::decode_sealed_name(name).is_err() => {
                Err(FsError::Invalid)
            }
            _ => Ok(()),
        }
    }

    /// A new share at `dir` may lie neither inside nor above another.
    fn check_no_nesting(&self, dir: Ino) -> Result<(), FsError> {
        if self.cover(dir).is_some() {
            return Err(FsError::Exists);
        }
        if self.shares.keys().any(|s| self.is_within(*s, dir)) {
            return Err(FsError::Exists);
        }
        if self.shares.len() >= MAX_SHARES {
            return Err(FsError::NoLocks);
        }
        Ok(())
    }

    /// Drops the shares of directories that are gone.
    pub(super) fn forget_share(&mut self, dir: Ino) {
        self.shares.remove(&dir);
    }
}
