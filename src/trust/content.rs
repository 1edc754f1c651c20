//! Content keys of files in encrypted shared directories: a random key per
//! file (kept across its versions while the group's key epoch lasts),
//! wrapped for the group's current epoch with X25519 (`fragfs-seal`), and
//! opened by a member through the group secret wrapped for that member.
//! Pure: the namespace holds only the wrapped form (`meta::proofs`).

use super::groups::{secret_of, GroupError};
use super::UserKey;
use crate::meta::accounts::Accounts;
use crate::meta::proofs::SealedKey;
use fragfs_seal::{unwrap_key, wrap_key, ContentKey, WrapPublic, WrapSecret, Wrapped};

/// A new content key, wrapped for `group`'s current epoch.
pub fn new_content_key(
    accounts: &Accounts,
    group: &str,
) -> Result<(ContentKey, SealedKey), GroupError> {
    let g = accounts
        .groups()
        .get(group)
        .ok_or_else(|| GroupError::NoGroup(group.into()))?;
    let current = g.current().ok_or(GroupError::NotWrapped(0))?;
    let key = ContentKey::generate()?;
    let to = WrapPublic::from_bytes(current.public)?;
    let wrapped = wrap_key(key.as_bytes(), &to)?.to_bytes().to_vec();
    let sealed = SealedKey {
        group: group.into(),
        epoch: current.epoch,
        wrapped,
    };
    Ok((key, sealed))
}

/// The content key `k` wraps, as `user` (a member who holds the group
/// secret of `k`'s epoch) opens it.
pub fn open_content_key(
    user: &UserKey,
    accounts: &Accounts,
    k: &SealedKey,
) -> Result<ContentKey, GroupError> {
    let g = accounts
        .groups()
        .get(&k.group)
        .ok_or_else(|| GroupError::NoGroup(k.group.clone()))?;
    let epoch = g
        .keys
        .iter()
        .find(|e| e.epoch == k.epoch)
        .ok_or(GroupError::NotWrapped(k.epoch))?;
    let secret = WrapSecret::from_bytes(*secret_of(user, epoch)?);
    let key = unwrap_key(&Wrapped::from_bytes(k.wrapped_key())?, &secret)?;
    Ok(ContentKey::from_bytes(*key))
}

/// Whether `k` is wrapped for `group`'s current epoch.
pub fn is_current(accounts: &Accounts, k: &SealedKey) -> bool {
    accounts
        .groups()
        .get(&k.group)
        .and_then(|g| g.current())
        .is_some_and(|c| c.epoch == k.epoch)
}
