//! Extended attributes: names, sizes, the room an inode has, and setting
//! or removing one (ACL attributes are interpreted in `acl.rs`).

use super::{acl, Namespace};
use crate::meta::types::{
    FsError, Ino, Reply, Time, XattrMode, NAME_MAX, XATTR_LIST_MAX, XATTR_SIZE_MAX,
    XATTR_VALUES_MAX,
};
use std::collections::BTreeMap;

fn check_xattr_name(name: &str) -> Result<(), FsError> {
    if name.is_empty() {
        return Err(FsError::Invalid);
    }
    if name.len() > NAME_MAX {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// Checks that an inode's attributes stay listable and bounded once `name`
/// holds `len` bytes: the names list within [`XATTR_LIST_MAX`], the values
/// within [`XATTR_VALUES_MAX`].
fn check_xattr_room(
    xattrs: &BTreeMap<String, Vec<u8>>,
    name: &str,
    len: usize,
) -> Result<(), FsError> {
    let others = xattrs.iter().filter(|(n, _)| n.as_str() != name);
    let (names, values) = others.fold((name.len() + 1, len), |(n, v), (k, val)| {
        (n + k.len() + 1, v + val.len())
    });
    if names > XATTR_LIST_MAX || values > XATTR_VALUES_MAX {
        return Err(FsError::TooBig);
    }
    Ok(())
}

impl Namespace {
    pub(super) fn set_xattr(
        &mut self,
        ino: Ino,
        name: String,
        value: Vec<u8>,
        mode: XattrMode,
        now: Time,
    ) -> Result<Reply, FsError> {
        check_xattr_name(&name)?;
        if value.len() > XATTR_SIZE_MAX {
            return Err(FsError::TooBig);
        }
        check_xattr_room(&self.node(ino)?.xattrs, &name, value.len())?;
        let present = self.node(ino)?.xattrs.contains_key(&name);
        match mode {
            XattrMode::Create if present => return Err(FsError::Exists),
            XattrMode::Replace if !present => return Err(FsError::NoData),
            _ => {}
        }
        if acl::is_acl(&name) {
            return self.set_acl(ino, &name, &value, now);
        }
        let node = self.node_mut(ino);
        node.xattrs.insert(name, value);
        node.attr.ctime = now;
        Ok(Reply::Done)
    }

    pub(super) fn remove_xattr(
        &mut self,
        ino: Ino,
        name: &str,
        now: Time,
    ) -> Result<Reply, FsError> {
        check_xattr_name(name)?;
        if !self.node(ino)?.xattrs.contains_key(name) {
            return Err(FsError::NoData);
        }
        let node = self.node_mut(ino);
        node.xattrs.remove(name);
        node.attr.ctime = now;
        Ok(Reply::Done)
    }
}
