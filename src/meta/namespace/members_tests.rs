//! Members in the namespace: a network is founded once, an invitation
//! admits one peer once and only before it expires, a revoked member goes
//! with its open invitations, and every refused command changes nothing.

use super::members::{MemberCmd, Role, MAX_PEER_BYTES};
use super::tests::t;
use crate::meta::types::*;
use crate::meta::Namespace;

const ALICE: &[u8] = b"alice-peer";
const BOB: &[u8] = b"bob-peer";
const GUEST: &[u8] = b"guest-1";

fn apply(ns: &mut Namespace, cmd: MemberCmd) -> Result<Reply, FsError> {
    ns.apply(Command::Members(cmd))
}

fn founded() -> Namespace {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let found = MemberCmd::Found {
        id: [1; 32],
        founder: ALICE.to_vec(),
        open: false,
        now: t(1),
    };
    assert_eq!(apply(&mut ns, found), Ok(Reply::Done));
    ns
}

fn invite(guest: &[u8], by: &[u8], expires: i64, now: i64) -> MemberCmd {
    MemberCmd::Invite {
        guest: guest.to_vec(),
        role: Role::Storage,
        by: by.to_vec(),
        expires: t(expires),
        now: t(now),
    }
}

fn admit(guest: &[u8], peer: &[u8], now: i64) -> MemberCmd {
    MemberCmd::Admit {
        guest: guest.to_vec(),
        peer: peer.to_vec(),
        now: t(now),
    }
}

/// Applies `cmd`, expecting `err`, and checks nothing changed.
fn refused(ns: &mut Namespace, cmd: MemberCmd, err: FsError) {
    let before = ns.clone();
    assert_eq!(apply(ns, cmd), Err(err));
    assert_eq!(*ns, before);
}

#[test]
fn t10_the_founder_is_the_first_member_and_a_network_is_founded_once() {
    let mut ns = founded();
    let m = ns.members();
    assert_eq!(m.founding().map(|f| f.id), Some([1; 32]));
    assert_eq!(m.members().get(ALICE).map(|m| m.role), Some(Role::Voter));
    let again = MemberCmd::Found {
        id: [2; 32],
        founder: BOB.to_vec(),
        open: true,
        now: t(2),
    };
    refused(&mut ns, again, FsError::Exists);
}

#[test]
fn t10_an_invitation_admits_one_peer_once() {
    let mut ns = founded();
    assert_eq!(
        apply(&mut ns, invite(GUEST, ALICE, 100, 10)),
        Ok(Reply::Done)
    );
    assert_eq!(ns.members().open_invites(t(10)).count(), 1);
    assert_eq!(apply(&mut ns, admit(GUEST, BOB, 20)), Ok(Reply::Done));
    let bob = &ns.members().members()[BOB];
    assert_eq!(
        (bob.role, bob.invited_by.as_slice()),
        (Role::Storage, ALICE)
    );
    assert_eq!(ns.members().open_invites(t(20)).count(), 0);
    // Used: refused, for the same peer and for another.
    refused(&mut ns, admit(GUEST, BOB, 21), FsError::Exists);
    refused(&mut ns, admit(GUEST, b"carol", 21), FsError::Exists);
}

#[test]
fn t10_an_expired_or_unknown_invitation_admits_nobody() {
    let mut ns = founded();
    apply(&mut ns, invite(GUEST, ALICE, 100, 10)).expect("invite");
    refused(&mut ns, admit(GUEST, BOB, 100), FsError::NotPermitted);
    refused(&mut ns, admit(b"nobody", BOB, 20), FsError::NotFound);
    assert_eq!(ns.members().open_invites(t(100)).count(), 0);
}

#[test]
fn t10_a_revoked_member_goes_with_its_open_invitations() {
    let mut ns = founded();
    apply(&mut ns, invite(GUEST, ALICE, 100, 10)).expect("invite");
    apply(&mut ns, admit(GUEST, BOB, 11)).expect("admit");
    apply(&mut ns, invite(b"guest-2", BOB, 100, 12)).expect("bob invites");
    let revoke = MemberCmd::Revoke {
        peer: BOB.to_vec(),
        by: ALICE.to_vec(),
        now: t(13),
    };
    assert_eq!(apply(&mut ns, revoke), Ok(Reply::Done));
    assert!(!ns.members().members().contains_key(BOB));
    assert!(ns.members().revoked().contains_key(BOB));
    assert_eq!(ns.members().open_invites(t(13)).count(), 0);
    refused(&mut ns, admit(b"guest-2", b"carol", 14), FsError::NotFound);
    // A revoked peer can neither invite nor revoke.
    refused(
        &mut ns,
        invite(b"guest-3", BOB, 100, 14),
        FsError::NotPermitted,
    );
    let back = MemberCmd::Revoke {
        peer: ALICE.to_vec(),
        by: BOB.to_vec(),
        now: t(14),
    };
    refused(&mut ns, back, FsError::NotPermitted);
}

#[test]
fn t20_bad_membership_commands_are_errors_that_change_nothing() {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    // Nothing to invite to before the network is founded.
    refused(
        &mut ns,
        invite(GUEST, ALICE, 100, 10),
        FsError::NotPermitted,
    );
    let mut ns = founded();
    refused(&mut ns, invite(GUEST, BOB, 100, 10), FsError::NotPermitted);
    refused(&mut ns, invite(GUEST, ALICE, 10, 10), FsError::Invalid);
    refused(&mut ns, invite(b"", ALICE, 100, 10), FsError::Invalid);
    let long = vec![7u8; MAX_PEER_BYTES + 1];
    refused(&mut ns, invite(&long, ALICE, 100, 10), FsError::Invalid);
    refused(&mut ns, invite(ALICE, ALICE, 100, 10), FsError::Exists);
    apply(&mut ns, invite(GUEST, ALICE, 100, 10)).expect("invite");
    refused(&mut ns, invite(GUEST, ALICE, 100, 10), FsError::Exists);
    refused(&mut ns, admit(GUEST, &long, 11), FsError::Invalid);
    let own = MemberCmd::Revoke {
        peer: ALICE.to_vec(),
        by: ALICE.to_vec(),
        now: t(12),
    };
    refused(&mut ns, own, FsError::Invalid);
    let stranger = MemberCmd::Revoke {
        peer: b"stranger".to_vec(),
        by: ALICE.to_vec(),
        now: t(12),
    };
    refused(&mut ns, stranger, FsError::NotFound);
}

#[test]
fn t10_old_invitations_are_forgotten_when_new_ones_come() {
    let mut ns = founded();
    apply(&mut ns, invite(GUEST, ALICE, 100, 10)).expect("invite");
    let week = super::members::FORGET_INVITES_SECS;
    apply(&mut ns, invite(b"guest-2", ALICE, week + 200, week + 101)).expect("later");
    assert!(!ns.members().invites().contains_key(GUEST));
    assert_eq!(ns.members().invites().len(), 1);
}

/// A membership command's log bytes are pinned: the log is kept across
/// upgrades.
#[test]
fn t10_the_members_command_is_pinned() {
    let cmd = Command::Members(admit(GUEST, BOB, 20));
    let pinned = include_str!("../../../tests/data/meta-members-v1.hex");
    assert_eq!(
        hex::encode(postcard::to_allocvec(&cmd).unwrap()),
        pinned.trim()
    );
}
