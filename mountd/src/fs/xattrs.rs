//! Extended attributes: set, get, list and remove, guarded like every other change or look.

// The callbacks' argument lists, as fuser gives them.
#![allow(clippy::too_many_arguments)]

use super::*;

/// Extended attribute names as `listxattr(2)` gives them: each followed by
/// a NUL.
fn name_list<'a>(names: impl Iterator<Item = &'a String>) -> Vec<u8> {
    let mut list = Vec::new();
    for n in names {
        list.extend_from_slice(n.as_bytes());
        list.push(0);
    }
    list
}

/// The extended attribute of a file's capabilities.
const CAPABILITY: &str = "security.capability";

impl FragFs {
    pub(super) fn op_setxattr(
        &self,
        req: &Request,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        let name = match name_of(name) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        if history::owns(ino.0) {
            return reply.error(Errno::EROFS);
        }
        let mode = match flags {
            0 => XattrMode::Any,
            libc::XATTR_CREATE => XattrMode::Create,
            libc::XATTR_REPLACE => XattrMode::Replace,
            _ => return reply.error(Errno::EINVAL),
        };
        let (core, value) = (self.core.clone(), value.to_vec());
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "setxattr",
            async move {
                g.check_all(uid, &[ino.0], Want::Write).await?;
                core.setxattr(ino.0, name, value, mode).await
            },
            empty(reply),
        );
    }

    pub(super) fn op_getxattr(
        &self,
        req: &Request,
        ino: INodeNo,
        name: &OsStr,
        size: u32,
        reply: ReplyXattr,
    ) {
        if history::owns(ino.0) {
            return reply.error(Errno::ENODATA);
        }
        let name = match name_of(name) {
            Ok(n) => n,
            Err(_) => return reply.error(Errno::ENODATA),
        };
        let core = self.core.clone();
        // Asked by the kernel before every write.
        if name == CAPABILITY && core.uncapped_now(ino.0) {
            return reply.error(Errno::ENODATA);
        }
        if let Some(x) = core.xattrs_now(ino.0) {
            return match x.get(&name) {
                Some(v) => answer_xattr(reply, size, v),
                None => reply.error(Errno::ENODATA),
            };
        }
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "getxattr",
            async move {
                g.check_all(uid, &[ino.0], Want::Read).await?;
                core.getxattr(ino.0, name).await
            },
            move |r| match r {
                Ok(v) => answer_xattr(reply, size, &v),
                Err(e) => reply.error(e),
            },
        );
    }

    pub(super) fn op_listxattr(&self, req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        if history::owns(ino.0) {
            return answer_xattr(reply, size, &[]);
        }
        let core = self.core.clone();
        if let Some(x) = core.xattrs_now(ino.0) {
            return answer_xattr(reply, size, &name_list(x.keys()));
        }
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "listxattr",
            async move {
                g.check_all(uid, &[ino.0], Want::Read).await?;
                core.listxattr(ino.0).await
            },
            move |r| match r {
                Ok(names) => answer_xattr(reply, size, &name_list(names.iter())),
                Err(e) => reply.error(e),
            },
        );
    }

    pub(super) fn op_removexattr(
        &self,
        req: &Request,
        ino: INodeNo,
        name: &OsStr,
        reply: ReplyEmpty,
    ) {
        if history::owns(ino.0) {
            return reply.error(Errno::EROFS);
        }
        let name = match name_of(name) {
            Ok(n) => n,
            Err(_) => return reply.error(Errno::ENODATA),
        };
        let core = self.core.clone();
        let (g, uid) = (self.guard.clone(), req.uid());
        self.meta(
            "removexattr",
            async move {
                g.check_all(uid, &[ino.0], Want::Write).await?;
                core.removexattr(ino.0, name).await
            },
            empty(reply),
        );
    }
}
