//! POSIX ACLs in the namespace and the caller's context of
//! [`Command::WithContext`]: an access ACL and the mode stay consistent both
//! ways (setting `system.posix_acl_access` sets the mode's owner, group or
//! mask, and other bits; a chmod rewrites the ACL's entries; an ACL the mode
//! says in full is kept as the mode only), a new inode inherits its parent's
//! default ACL (a directory also as its own default), and the umask applies
//! only where no default ACL does. Enforcing ACLs is the kernel's
//! (`FUSE_POSIX_ACL`); malformed values are refused as `Invalid`.

use super::{Namespace, PERM_MASK};
use crate::meta::acl::{self, Acl};
use crate::meta::types::{Command, Context, FsError, Ino, Kind, Reply, Time};
use std::collections::BTreeMap;

impl Namespace {
    /// Applies `cmd` with the caller's supplementary groups and umask.
    pub(super) fn with_context(&mut self, ctx: Context, cmd: Command) -> Result<Reply, FsError> {
        let umask = ctx.umask.unwrap_or(0) & PERM_MASK;
        match cmd {
            Command::Create {
                parent, mut perm, ..
            }
            | Command::Mknod {
                parent, mut perm, ..
            }
            | Command::Mkdir {
                parent, mut perm, ..
            } => {
                if !self.has_default_acl(parent) {
                    perm &= !umask;
                }
                self.apply_one(with_perm(cmd, perm))
            }
            Command::SetAttr {
                ino,
                caller,
                perm,
                uid,
                gid,
                size,
                atime,
                mtime,
                now,
            } => {
                let set = super::SetAttr {
                    perm,
                    uid,
                    gid,
                    size,
                    atime,
                    mtime,
                };
                self.set_attr(ino, caller, &ctx.groups, set, now)
            }
            _ => Err(FsError::Invalid),
        }
    }

    fn has_default_acl(&self, dir: Ino) -> bool {
        self.inodes
            .get(&dir)
            .is_some_and(|n| n.xattrs.contains_key(acl::DEFAULT))
    }

    /// What a new inode in `parent` inherits: its mode limited by the
    /// parent's default ACL (if any), and the ACL attributes it gets.
    pub(super) fn inherit_acl(
        &self,
        parent: Ino,
        kind: Kind,
        perm: u16,
    ) -> (u16, BTreeMap<String, Vec<u8>>) {
        let mut xattrs = BTreeMap::new();
        let Some(def) = self
            .inodes
            .get(&parent)
            .and_then(|n| n.xattrs.get(acl::DEFAULT))
        else {
            return (perm, xattrs);
        };
        // Stored values were validated when set; symlinks have no ACL.
        let Some(mut access) = Acl::parse(def).ok().filter(|_| kind != Kind::Symlink) else {
            return (perm, xattrs);
        };
        if kind == Kind::Dir {
            xattrs.insert(acl::DEFAULT.to_owned(), def.clone());
        }
        let perm = access.create_masq(perm);
        if !access.is_mode_only() {
            xattrs.insert(acl::ACCESS.to_owned(), access.to_bytes());
        }
        (perm, xattrs)
    }

    /// Sets an ACL attribute (`name` is one of the two): validates `value`,
    /// keeps the mode in step with an access ACL, and stores an access ACL
    /// only when the mode cannot say it all.
    pub(super) fn set_acl(
        &mut self,
        ino: Ino,
        name: &str,
        value: &[u8],
        now: Time,
    ) -> Result<Reply, FsError> {
        let parsed = Acl::parse(value)?;
        let node = self.node(ino)?;
        if name == acl::DEFAULT && node.attr.kind != Kind::Dir {
            return Err(FsError::Invalid);
        }
        let node = self.node_mut(ino);
        if name == acl::ACCESS {
            node.attr.perm = parsed.apply_to_mode(node.attr.perm);
            if parsed.is_mode_only() {
                node.xattrs.remove(acl::ACCESS);
            } else {
                node.xattrs.insert(name.to_owned(), parsed.to_bytes());
            }
        } else {
            node.xattrs.insert(name.to_owned(), parsed.to_bytes());
        }
        node.attr.ctime = now;
        Ok(Reply::Attr(node.attr.clone()))
    }

    /// After a chmod of `ino` to `perm`: its access ACL, if any, follows.
    pub(super) fn chmod_acl(&mut self, ino: Ino, perm: u16) {
        let Some(node) = self.inodes.get_mut(&ino) else {
            return;
        };
        let Some(Ok(mut access)) = node.xattrs.get(acl::ACCESS).map(|v| Acl::parse(v)) else {
            return;
        };
        access.chmod(perm);
        node.xattrs
            .insert(acl::ACCESS.to_owned(), access.to_bytes());
    }
}

/// Whether `name` is an attribute the namespace interprets as an ACL.
pub(super) fn is_acl(name: &str) -> bool {
    name == acl::ACCESS || name == acl::DEFAULT
}

/// `cmd` (a create of some kind) asking for mode `perm` instead.
fn with_perm(mut cmd: Command, new: u16) -> Command {
    match &mut cmd {
        Command::Create { perm, .. }
        | Command::Mknod { perm, .. }
        | Command::Mkdir { perm, .. } => *perm = new,
        _ => {}
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::super::tests::{t, ALICE};
    use crate::meta::acl::tests::bytes as value;
    use crate::meta::acl::{Acl, ACCESS, DEFAULT, GROUP_OBJ, MASK, OTHER, USER, USER_OBJ};
    use crate::meta::types::*;
    use crate::meta::Namespace;

    fn named(user: u16, mask: u16) -> Vec<u8> {
        value(&[
            (USER_OBJ, 6, u32::MAX),
            (USER, user, 2000),
            (GROUP_OBJ, 4, u32::MAX),
            (MASK, mask, u32::MAX),
            (OTHER, 0, u32::MAX),
        ])
    }

    fn set(ino: Ino, name: &str, value: Vec<u8>) -> Command {
        Command::SetXattr {
            ino,
            name: name.into(),
            value,
            mode: XattrMode::Any,
            now: t(5),
        }
    }

    fn make(ns: &mut Namespace, name: &str, dir: bool, umask: Option<u16>) -> Attr {
        let base = if dir {
            Command::Mkdir {
                parent: ROOT,
                name: name.into(),
                perm: 0o777,
                caller: ALICE,
                now: t(2),
            }
        } else {
            Command::Create {
                parent: ROOT,
                name: name.into(),
                perm: 0o666,
                caller: ALICE,
                now: t(2),
            }
        };
        let cmd = Command::WithContext {
            ctx: Context {
                groups: vec![],
                umask,
            },
            cmd: Box::new(base),
        };
        match ns.apply(cmd) {
            Ok(Reply::Attr(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn t10_a_mode_acl_sets_the_mode_and_is_not_stored() {
        let mut ns = Namespace::new(Caller::ROOT, t(1));
        let f = make(&mut ns, "f", false, Some(0o077)).ino;
        assert_eq!(ns.getattr(f).unwrap().perm, 0o600);
        ns.apply(set(f, ACCESS, Acl::from_mode(0o754).to_bytes()))
            .unwrap();
        assert_eq!(ns.getattr(f).unwrap().perm, 0o754);
        assert_eq!(ns.getxattr(f, ACCESS), Err(FsError::NoData));
    }

    #[test]
    fn t10_chmod_and_an_extended_acl_stay_in_step() {
        let mut ns = Namespace::new(Caller::ROOT, t(1));
        let f = make(&mut ns, "f", false, Some(0o022)).ino;
        ns.apply(set(f, ACCESS, named(6, 6))).unwrap();
        assert_eq!(ns.getattr(f).unwrap().perm, 0o660);
        let chmod = Command::SetAttr {
            ino: f,
            caller: ALICE,
            perm: Some(0o640),
            uid: None,
            gid: None,
            size: None,
            atime: None,
            mtime: None,
            now: t(6),
        };
        ns.apply(chmod).unwrap();
        assert_eq!(ns.getxattr(f, ACCESS).unwrap(), named(6, 4));
        ns.check_invariants().unwrap();
    }

    #[test]
    fn t10_new_entries_inherit_the_default_acl_and_ignore_the_umask() {
        let mut ns = Namespace::new(Caller::ROOT, t(1));
        ns.apply(set(ROOT, DEFAULT, named(7, 7))).unwrap();
        let f = make(&mut ns, "f", false, Some(0o077));
        // Default 6/7/4/7/0 masked by 0666: owner 6, mask 6, other 0.
        assert_eq!(f.perm, 0o660);
        assert_eq!(ns.getxattr(f.ino, ACCESS).unwrap(), named(7, 6));
        assert_eq!(ns.getxattr(f.ino, DEFAULT), Err(FsError::NoData));
        let d = make(&mut ns, "d", true, Some(0o077));
        assert_eq!(d.perm, 0o670);
        assert_eq!(ns.getxattr(d.ino, DEFAULT).unwrap(), named(7, 7));
    }

    fn setattr(ino: Ino, caller: Caller, perm: Option<u16>, gid: Option<u32>) -> Command {
        Command::SetAttr {
            ino,
            caller,
            perm,
            uid: None,
            gid,
            size: None,
            atime: None,
            mtime: None,
            now: t(7),
        }
    }

    fn in_groups(groups: &[u32], cmd: Command) -> Command {
        Command::WithContext {
            ctx: Context {
                groups: groups.to_vec(),
                umask: None,
            },
            cmd: Box::new(cmd),
        }
    }

    #[test]
    fn t10_supplementary_groups_allow_chown_and_keep_setgid() {
        let mut ns = Namespace::new(Caller::ROOT, t(1));
        let f = make(&mut ns, "f", false, None).ino;
        assert_eq!(
            ns.apply(setattr(f, ALICE, None, Some(50))),
            Err(FsError::NotPermitted)
        );
        ns.apply(in_groups(&[40, 50], setattr(f, ALICE, None, Some(50))))
            .unwrap();
        assert_eq!(ns.getattr(f).unwrap().gid, 50);
        // Without the groups, a chmod by the owner drops setgid of a group
        // it is not in; with them, setgid stays.
        ns.apply(setattr(f, ALICE, Some(0o2755), None)).unwrap();
        assert_eq!(ns.getattr(f).unwrap().perm, 0o755);
        ns.apply(in_groups(&[50], setattr(f, ALICE, Some(0o2755), None)))
            .unwrap();
        assert_eq!(ns.getattr(f).unwrap().perm, 0o2755);
    }

    #[test]
    fn t10_anyone_may_clear_setuid_and_setgid_but_change_nothing_else() {
        let mut ns = Namespace::new(Caller::ROOT, t(1));
        let f = make(&mut ns, "f", false, None).ino;
        ns.apply(setattr(f, ALICE, Some(0o6777), None)).unwrap();
        let bob = Caller {
            uid: 1001,
            gid: 1001,
        };
        for perm in [0o6775, 0o7777, 0o777 | 0o1000] {
            assert_eq!(
                ns.apply(setattr(f, bob, Some(perm), None)),
                Err(FsError::NotPermitted),
                "{perm:o}"
            );
        }
        ns.apply(setattr(f, bob, Some(0o2777), None)).unwrap();
        ns.apply(setattr(f, bob, Some(0o777), None)).unwrap();
        assert_eq!(ns.getattr(f).unwrap().perm, 0o777);
    }

    #[test]
    fn t20_a_context_wraps_only_creates_and_setattr() {
        let mut ns = Namespace::new(Caller::ROOT, t(1));
        let unlink = Command::Unlink {
            parent: ROOT,
            name: "f".into(),
            now: t(3),
        };
        assert_eq!(ns.apply(in_groups(&[1], unlink)), Err(FsError::Invalid));
    }

    #[test]
    fn t10_context_encoding_is_pinned() {
        let cmd = in_groups(&[7], setattr(2, ALICE, Some(0o644), None));
        let hex: String = postcard::to_allocvec(&cmd)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let pinned = include_str!("../../../tests/data/command-v1.hex");
        assert_eq!(hex, pinned.trim());
    }

    #[test]
    fn t20_malformed_acls_and_defaults_on_files_are_invalid() {
        let mut ns = Namespace::new(Caller::ROOT, t(1));
        let f = make(&mut ns, "f", false, None).ino;
        let before = ns.clone();
        for cmd in [
            set(f, ACCESS, vec![2, 0, 0, 0, 1]),
            set(f, ACCESS, value(&[(USER_OBJ, 6, 0), (OTHER, 4, 0)])),
            set(f, DEFAULT, named(6, 6)),
        ] {
            assert_eq!(ns.apply(cmd), Err(FsError::Invalid));
        }
        assert_eq!(ns, before);
    }
}
