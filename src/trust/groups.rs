//! The acts a user signs on accounts (`meta::accounts`), built where the
//! user's key is: registering, creating a group, asking to join, adding
//! (or accepting) a member, removing one, leaving. Group secrets are made,
//! wrapped and unwrapped here with `fragfs-seal` (X25519 per reader); the
//! namespace only ever sees public keys and wrapped secrets.

use super::UserKey;
use crate::meta::{
    accounts::{signed_bytes, AccountCmd, Accounts, Act, Group, GroupKey},
    Time,
};
use fragfs_seal::{unwrap_key, wrap_key, SealError, WrapPublic, WrapSecret, Wrapped, Zeroizing};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("no group {0}")]
    NoGroup(String),
    #[error("no user {0} is registered (fragfs user add {0})")]
    NoUser(String),
    #[error("{user} is not a member of group {group}")]
    NotMember { user: String, group: String },
    #[error("only the owner of group {group} ({owner}) may do that")]
    NotOwner { group: String, owner: String },
    #[error("the group key of epoch {0} is not wrapped for you")]
    NotWrapped(u32),
    #[error("a key: {0}")]
    Seal(#[from] SealError),
}

/// `act` signed by `key`'s user.
pub fn signed(key: &UserKey, act: Act) -> AccountCmd {
    let signature = key.sign(&signed_bytes(key.name(), &act)).to_vec();
    AccountCmd {
        actor: key.name().into(),
        act,
        signature,
    }
}

/// Registers `key`'s user.
pub fn register(key: &UserKey) -> AccountCmd {
    let act = Act::AddUser {
        sign: key.public(),
        wrap: key.wrap_public(),
        now: Time::now(),
    };
    signed(key, act)
}

/// A new group owned by `key`'s user.
pub fn create(key: &UserKey, group: &str) -> Result<AccountCmd, GroupError> {
    let owner = BTreeMap::from([(key.name().to_string(), key.wrap_public())]);
    let act = Act::CreateGroup {
        group: group.into(),
        key: new_epoch(1, &owner)?,
        now: Time::now(),
    };
    Ok(signed(key, act))
}

/// `key`'s user asks to join `group`.
pub fn request(key: &UserKey, accounts: &Accounts, group: &str) -> Result<AccountCmd, GroupError> {
    let g = find(accounts, group)?;
    let act = Act::Request {
        group: group.into(),
        seq: g.seq,
    };
    Ok(signed(key, act))
}

/// The owner adds `user` (or accepts its request): every epoch's secret,
/// unwrapped with the owner's key, wrapped again for `user`.
pub fn add(
    key: &UserKey,
    accounts: &Accounts,
    group: &str,
    user: &str,
) -> Result<AccountCmd, GroupError> {
    let g = owned(key, accounts, group)?;
    let to = wrap_public_of(accounts, user)?;
    let mut wrapped = Vec::with_capacity(g.keys.len());
    for k in &g.keys {
        let secret = secret_of(key, k)?;
        wrapped.push(wrap_key(&secret, &to)?.to_bytes().to_vec());
    }
    let act = Act::Add {
        group: group.into(),
        user: user.into(),
        wrapped,
        seq: g.seq,
    };
    Ok(signed(key, act))
}

/// The owner removes `user`: a new epoch for those who stay.
pub fn remove(
    key: &UserKey,
    accounts: &Accounts,
    group: &str,
    user: &str,
) -> Result<AccountCmd, GroupError> {
    let g = owned(key, accounts, group)?;
    is_member(g, group, user)?;
    let act = Act::Remove {
        group: group.into(),
        user: user.into(),
        key: next_epoch(accounts, g, user)?,
        seq: g.seq,
    };
    Ok(signed(key, act))
}

/// `key`'s user leaves `group`: a new epoch for those who stay.
pub fn leave(key: &UserKey, accounts: &Accounts, group: &str) -> Result<AccountCmd, GroupError> {
    let g = find(accounts, group)?;
    is_member(g, group, key.name())?;
    let act = Act::Leave {
        group: group.into(),
        key: next_epoch(accounts, g, key.name())?,
        seq: g.seq,
    };
    Ok(signed(key, act))
}

/// `key`'s user gives directory `dir` to `group` (None: takes it back
/// from the group holding it, `held_by`); its new versions sealed when
/// `encrypted`.
pub fn share(
    key: &UserKey,
    accounts: &Accounts,
    dir: crate::meta::Ino,
    group: Option<&str>,
    encrypted: bool,
) -> Result<AccountCmd, GroupError> {
    if let Some(group) = group {
        is_member(find(accounts, group)?, group, key.name())?;
    }
    let act = Act::Share {
        dir,
        group: group.map(str::to_owned),
        encrypted,
        now: Time::now(),
    };
    Ok(signed(key, act))
}

/// The secret of epoch `k`, as `key`'s user unwraps it.
pub fn secret_of(key: &UserKey, k: &GroupKey) -> Result<Zeroizing<[u8; 32]>, GroupError> {
    let wrapped = k
        .wrapped
        .get(key.name())
        .ok_or(GroupError::NotWrapped(k.epoch))?;
    let wrapped = Wrapped::from_bytes(wrapped)?;
    Ok(unwrap_key(&wrapped, &key.wrap_secret())?)
}

fn find<'a>(accounts: &'a Accounts, group: &str) -> Result<&'a Group, GroupError> {
    accounts
        .groups()
        .get(group)
        .ok_or_else(|| GroupError::NoGroup(group.into()))
}

fn is_member(g: &Group, group: &str, user: &str) -> Result<(), GroupError> {
    match g.members.contains(user) {
        true => Ok(()),
        false => Err(GroupError::NotMember {
            user: user.into(),
            group: group.into(),
        }),
    }
}

fn owned<'a>(key: &UserKey, accounts: &'a Accounts, group: &str) -> Result<&'a Group, GroupError> {
    let g = find(accounts, group)?;
    if g.owner != key.name() {
        return Err(GroupError::NotOwner {
            group: group.into(),
            owner: g.owner.clone(),
        });
    }
    Ok(g)
}

fn wrap_public_of(accounts: &Accounts, user: &str) -> Result<WrapPublic, GroupError> {
    let u = accounts
        .users()
        .get(user)
        .ok_or_else(|| GroupError::NoUser(user.into()))?;
    Ok(WrapPublic::from_bytes(u.wrap)?)
}

/// The epoch after `g`'s current one, for its members but `gone`.
fn next_epoch(accounts: &Accounts, g: &Group, gone: &str) -> Result<GroupKey, GroupError> {
    let stay: BTreeSet<&String> = g.members.iter().filter(|m| *m != gone).collect();
    let mut readers = BTreeMap::new();
    for m in stay {
        readers.insert(m.clone(), wrap_public_of(accounts, m)?.to_bytes());
    }
    let epoch = g.current().map_or(1, |k| k.epoch + 1);
    new_epoch(epoch, &readers)
}

/// A fresh group secret for `epoch`, wrapped for each reader.
fn new_epoch(epoch: u32, readers: &BTreeMap<String, [u8; 32]>) -> Result<GroupKey, GroupError> {
    let secret = WrapSecret::generate()?;
    let bytes = secret.to_bytes();
    let mut wrapped = BTreeMap::new();
    for (name, public) in readers {
        let to = WrapPublic::from_bytes(*public)?;
        wrapped.insert(name.clone(), wrap_key(&bytes, &to)?.to_bytes().to_vec());
    }
    Ok(GroupKey {
        epoch,
        public: secret.public().to_bytes(),
        wrapped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Caller, Command, Namespace};

    fn apply(ns: &mut Namespace, cmd: AccountCmd) {
        ns.apply(Command::Accounts(cmd)).expect("the act applies");
    }

    /// Through the namespace: a group made, joined, and a member removed;
    /// each member unwraps the current secret, and the removed one cannot
    /// unwrap the new epoch's.
    #[test]
    fn t10_members_share_each_epochs_secret_and_a_removed_one_not_the_next() {
        let mut ns = Namespace::new(Caller::ROOT, Time::default());
        let keys: Vec<UserKey> = ["alice", "bob", "carol"]
            .iter()
            .map(|n| UserKey::generate(n).unwrap())
            .collect();
        for k in &keys {
            apply(&mut ns, register(k));
        }
        let (alice, bob, carol) = (&keys[0], &keys[1], &keys[2]);
        apply(&mut ns, create(alice, "team").unwrap());
        let cmd = request(bob, ns.accounts(), "team").unwrap();
        apply(&mut ns, cmd);
        let cmd = add(alice, ns.accounts(), "team", "bob").unwrap();
        apply(&mut ns, cmd);
        let cmd = add(alice, ns.accounts(), "team", "carol").unwrap();
        apply(&mut ns, cmd);
        let g = &ns.accounts().groups()["team"];
        let first = &g.keys[0];
        let s = secret_of(alice, first).unwrap();
        assert_eq!(*secret_of(bob, first).unwrap(), *s);
        assert_eq!(*secret_of(carol, first).unwrap(), *s);
        assert_eq!(WrapSecret::from_bytes(*s).public().to_bytes(), first.public);

        let cmd = remove(alice, ns.accounts(), "team", "bob").unwrap();
        apply(&mut ns, cmd);
        let g = &ns.accounts().groups()["team"];
        let second = g.current().unwrap();
        assert_eq!(second.epoch, 2);
        assert_eq!(
            *secret_of(alice, second).unwrap(),
            *secret_of(carol, second).unwrap()
        );
        assert_ne!(*secret_of(carol, second).unwrap(), *s);
        assert!(matches!(
            secret_of(bob, second),
            Err(GroupError::NotWrapped(2))
        ));
        // Not the owner: refused before anything is signed.
        assert!(matches!(
            remove(carol, ns.accounts(), "team", "alice"),
            Err(GroupError::NotOwner { .. })
        ));
    }
}
