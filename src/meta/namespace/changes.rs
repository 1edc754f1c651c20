//! What a command changed: the inodes and directory entries other nodes'
//! caches must forget once it is applied. Pure: derived from the command,
//! the namespace just before it (which inode an entry named) and the reply
//! (which inode was created), never from a clock or IO.

use super::{Body, Namespace};
use crate::meta::{
    touched::Touched,
    types::{Changes, Command, FsError, Ino, Reply},
};

impl Namespace {
    /// Applies `cmd` like [`Namespace::apply`] and adds to `changes` what
    /// it changed. A batch applies its commands in order (a nested batch is
    /// refused) and changes the union of what its successful commands
    /// changed; a failed command changes nothing.
    pub fn apply_tracked(&mut self, cmd: Command, changes: &mut Changes) -> Result<Reply, FsError> {
        if let Command::Batch(cmds) = cmd {
            let results = cmds
                .into_iter()
                .map(|c| {
                    if matches!(c, Command::Batch(_)) {
                        Err(FsError::Invalid)
                    } else {
                        self.apply_tracked(c, changes)
                    }
                })
                .collect();
            return Ok(Reply::Batch(results));
        }
        let touched = self.touched(&cmd);
        let copy = match &cmd {
            Command::Commit(c) | Command::SignedCommit { commit: c, .. } => {
                c.copy.as_ref().map(|c| (c.parent, c.name.clone()))
            }
            _ => None,
        };
        let reply = self.apply_one(cmd)?;
        changes.extend(touched);
        if let Reply::Attr(a) | Reply::Committed { attr: a, .. } = &reply {
            changes.inodes.insert(a.ino);
        }
        // The conflict copy a commit created.
        if let Some(copy) = copy.and_then(|(dir, name)| self.entry_of(dir, &name)) {
            changes.inodes.insert(copy);
        }
        Ok(reply)
    }

    /// The inode directory `dir` names `name`, if any.
    fn entry_of(&self, dir: Ino, name: &str) -> Option<Ino> {
        match &self.inodes.get(&dir)?.body {
            Body::Dir { entries } => entries.get(name).copied(),
            _ => None,
        }
    }

    /// What `cmd` changes if it succeeds, seen before it is applied: the
    /// directories whose entries change, the entries, the inodes an entry
    /// stops naming (unlinked, removed, renamed over) and the inodes whose
    /// attributes change. Inodes a command creates come from its reply.
    fn touched(&self, cmd: &Command) -> Changes {
        let t = Touched::of(cmd);
        let mut c = Changes::default();
        c.inodes.extend(t.inodes.iter().chain(&t.dirs).copied());
        c.inodes
            .extend(t.entries.iter().filter_map(|(d, n)| self.entry_of(*d, n)));
        c.entries = t.entries;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{manifest, t, ALICE};
    use crate::meta::types::*;
    use crate::meta::Namespace;
    use std::collections::BTreeSet;

    fn apply(ns: &mut Namespace, cmd: Command) -> (Result<Reply, FsError>, Changes) {
        let mut c = Changes::default();
        let r = ns.apply_tracked(cmd, &mut c);
        (r, c)
    }

    fn changes(inodes: &[Ino], entries: &[(Ino, &str)]) -> Changes {
        Changes {
            inodes: inodes.iter().copied().collect(),
            entries: entries.iter().map(|&(d, n)| (d, n.to_owned())).collect(),
        }
    }

    fn create(parent: Ino, name: &str) -> Command {
        Command::Create {
            parent,
            name: name.into(),
            perm: 0o644,
            caller: ALICE,
            now: t(2),
        }
    }

    fn mkdir(parent: Ino, name: &str) -> Command {
        Command::Mkdir {
            parent,
            name: name.into(),
            perm: 0o755,
            caller: ALICE,
            now: t(2),
        }
    }

    fn ino_of(r: Result<Reply, FsError>) -> Ino {
        match r {
            Ok(Reply::Attr(a)) => a.ino,
            other => panic!("expected attributes, got {other:?}"),
        }
    }

    #[test]
    fn t10_each_command_names_what_it_changed() {
        let mut ns = Namespace::new(Caller::ROOT, t(1));
        let (r, c) = apply(&mut ns, mkdir(ROOT, "d"));
        let d = ino_of(r);
        assert_eq!(c, changes(&[ROOT, d], &[(ROOT, "d")]), "mkdir");
        let (r, c) = apply(&mut ns, create(d, "f"));
        let f = ino_of(r);
        assert_eq!(c, changes(&[d, f], &[(d, "f")]), "create");

        let commit = Command::CommitVersion {
            ino: f,
            base: None,
            manifest: manifest(10),
            author: "a".into(),
            hlc: Hlc::default(),
            caller: ALICE,
            now: t(3),
        };
        assert_eq!(apply(&mut ns, commit).1, changes(&[f], &[]), "commit");

        let link = Command::Link {
            ino: f,
            new_parent: ROOT,
            new_name: "hard".into(),
            now: t(3),
        };
        assert_eq!(
            apply(&mut ns, link).1,
            changes(&[ROOT, f], &[(ROOT, "hard")]),
            "link"
        );

        // Unlink names the inode the entry named, although the reply does not.
        let unlink = Command::Unlink {
            parent: ROOT,
            name: "hard".into(),
            now: t(4),
        };
        assert_eq!(
            apply(&mut ns, unlink).1,
            changes(&[ROOT, f], &[(ROOT, "hard")]),
            "unlink"
        );

        // A rename over an existing file names both inodes and both entries.
        let g = ino_of(apply(&mut ns, create(ROOT, "g")).0);
        let rename = Command::Rename {
            parent: d,
            name: "f".into(),
            new_parent: ROOT,
            new_name: "g".into(),
            flags: RenameFlags::default(),
            now: t(5),
        };
        assert_eq!(
            apply(&mut ns, rename).1,
            changes(&[ROOT, d, f, g], &[(d, "f"), (ROOT, "g")]),
            "rename over"
        );

        let rmdir = Command::Rmdir {
            parent: ROOT,
            name: "d".into(),
            now: t(6),
        };
        assert_eq!(
            apply(&mut ns, rmdir).1,
            changes(&[ROOT, d], &[(ROOT, "d")]),
            "rmdir"
        );

        let chmod = Command::SetXattr {
            ino: f,
            name: "user.x".into(),
            value: vec![1],
            mode: XattrMode::Any,
            now: t(7),
        };
        assert_eq!(apply(&mut ns, chmod).1, changes(&[f], &[]), "setxattr");
    }

    #[test]
    fn t10_a_failed_command_changes_nothing_and_a_batch_changes_the_union() {
        let mut ns = Namespace::new(Caller::ROOT, t(1));
        ino_of(ns.apply(mkdir(ROOT, "a")));
        let (r, c) = apply(&mut ns, mkdir(ROOT, "a"));
        assert_eq!(r, Err(FsError::Exists));
        assert!(c.is_empty(), "{c:?}");

        let (r, c) = apply(
            &mut ns,
            Command::Batch(vec![
                create(ROOT, "x"),
                mkdir(ROOT, "a"),
                Command::Batch(vec![create(ROOT, "nested")]),
                create(ROOT, "y"),
            ]),
        );
        let Ok(Reply::Batch(results)) = r else {
            panic!("{r:?}")
        };
        let created: BTreeSet<Ino> = results
            .into_iter()
            .filter_map(|r| match r {
                Ok(Reply::Attr(a)) => Some(a.ino),
                _ => None,
            })
            .collect();
        assert_eq!(created.len(), 2);
        let mut want = changes(&[ROOT], &[(ROOT, "x"), (ROOT, "y")]);
        want.inodes.extend(created);
        assert_eq!(c, want);
    }

    #[test]
    fn t10_apply_and_apply_tracked_agree() {
        let mut a = Namespace::new(Caller::ROOT, t(1));
        let mut b = a.clone();
        for cmd in [mkdir(ROOT, "d"), create(2, "f"), mkdir(ROOT, "d")] {
            assert_eq!(a.apply(cmd.clone()), apply(&mut b, cmd).0);
        }
        assert_eq!(a, b);
    }
}
