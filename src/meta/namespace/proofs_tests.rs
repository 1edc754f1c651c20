//! Signed versions and shared directories in the namespace: a commit's
//! proof is checked before it applies (a forged or altered one changes
//! nothing), a private network takes only signed commits, conflict copies
//! keep their proof and retention drops proofs with their versions; a
//! directory is given to a group only by a member, never inside another
//! share, and nothing is linked or moved across its edge.

use super::accounts::Act;
use super::accounts_tests::{key, refused, register, signed, team};
use super::members::MemberCmd;
use super::proofs::{check, content, signed_bytes, Proof, ProofError, Signer as By};
use super::tests::{
    create, create_cmd, fails, link_cmd, manifest, mkdir, rename_cmd, rmdir_cmd, t, unlink_cmd,
};
use crate::meta::types::*;
use crate::meta::versions::{Author, CommitCmd};
use ed25519_dalek::Signer;

fn author() -> Author {
    Author {
        peer: "12D3KooWAlice".into(),
        uid: 1000,
    }
}

fn hlc(n: u64) -> Hlc {
    Hlc {
        wall_ms: 1000 + n,
        logical: 0,
        node: 1,
    }
}

fn commit(ino: Ino, base: Option<u64>, size: u64) -> CommitCmd {
    CommitCmd {
        ino,
        base,
        based_on: base,
        manifest: manifest(size),
        author: author(),
        hlc: hlc(base.unwrap_or(0)),
        caller: Caller::ROOT,
        now: t(10),
        mark: None,
        copy: None,
    }
}

/// `c` signed by the user holding key `seed`, claiming to be `name`.
fn proof(c: &CommitCmd, name: &str, seed: u8) -> Proof {
    let by = By::User(name.into());
    let digest = content(&c.manifest);
    let msg = signed_bytes(&c.author, c.hlc, &digest, &by, None);
    Proof {
        signer: by,
        content: digest,
        key: None,
        signature: key(seed).sign(&msg).to_bytes().to_vec(),
        reencoded: false,
    }
}

fn signed_commit(c: CommitCmd, p: Proof) -> Command {
    Command::SignedCommit {
        commit: c,
        proof: Box::new(p),
    }
}

#[test]
fn t10_a_signed_commit_applies_and_keeps_its_proof() {
    let mut ns = team();
    let f = create(&mut ns, ROOT, "f");
    let c = commit(f, None, 100);
    let p = proof(&c, "alice", 1);
    assert!(matches!(
        ns.apply(signed_commit(c.clone(), p.clone())),
        Ok(Reply::Committed { version: 1, .. })
    ));
    assert_eq!(ns.proofs().get(f, 1), Some(&p));
    let v = ns.head(f).unwrap().unwrap();
    assert_eq!(
        check(&p, &v.author, v.hlc, &v.manifest, ns.accounts()),
        Ok(())
    );
}

#[test]
fn t20_forged_and_altered_proofs_change_nothing() {
    let mut ns = team();
    let f = create(&mut ns, ROOT, "f");
    let c = commit(f, None, 100);
    // Signed by bob's key, claiming alice.
    refused(
        &mut ns,
        signed_commit(c.clone(), proof(&c, "alice", 2)),
        FsError::Access,
    );
    // Alice signed another manifest.
    let mut other = c.clone();
    other.manifest = manifest(200);
    refused(
        &mut ns,
        signed_commit(c.clone(), proof(&other, "alice", 1)),
        FsError::Access,
    );
    // Another author or clock than signed.
    let mut moved = c.clone();
    moved.hlc = hlc(7);
    refused(
        &mut ns,
        signed_commit(moved, proof(&c, "alice", 1)),
        FsError::Access,
    );
    // A user nobody registered, and a malformed proof.
    refused(
        &mut ns,
        signed_commit(c.clone(), proof(&c, "mallory", 9)),
        FsError::NotPermitted,
    );
    let mut empty = proof(&c, "alice", 1);
    empty.signature.clear();
    refused(&mut ns, signed_commit(c, empty), FsError::Invalid);
}

#[test]
fn t20_an_altered_version_fails_its_check() {
    let mut ns = team();
    let f = create(&mut ns, ROOT, "f");
    let c = commit(f, None, 100);
    let p = proof(&c, "alice", 1);
    ns.apply(signed_commit(c, p.clone())).unwrap();
    let v = ns.head(f).unwrap().unwrap().clone();
    let mut altered = v.manifest.clone();
    altered.fragments[0].id = manifest(100_000).fragments[1].id;
    let err = check(&p, &v.author, v.hlc, &altered, ns.accounts());
    assert_eq!(err, Err(ProofError::OtherContent));
    let mut forged = p.clone();
    forged.signature[0] ^= 1;
    let err = check(&forged, &v.author, v.hlc, &v.manifest, ns.accounts());
    assert_eq!(err, Err(ProofError::BadSignature));
}

#[test]
fn t10_a_node_signs_with_its_peer_key() {
    let mut ns = team();
    let f = create(&mut ns, ROOT, "f");
    let node = libp2p::identity::Keypair::generate_ed25519();
    let mut c = commit(f, None, 100);
    c.author.peer = node.public().to_peer_id().to_string();
    let digest = content(&c.manifest);
    let msg = signed_bytes(&c.author, c.hlc, &digest, &By::Node, None);
    let good = Proof {
        signer: By::Node,
        content: digest,
        key: None,
        signature: node.sign(&msg).unwrap(),
        reencoded: false,
    };
    let mut stranger = good.clone();
    let other = libp2p::identity::Keypair::generate_ed25519();
    stranger.signature = other.sign(&msg).unwrap();
    refused(&mut ns, signed_commit(c.clone(), stranger), FsError::Access);
    assert!(ns.apply(signed_commit(c, good)).is_ok());
}

#[test]
fn t20_a_private_network_takes_only_signed_commits() {
    let mut ns = team();
    let f = create(&mut ns, ROOT, "f");
    let c = commit(f, None, 100);
    assert!(
        ns.clone().apply(Command::Commit(c.clone())).is_ok(),
        "open: unsigned is fine"
    );
    let found = MemberCmd::Found {
        id: [1; 32],
        founder: b"n1".to_vec(),
        open: false,
        now: t(3),
    };
    ns.apply(Command::Members(found)).unwrap();
    refused(&mut ns, Command::Commit(c.clone()), FsError::Access);
    let p = proof(&c, "alice", 1);
    assert!(ns.apply(signed_commit(c, p)).is_ok());
}

#[test]
fn t10_proofs_follow_conflict_copies_and_go_with_their_versions() {
    let mut ns = team();
    let f = create(&mut ns, ROOT, "f");
    let c1 = commit(f, None, 100);
    ns.apply(signed_commit(c1.clone(), proof(&c1, "alice", 1)))
        .unwrap();
    let mut c2 = commit(f, Some(1), 200);
    c2.mark = Some(Mark::Conflict {
        with: 1,
        copy: 0,
        copy_name: String::new(),
    });
    c2.copy = Some(ConflictCopy {
        parent: ROOT,
        name: "f.copy".into(),
        of_version: 1,
    });
    ns.apply(signed_commit(c2.clone(), proof(&c2, "alice", 1)))
        .unwrap();
    let copy = ns.lookup(ROOT, "f.copy").unwrap().ino;
    let p = ns
        .proofs()
        .get(copy, 1)
        .expect("the copy keeps the proof")
        .clone();
    let v = ns.head(copy).unwrap().unwrap();
    assert_eq!(
        check(&p, &v.author, v.hlc, &v.manifest, ns.accounts()),
        Ok(())
    );
    // Keep one version: version 1 of f goes, and its proof with it.
    super::retain_tests::set_keep(&mut ns, ROOT, "versions=1,days=0");
    ns.apply(Command::Retain {
        now: t(100_000),
        protected: vec![],
    })
    .unwrap();
    assert!(ns.versions(f).unwrap().iter().all(|v| v.id != 1));
    assert!(ns.proofs().get(f, 1).is_none());
    assert!(ns.proofs().get(f, 2).is_some());
}

/// Gives `dir` to `group` in clear (names as given).
fn share(dir: Ino, group: Option<&str>, actor: &str, seed: u8) -> Command {
    share_as(dir, group, false, actor, seed)
}

fn share_as(dir: Ino, group: Option<&str>, encrypted: bool, actor: &str, seed: u8) -> Command {
    let act = Act::Share {
        dir,
        group: group.map(str::to_owned),
        encrypted,
        now: t(5),
    };
    signed(actor, seed, act)
}

#[test]
fn t10_an_encrypted_directory_takes_sealed_names_alone() {
    let mut ns = team();
    let d = mkdir(&mut ns, ROOT, "d");
    create(&mut ns, d, "clear");
    let full = share_as(d, Some("team"), true, "alice", 1);
    refused(&mut ns, full, FsError::NotEmpty);
    let e = mkdir(&mut ns, ROOT, "e");
    ns.apply(share_as(e, Some("team"), true, "alice", 1))
        .unwrap();
    let key = fragfs_seal::NameKey::derive(&[3; 32], "test");
    let sealed = crate::trust::names::seal(&key, "notes.txt").unwrap();
    fails(&mut ns, create_cmd(e, "notes.txt"), FsError::Invalid);
    let f = create(&mut ns, e, &sealed);
    let flags = RenameFlags::default();
    fails(
        &mut ns,
        rename_cmd(e, &sealed, e, "clear.txt", flags),
        FsError::Invalid,
    );
    fails(&mut ns, link_cmd(f, e, "clear.txt"), FsError::Invalid);
    let other = crate::trust::names::seal(&key, "other.txt").unwrap();
    assert!(ns.apply(rename_cmd(e, &sealed, e, &other, flags)).is_ok());
    // Its names change key only while it is empty.
    refused(
        &mut ns,
        share(e, Some("team"), "alice", 1),
        FsError::NotEmpty,
    );
    refused(&mut ns, share(e, None, "alice", 1), FsError::NotEmpty);
    ns.apply(unlink_cmd(e, &other)).unwrap();
    assert_eq!(ns.apply(share(e, None, "alice", 1)), Ok(Reply::Done));
    // A plain share takes a full directory.
    assert_eq!(
        ns.apply(share(d, Some("team"), "alice", 1)),
        Ok(Reply::Done)
    );
}

#[test]
fn t10_a_member_shares_a_directory_and_takes_it_back() {
    let mut ns = team();
    let d = mkdir(&mut ns, ROOT, "d");
    let sub = mkdir(&mut ns, d, "sub");
    // Bob is no member of team.
    refused(&mut ns, share(d, Some("team"), "bob", 2), FsError::Access);
    refused(
        &mut ns,
        share(d, Some("nobody"), "alice", 1),
        FsError::Access,
    );
    refused(
        &mut ns,
        share(ROOT, Some("team"), "alice", 1),
        FsError::NotPermitted,
    );
    assert_eq!(
        ns.apply(share(d, Some("team"), "alice", 1)),
        Ok(Reply::Done)
    );
    assert_eq!(
        ns.cover(sub).map(|(dir, s)| (dir, s.group.as_str())),
        Some((d, "team"))
    );
    assert!(ns.cover(ROOT).is_none());
    // No share inside or above another.
    refused(
        &mut ns,
        share(sub, Some("team"), "alice", 1),
        FsError::Exists,
    );
    refused(&mut ns, share(d, None, "bob", 2), FsError::Access);
    assert_eq!(ns.apply(share(d, None, "alice", 1)), Ok(Reply::Done));
    assert!(ns.cover(sub).is_none());
    refused(&mut ns, share(d, None, "alice", 1), FsError::NotFound);
}

#[test]
fn t20_nothing_crosses_the_edge_of_a_share() {
    let mut ns = team();
    register(&mut ns, "dave", 4);
    let d = mkdir(&mut ns, ROOT, "d");
    let inside = create(&mut ns, d, "in");
    let outside = create(&mut ns, ROOT, "out");
    let sub = mkdir(&mut ns, ROOT, "sub");
    ns.apply(share(d, Some("team"), "alice", 1)).unwrap();
    let flags = RenameFlags::default();
    fails(
        &mut ns,
        rename_cmd(d, "in", ROOT, "in", flags),
        FsError::CrossShare,
    );
    fails(
        &mut ns,
        rename_cmd(ROOT, "out", d, "out", flags),
        FsError::CrossShare,
    );
    fails(
        &mut ns,
        rename_cmd(ROOT, "sub", d, "sub", flags),
        FsError::CrossShare,
    );
    fails(&mut ns, link_cmd(inside, ROOT, "in"), FsError::CrossShare);
    fails(&mut ns, link_cmd(outside, d, "out"), FsError::CrossShare);
    // Within the share, and moving the shared directory itself, are fine.
    assert!(ns.apply(link_cmd(inside, d, "in2")).is_ok());
    assert!(ns.apply(rename_cmd(ROOT, "d", sub, "d", flags)).is_ok());
    assert_eq!(ns.cover(inside).map(|(dir, _)| dir), Some(d));
    // A removed shared directory takes its share with it.
    let e = mkdir(&mut ns, ROOT, "e");
    ns.apply(share(e, Some("team"), "alice", 1)).unwrap();
    ns.apply(rmdir_cmd(ROOT, "e")).unwrap();
    assert!(!ns.shares().contains_key(&e));
}
