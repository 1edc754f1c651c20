//! Names in encrypted shared directories: each directory's entries are
//! sealed under a [`NameKey`] of its own, derived from the group's first
//! epoch secret with the shared directory and the directory in the
//! context (`fragfs-seal`: deterministic AES-256-GCM-SIV, written as
//! `e.` + base32hex). Deterministic, so a lookup seals the name it is
//! given and the namespace compares sealed names; the first epoch's
//! secret, so names stay what they are when the group's key rotates
//! (renaming every entry at each rotation would race with every writer):
//! a member removed later can still open names it could open before, never
//! the content of versions sealed after it left. Pure, like the rest of
//! `trust`.

use super::groups::{secret_of, GroupError};
use super::UserKey;
use crate::meta::accounts::Accounts;
use crate::meta::Ino;
use fragfs_seal::{decode_sealed_name, encode_sealed_name, open_name, seal_name, NameKey};

/// The key the entries of directory `dir` (at or below shared directory
/// `share`, given to `group`) are sealed with, as `user` (a member) opens
/// it.
pub fn dir_name_key(
    user: &UserKey,
    accounts: &Accounts,
    group: &str,
    share: Ino,
    dir: Ino,
) -> Result<NameKey, GroupError> {
    let g = accounts
        .groups()
        .get(group)
        .ok_or_else(|| GroupError::NoGroup(group.into()))?;
    let first = g.keys.first().ok_or(GroupError::NotWrapped(1))?;
    let secret = secret_of(user, first)?;
    Ok(NameKey::derive(
        &secret,
        &format!("share {share} dir {dir}"),
    ))
}

/// `name` as directory entries under `key` store it.
pub fn seal(key: &NameKey, name: &str) -> Result<String, fragfs_seal::SealError> {
    Ok(encode_sealed_name(&seal_name(key, name.as_bytes())?))
}

/// The name a stored entry holds, if it is sealed under `key` (and valid
/// UTF-8, as every name a mount seals is).
pub fn open(key: &NameKey, stored: &str) -> Option<String> {
    let sealed = decode_sealed_name(stored).ok()?;
    String::from_utf8(open_name(key, &sealed).ok()?).ok()
}

/// Whether `stored` has the shape of a sealed name (the namespace takes
/// no other name in an encrypted shared directory).
pub fn is_sealed(stored: &str) -> bool {
    decode_sealed_name(stored).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_names_seal_and_open_per_directory() {
        let a = NameKey::derive(&[7; 32], "share 2 dir 2");
        let b = NameKey::derive(&[7; 32], "share 2 dir 3");
        let s = seal(&a, "report.pdf").unwrap();
        assert!(is_sealed(&s) && s.starts_with("e."), "{s}");
        assert_eq!(seal(&a, "report.pdf").unwrap(), s, "deterministic");
        assert_ne!(seal(&b, "report.pdf").unwrap(), s, "per directory");
        assert_eq!(open(&a, &s).as_deref(), Some("report.pdf"));
        assert_eq!(open(&b, &s), None);
        assert_eq!(open(&a, "report.pdf"), None);
        assert!(!is_sealed("report.pdf") && !is_sealed("e.XYZ"));
    }
}
