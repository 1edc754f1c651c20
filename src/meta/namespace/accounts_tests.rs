//! Accounts in the namespace: users register themselves, groups change
//! only by their owner's (or a leaving member's) signed acts, a removal
//! starts a new epoch wrapped for those who stay, and every refused
//! command changes nothing.

use super::accounts::{signed_bytes, AccountCmd, Act, GroupKey, WRAPPED_LEN};
use super::tests::t;
use crate::meta::types::*;
use crate::meta::Namespace;
use ed25519_dalek::{Signer, SigningKey};
use std::collections::BTreeMap;

pub(super) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub(super) fn signed(actor: &str, seed: u8, act: Act) -> Command {
    let signature = key(seed)
        .sign(&signed_bytes(actor, &act))
        .to_bytes()
        .to_vec();
    Command::Accounts(AccountCmd {
        actor: actor.into(),
        act,
        signature,
    })
}

pub(super) fn register(ns: &mut Namespace, name: &str, seed: u8) {
    let act = Act::AddUser {
        sign: key(seed).verifying_key().to_bytes(),
        wrap: [seed; 32],
        now: t(1),
    };
    assert_eq!(ns.apply(signed(name, seed, act)), Ok(Reply::Done));
}

pub(super) fn group_key(epoch: u32, members: &[&str]) -> GroupKey {
    GroupKey {
        epoch,
        public: [epoch as u8; 32],
        wrapped: members
            .iter()
            .map(|m| (m.to_string(), vec![epoch as u8; WRAPPED_LEN]))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn seq(ns: &Namespace, group: &str) -> u64 {
    ns.accounts().groups()[group].seq
}

/// Three users, alice owning group "team".
pub(super) fn team() -> Namespace {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    register(&mut ns, "alice", 1);
    register(&mut ns, "bob", 2);
    register(&mut ns, "carol", 3);
    let create = Act::CreateGroup {
        group: "team".into(),
        key: group_key(1, &["alice"]),
        now: t(2),
    };
    assert_eq!(ns.apply(signed("alice", 1, create)), Ok(Reply::Done));
    ns
}

pub(super) fn refused(ns: &mut Namespace, cmd: Command, err: FsError) {
    let before = ns.clone();
    assert_eq!(ns.apply(cmd), Err(err));
    assert_eq!(*ns, before);
}

#[test]
fn t10_a_request_accepted_by_the_owner_makes_a_member_with_every_epoch() {
    let mut ns = team();
    let req = Act::Request {
        group: "team".into(),
        seq: 0,
    };
    assert_eq!(ns.apply(signed("bob", 2, req)), Ok(Reply::Done));
    assert!(ns.accounts().groups()["team"].requests.contains("bob"));
    let add = Act::Add {
        group: "team".into(),
        user: "bob".into(),
        wrapped: vec![vec![9; WRAPPED_LEN]],
        seq: seq(&ns, "team"),
    };
    assert_eq!(ns.apply(signed("alice", 1, add)), Ok(Reply::Done));
    let g = &ns.accounts().groups()["team"];
    assert!(g.members.contains("bob") && g.requests.is_empty());
    assert_eq!(g.keys[0].wrapped["bob"], vec![9; WRAPPED_LEN]);
}

#[test]
fn t10_removing_a_member_starts_an_epoch_for_those_who_stay() {
    let mut ns = team();
    for (user, wrapped) in [("bob", 7u8), ("carol", 8)] {
        let add = Act::Add {
            group: "team".into(),
            user: user.into(),
            wrapped: vec![vec![wrapped; WRAPPED_LEN]],
            seq: seq(&ns, "team"),
        };
        ns.apply(signed("alice", 1, add)).expect("add");
    }
    let remove = Act::Remove {
        group: "team".into(),
        user: "bob".into(),
        key: group_key(2, &["alice", "carol"]),
        seq: seq(&ns, "team"),
    };
    assert_eq!(ns.apply(signed("alice", 1, remove)), Ok(Reply::Done));
    let g = &ns.accounts().groups()["team"];
    assert!(!g.members.contains("bob"));
    assert_eq!(g.current().map(|k| k.epoch), Some(2));
    assert!(g.keys.iter().all(|k| !k.wrapped.contains_key("bob")));
    // carol leaves: epoch 3 for alice alone.
    let leave = Act::Leave {
        group: "team".into(),
        key: group_key(3, &["alice"]),
        seq: seq(&ns, "team"),
    };
    assert_eq!(ns.apply(signed("carol", 3, leave)), Ok(Reply::Done));
    assert_eq!(ns.accounts().groups()["team"].members.len(), 1);
}

#[test]
fn t20_forged_replayed_and_unauthorised_acts_change_nothing() {
    let mut ns = team();
    let add = |seq| Act::Add {
        group: "team".into(),
        user: "bob".into(),
        wrapped: vec![vec![1; WRAPPED_LEN]],
        seq,
    };
    // Signed with another key than alice's.
    refused(&mut ns, signed("alice", 2, add(0)), FsError::NotPermitted);
    // Not the owner.
    refused(&mut ns, signed("carol", 3, add(0)), FsError::NotPermitted);
    // An unknown actor.
    refused(&mut ns, signed("dave", 4, add(0)), FsError::NotPermitted);
    // A stale sequence number (a replay).
    refused(
        &mut ns,
        signed("alice", 1, add(5)),
        FsError::Conflict { head: Some(0) },
    );
    // Wrapped for the wrong epochs.
    let short = Act::Add {
        group: "team".into(),
        user: "bob".into(),
        wrapped: vec![],
        seq: 0,
    };
    refused(&mut ns, signed("alice", 1, short), FsError::Invalid);
    // A new epoch not wrapped for exactly who stays.
    ns.apply(signed("alice", 1, add(0))).expect("add");
    let bad = Act::Remove {
        group: "team".into(),
        user: "bob".into(),
        key: group_key(2, &["alice", "bob"]),
        seq: 1,
    };
    refused(&mut ns, signed("alice", 1, bad), FsError::Invalid);
    // The owner cannot leave; a user cannot register twice.
    let leave = Act::Leave {
        group: "team".into(),
        key: group_key(2, &["bob"]),
        seq: 1,
    };
    refused(&mut ns, signed("alice", 1, leave), FsError::NotPermitted);
    let again = Act::AddUser {
        sign: key(1).verifying_key().to_bytes(),
        wrap: [1; 32],
        now: t(5),
    };
    refused(&mut ns, signed("alice", 1, again), FsError::Exists);
    let bad_name = Act::AddUser {
        sign: key(5).verifying_key().to_bytes(),
        wrap: [5; 32],
        now: t(5),
    };
    refused(&mut ns, signed("../x", 5, bad_name), FsError::Invalid);
    // A forged signature on a registration.
    let mut forged = signed(
        "erin",
        6,
        Act::AddUser {
            sign: key(6).verifying_key().to_bytes(),
            wrap: [6; 32],
            now: t(5),
        },
    );
    if let Command::Accounts(c) = &mut forged {
        c.signature[0] ^= 1;
    }
    refused(&mut ns, forged, FsError::NotPermitted);
}

/// An account command's log bytes are pinned: the log is kept across
/// upgrades (ed25519 signatures are deterministic).
#[test]
fn t10_the_accounts_command_is_pinned() {
    let cmd = signed(
        "alice",
        1,
        Act::Request {
            group: "team".into(),
            seq: 3,
        },
    );
    let pinned = include_str!("../../../tests/data/meta-accounts-v1.hex");
    assert_eq!(
        hex::encode(postcard::to_allocvec(&cmd).unwrap()),
        pinned.trim()
    );
}
