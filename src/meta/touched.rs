//! What a command may touch, as far as the command and its reply tell
//! without the namespace's state. The namespace's account of a change
//! (`namespace::changes`, the change notices) adds which inode each entry
//! named before it; a cache of the namespace's answers on the node that
//! sent the change (`Volume::on_own_change`) forgets what this names at
//! once, instead of everything, and cannot know that. So an entry that may have named an inode the change touched
//! (unlinked, removed, renamed, renamed over) is listed as `replaced`, and
//! the cache forgets what it remembers that entry named, or, when it
//! remembers no such entry, every inode's attributes. A directory whose
//! entries changed has new times and size, never new extended
//! attributes; a new inode has none unless its directory has a default
//! ACL (`meta::namespace::acl`), which a cache that knows the directory's
//! extended attributes can tell.

use crate::meta::{accounts::Act, Command, Ino, Reply};
use std::collections::BTreeSet;

/// What a change may touch (see the module's header).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// Inodes whose attributes or extended attributes may have changed.
    pub inodes: BTreeSet<Ino>,
    /// Directories whose entries changed: their attributes changed, their
    /// extended attributes did not.
    pub dirs: BTreeSet<Ino>,
    /// Directory entries that may name another inode, or none, now.
    pub entries: BTreeSet<(Ino, String)>,
    /// Of `entries`, those whose former inode may have changed too.
    pub replaced: BTreeSet<(Ino, String)>,
    /// The entry a create made and its inode, once answered.
    pub created: Option<((Ino, String), Ino)>,
    /// The entry a create (not in a batch) makes.
    creates: Option<(Ino, String)>,
}

impl Touched {
    /// Whether the change touches nothing a cache of answers holds.
    pub fn is_empty(&self) -> bool {
        self.inodes.is_empty() && self.dirs.is_empty() && self.entries.is_empty()
    }

    fn entry(&mut self, dir: Ino, name: &str) {
        self.dirs.insert(dir);
        self.entries.insert((dir, name.to_owned()));
    }

    fn replacing(&mut self, dir: Ino, name: &str) {
        self.entry(dir, name);
        self.replaced.insert((dir, name.to_owned()));
    }

    /// What `cmd` may touch, before its reply is known.
    pub fn of(cmd: &Command) -> Touched {
        let mut t = Touched::default();
        t.add(cmd);
        t.creates = creates(cmd);
        t
    }

    /// Adds the inode `reply` names (a created or changed inode).
    pub fn add_reply(&mut self, reply: &Reply) {
        match reply {
            Reply::Attr(a) | Reply::Committed { attr: a, .. } => {
                self.inodes.insert(a.ino);
                self.created = self.creates.clone().map(|e| (e, a.ino));
            }
            Reply::Batch(rs) => rs.iter().flatten().for_each(|r| self.add_reply(r)),
            Reply::Done | Reply::Retained { .. } | Reply::Replaced { .. } => {}
        }
    }

    fn add(&mut self, cmd: &Command) {
        match cmd {
            // A new entry: the command fails if the name is taken.
            Command::Create { parent, name, .. }
            | Command::Mknod { parent, name, .. }
            | Command::Mkdir { parent, name, .. }
            | Command::Symlink { parent, name, .. } => self.entry(*parent, name),
            Command::Link {
                ino,
                new_parent,
                new_name,
                ..
            } => {
                self.entry(*new_parent, new_name);
                self.inodes.insert(*ino);
            }
            Command::Unlink { parent, name, .. } | Command::Rmdir { parent, name, .. } => {
                self.replacing(*parent, name)
            }
            Command::Rename {
                parent,
                name,
                new_parent,
                new_name,
                ..
            } => {
                self.replacing(*parent, name);
                self.replacing(*new_parent, new_name);
            }
            Command::SetAttr { ino, .. }
            | Command::SetXattr { ino, .. }
            | Command::RemoveXattr { ino, .. }
            | Command::CommitVersion { ino, .. }
            | Command::RecordHash { ino, .. } => {
                self.inodes.insert(*ino);
            }
            Command::Commit(c) | Command::SignedCommit { commit: c, .. } => {
                self.inodes.insert(c.ino);
                // The conflict copy a commit may create.
                if let Some(copy) = &c.copy {
                    self.entry(copy.parent, &copy.name);
                }
            }
            Command::Replace { items } => self.inodes.extend(items.iter().map(|i| i.ino)),
            Command::WithContext { cmd, .. } => self.add(cmd),
            Command::Batch(cmds) => cmds.iter().for_each(|c| self.add(c)),
            Command::Accounts(a) => {
                if let Act::Share { dir, .. } = &a.act {
                    self.inodes.insert(*dir);
                }
            }
            // Locks and holds change nothing a cache of answers holds;
            // retention drops old versions and deleted files, never a
            // head; membership is not in the namespace's answers.
            Command::Lock(_)
            | Command::Retain { .. }
            | Command::Hold { .. }
            | Command::Members(_) => {}
        }
    }
}

/// The entry `cmd` makes for a new inode, if it is a create.
fn creates(cmd: &Command) -> Option<(Ino, String)> {
    match cmd {
        Command::Create { parent, name, .. }
        | Command::Mknod { parent, name, .. }
        | Command::Mkdir { parent, name, .. }
        | Command::Symlink { parent, name, .. } => Some((*parent, name.clone())),
        Command::WithContext { cmd, .. } => creates(cmd),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Caller, RenameFlags, Time};

    const NOW: Time = Time { secs: 1, nanos: 0 };

    fn names(v: &[(Ino, &str)]) -> BTreeSet<(Ino, String)> {
        v.iter().map(|(d, n)| (*d, n.to_string())).collect()
    }

    #[test]
    fn t10_a_create_touches_its_parent_and_new_entry_only() {
        let t = Touched::of(&Command::Create {
            parent: 5,
            name: "f".into(),
            perm: 0o644,
            caller: Caller { uid: 0, gid: 0 },
            now: NOW,
        });
        assert!(t.inodes.is_empty());
        assert_eq!(t.dirs, [5].into());
        assert_eq!(t.entries, names(&[(5, "f")]));
        assert!(t.replaced.is_empty(), "a create replaces nothing");
        let mut t = t;
        t.add_reply(&Reply::Attr(crate::testing::file_attr(9)));
        assert_eq!(t.inodes, [9].into());
        assert_eq!(
            t.created,
            Some(((5, "f".into()), 9)),
            "the new entry and inode"
        );
    }

    #[test]
    fn t20_a_rename_replaces_both_of_its_entries() {
        let t = Touched::of(&Command::WithContext {
            ctx: Default::default(),
            cmd: Box::new(Command::Rename {
                parent: 2,
                name: "a".into(),
                new_parent: 3,
                new_name: "b".into(),
                flags: RenameFlags::default(),
                now: NOW,
            }),
        });
        assert_eq!(t.dirs, [2, 3].into());
        assert_eq!(t.replaced, names(&[(2, "a"), (3, "b")]));
        let u = Touched::of(&Command::Unlink {
            parent: 2,
            name: "a".into(),
            now: NOW,
        });
        assert_eq!(u.replaced, names(&[(2, "a")]));
    }

    #[test]
    fn t30_locks_and_holds_touch_nothing() {
        let t = Touched::of(&Command::Hold {
            holder: "m".into(),
            versions: vec![(4, 1)],
            until: NOW,
        });
        assert!(t.is_empty());
    }
}
