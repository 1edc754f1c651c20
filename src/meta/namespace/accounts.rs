//! Accounts: users and groups (`fragfs user`, `fragfs group`).
//!
//! A user is a name with two public keys: ed25519 to sign, X25519 to
//! receive wrapped keys (both from the user's key file, `trust::userkey`).
//! Every [`AccountCmd`] is signed by the user acting ([`signed_bytes`]),
//! and checked here before anything changes: a node cannot act for a user
//! whose key it does not hold. A user registers itself (signed by the key
//! it registers).
//!
//! A group has an owner, members, requests to join, and a key per epoch:
//! an X25519 public key and its secret wrapped for each member
//! (`fragfs-seal`'s `wrap_key`, done by whoever acts, never here). The
//! owner adds members, accepts requests and removes members; anyone but
//! the owner may leave. Removing or leaving starts a new epoch whose secret
//! is wrapped for the remaining members only: new versions use it. The
//! removed member's wrapped secrets of earlier epochs are dropped too (it
//! may still hold what it unwrapped before). An admitted member gets every
//! epoch's secret. Every group command names the group's `seq` (compare
//! and swap), so an old signed command cannot be replayed.

use crate::meta::types::{FsError, Reply, Time};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const MAX_USERS: usize = 4096;
pub const MAX_GROUPS: usize = 1024;
pub const MAX_GROUP_MEMBERS: usize = 1024;
pub const MAX_REQUESTS: usize = 1024;
pub const MAX_EPOCHS: usize = 256;
/// The longest user or group name (the key file's rule, `trust::userkey`).
pub const MAX_NAME: usize = 64;
/// The length of a wrapped secret (`fragfs_seal::WRAPPED_LEN`).
pub const WRAPPED_LEN: usize = 89;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub sign: [u8; 32],
    pub wrap: [u8; 32],
    pub since: Time,
}

/// A group's key of one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupKey {
    pub epoch: u32,
    pub public: [u8; 32],
    /// The epoch's secret, wrapped for each member (by user name).
    pub wrapped: BTreeMap<String, Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub owner: String,
    pub members: BTreeSet<String>,
    pub requests: BTreeSet<String>,
    /// Bumped by every change; group commands name it.
    pub seq: u64,
    /// Oldest first; the last is the current epoch.
    pub keys: Vec<GroupKey>,
    pub since: Time,
}

impl Group {
    pub fn current(&self) -> Option<&GroupKey> {
        self.keys.last()
    }
}

/// What a user does ([`AccountCmd::act`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Act {
    /// Registers the acting user with these keys.
    AddUser {
        sign: [u8; 32],
        wrap: [u8; 32],
        now: Time,
    },
    /// A new group owned by the acting user; `key` is epoch 1, wrapped
    /// for the owner alone.
    CreateGroup {
        group: String,
        key: GroupKey,
        now: Time,
    },
    /// The acting user asks to join.
    Request { group: String, seq: u64 },
    /// The owner adds `user` (accepting its request if it made one);
    /// `wrapped` holds every epoch's secret for it, oldest first.
    Add {
        group: String,
        user: String,
        wrapped: Vec<Vec<u8>>,
        seq: u64,
    },
    /// The owner removes `user`; `key` is the next epoch, wrapped for the
    /// members that stay.
    Remove {
        group: String,
        user: String,
        key: GroupKey,
        seq: u64,
    },
    /// The acting user leaves; `key` is the next epoch for those that stay.
    Leave {
        group: String,
        key: GroupKey,
        seq: u64,
    },
    /// Gives directory `dir` to `group` (None: takes it back), its new
    /// versions sealed when `encrypted` (`namespace::shares`).
    Share {
        dir: crate::meta::types::Ino,
        group: Option<String>,
        encrypted: bool,
        now: Time,
    },
}

/// An act signed by the user doing it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCmd {
    pub actor: String,
    pub act: Act,
    /// ed25519 over [`signed_bytes`].
    pub signature: Vec<u8>,
}

/// What the actor signs.
pub fn signed_bytes(actor: &str, act: &Act) -> Vec<u8> {
    let mut m = b"fragfs account v1\0".to_vec();
    m.extend_from_slice(actor.as_bytes());
    m.push(0);
    m.extend(postcard::to_stdvec(act).expect("serialising plain data cannot fail"));
    m
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounts {
    users: BTreeMap<String, User>,
    groups: BTreeMap<String, Group>,
}

impl Accounts {
    pub fn users(&self) -> &BTreeMap<String, User> {
        &self.users
    }

    pub fn groups(&self) -> &BTreeMap<String, Group> {
        &self.groups
    }

    /// Whether `user` is a member of `group`.
    pub fn is_member(&self, group: &str, user: &str) -> bool {
        self.groups
            .get(group)
            .is_some_and(|g| g.members.contains(user))
    }

    /// Checks that `cmd` was signed by its actor (a registered user, or
    /// the user it registers).
    pub fn verify(&self, cmd: &AccountCmd) -> Result<(), FsError> {
        check_name(&cmd.actor)?;
        let signer = match &cmd.act {
            Act::AddUser { sign, .. } => *sign,
            _ => {
                self.users
                    .get(&cmd.actor)
                    .ok_or(FsError::NotPermitted)?
                    .sign
            }
        };
        verify(&signer, &signed_bytes(&cmd.actor, &cmd.act), &cmd.signature)
    }

    pub fn apply(&mut self, cmd: AccountCmd) -> Result<Reply, FsError> {
        self.verify(&cmd)?;
        let actor = cmd.actor;
        match cmd.act {
            Act::AddUser { sign, wrap, now } => self.add_user(actor, sign, wrap, now),
            Act::CreateGroup { group, key, now } => self.create_group(actor, group, key, now),
            Act::Request { group, seq } => {
                let g = self.group_at(&group, seq)?;
                if g.members.contains(&actor) {
                    return Err(FsError::Exists);
                }
                if g.requests.len() >= MAX_REQUESTS {
                    return Err(FsError::NoLocks);
                }
                let g = self.group_mut(&group);
                g.requests.insert(actor);
                g.seq += 1;
                Ok(Reply::Done)
            }
            Act::Add {
                group,
                user,
                wrapped,
                seq,
            } => self.add(actor, group, user, wrapped, seq),
            Act::Remove {
                group,
                user,
                key,
                seq,
            } => {
                let g = self.group_at(&group, seq)?;
                if g.owner != actor || user == actor {
                    return Err(FsError::NotPermitted);
                }
                if !g.members.contains(&user) {
                    return Err(FsError::NotFound);
                }
                self.next_epoch(&group, &user, key)
            }
            Act::Leave { group, key, seq } => {
                let g = self.group_at(&group, seq)?;
                if !g.members.contains(&actor) {
                    return Err(FsError::NotFound);
                }
                if g.owner == actor {
                    return Err(FsError::NotPermitted);
                }
                self.next_epoch(&group, &actor, key)
            }
            // Applied by the namespace, which knows directories.
            Act::Share { .. } => Err(FsError::Invalid),
        }
    }

    fn add_user(
        &mut self,
        name: String,
        sign: [u8; 32],
        wrap: [u8; 32],
        now: Time,
    ) -> Result<Reply, FsError> {
        if self.users.contains_key(&name) {
            return Err(FsError::Exists);
        }
        if self.users.len() >= MAX_USERS {
            return Err(FsError::NoLocks);
        }
        self.users.insert(
            name,
            User {
                sign,
                wrap,
                since: now,
            },
        );
        Ok(Reply::Done)
    }

    fn create_group(
        &mut self,
        owner: String,
        group: String,
        key: GroupKey,
        now: Time,
    ) -> Result<Reply, FsError> {
        check_name(&group)?;
        if self.groups.contains_key(&group) {
            return Err(FsError::Exists);
        }
        if self.groups.len() >= MAX_GROUPS {
            return Err(FsError::NoLocks);
        }
        let members = BTreeSet::from([owner.clone()]);
        check_key(&key, 1, &members)?;
        self.groups.insert(
            group,
            Group {
                owner,
                members,
                requests: BTreeSet::new(),
                seq: 0,
                keys: vec![key],
                since: now,
            },
        );
        Ok(Reply::Done)
    }

    fn add(
        &mut self,
        actor: String,
        group: String,
        user: String,
        wrapped: Vec<Vec<u8>>,
        seq: u64,
    ) -> Result<Reply, FsError> {
        let g = self.group_at(&group, seq)?;
        if g.owner != actor {
            return Err(FsError::NotPermitted);
        }
        if !self.users.contains_key(&user) {
            return Err(FsError::NotFound);
        }
        if g.members.contains(&user) {
            return Err(FsError::Exists);
        }
        if g.members.len() >= MAX_GROUP_MEMBERS {
            return Err(FsError::NoLocks);
        }
        if wrapped.len() != g.keys.len() || wrapped.iter().any(|w| w.len() != WRAPPED_LEN) {
            return Err(FsError::Invalid);
        }
        let g = self.group_mut(&group);
        for (k, w) in g.keys.iter_mut().zip(wrapped) {
            k.wrapped.insert(user.clone(), w);
        }
        g.requests.remove(&user);
        g.members.insert(user);
        g.seq += 1;
        Ok(Reply::Done)
    }

    /// `gone` leaves `group`, whose next epoch is `key`.
    fn next_epoch(&mut self, group: &str, gone: &str, key: GroupKey) -> Result<Reply, FsError> {
        let g = &self.groups[group];
        if g.keys.len() >= MAX_EPOCHS {
            return Err(FsError::NoLocks);
        }
        let mut stay = g.members.clone();
        stay.remove(gone);
        let epoch = g.current().map_or(1, |k| k.epoch + 1);
        check_key(&key, epoch, &stay)?;
        let g = self.group_mut(group);
        for k in &mut g.keys {
            k.wrapped.remove(gone);
        }
        g.keys.push(key);
        g.members = stay;
        g.seq += 1;
        Ok(Reply::Done)
    }

    fn group_at(&self, group: &str, seq: u64) -> Result<&Group, FsError> {
        let g = self.groups.get(group).ok_or(FsError::NotFound)?;
        if g.seq != seq {
            return Err(FsError::Conflict { head: Some(g.seq) });
        }
        Ok(g)
    }

    /// The group the caller has already found with [`Self::group_at`].
    fn group_mut(&mut self, group: &str) -> &mut Group {
        self.groups
            .get_mut(group)
            .expect("the group's existence is checked before any mutation")
    }
}

/// A key of `epoch` wrapped for exactly `members`.
fn check_key(key: &GroupKey, epoch: u32, members: &BTreeSet<String>) -> Result<(), FsError> {
    let names: BTreeSet<&String> = key.wrapped.keys().collect();
    let ok = key.epoch == epoch
        && names == members.iter().collect()
        && key.wrapped.values().all(|w| w.len() == WRAPPED_LEN);
    ok.then_some(Reply::Done)
        .map(|_| ())
        .ok_or(FsError::Invalid)
}

fn check_name(name: &str) -> Result<(), FsError> {
    valid_name(name).then_some(()).ok_or(FsError::Invalid)
}

/// The one rule for user and group names (and key file names): 1 to 64
/// letters, digits, '.', '_' or '-', not starting with '.'.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn verify(public: &[u8; 32], message: &[u8], signature: &[u8]) -> Result<(), FsError> {
    let key = VerifyingKey::from_bytes(public).map_err(|_| FsError::Invalid)?;
    let sig = Signature::from_slice(signature).map_err(|_| FsError::NotPermitted)?;
    key.verify(message, &sig).map_err(|_| FsError::NotPermitted)
}
