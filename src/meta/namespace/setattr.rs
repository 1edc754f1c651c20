//! `chown`, `chmod`, `truncate` and `utimens`: [`Command::SetAttr`] with
//! its permission rules.

use super::*;

impl Namespace {
    /// `chown`/`chmod`/`truncate`/`utimens` of `ino` by `caller`, member
    /// of `groups` besides its primary group.
    pub(super) fn set_attr(
        &mut self,
        ino: Ino,
        caller: Caller,
        groups: &[u32],
        set: SetAttr,
        now: Time,
    ) -> Result<Reply, FsError> {
        let node = self.node(ino)?;
        let old = &node.attr;
        if set.size.is_some() {
            match old.kind {
                Kind::File => {}
                Kind::Dir => return Err(FsError::IsDir),
                _ => return Err(FsError::Invalid),
            }
        }
        let root = caller.uid == 0;
        let owner = caller.uid == old.uid;
        // The owner may "change" the owner to itself (chown to the same uid),
        // and the group to the file's or its own group; root may do anything.
        let uid_ok = set.uid.is_none_or(|uid| root || (owner && uid == old.uid));
        let gid_ok = set
            .gid
            .is_none_or(|gid| root || (owner && (gid == old.gid || caller.in_group(gid, groups))));
        // Anyone may clear setuid/setgid and nothing else: the kernel asks
        // so, with the writer's credentials, before a non-owner's write.
        let perm_ok = set
            .perm
            .is_none_or(|p| root || owner || only_kills_priv(old.perm, p & PERM_MASK));
        if !(uid_ok && gid_ok && perm_ok) {
            return Err(FsError::NotPermitted);
        }

        let mut a = old.clone();
        let chown = set.uid.is_some() || set.gid.is_some();
        a.uid = set.uid.unwrap_or(a.uid);
        a.gid = set.gid.unwrap_or(a.gid);
        // Linux clears setuid on chown of a non-directory even when root does it.
        if chown && a.kind != Kind::Dir {
            a.perm = kill_priv(a.perm);
        }
        if let Some(size) = set.size {
            a.size = size;
            a.mtime = now;
            if !root {
                a.perm = kill_priv(a.perm);
            }
        }
        // An explicit mode is applied last and wins over the clearing above.
        if let Some(perm) = set.perm {
            a.perm = perm & PERM_MASK;
            if !root && !caller.in_group(a.gid, groups) {
                a.perm &= !S_ISGID;
            }
        }
        a.atime = set.atime.unwrap_or(a.atime);
        a.mtime = set.mtime.unwrap_or(a.mtime);
        if set.changes_anything() {
            a.ctime = now;
        }
        self.node_mut(ino).attr = a.clone();
        if set.perm.is_some() {
            self.chmod_acl(ino, a.perm);
        }
        Ok(Reply::Attr(a))
    }
}

/// The optional fields of [`Command::SetAttr`].
pub(super) struct SetAttr {
    pub perm: Option<u16>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<Time>,
    pub mtime: Option<Time>,
}

impl SetAttr {
    pub(super) fn changes_anything(&self) -> bool {
        self.perm.is_some()
            || self.uid.is_some()
            || self.gid.is_some()
            || self.size.is_some()
            || self.atime.is_some()
            || self.mtime.is_some()
    }
}
