//! Signed versions on real peers: a version signed by a registered user
//! commits and is served by every node; one whose signature is forged, or
//! whose manifest was changed after it was signed, is refused by the
//! replicas and changes nothing anyone reads.

use crate::common;
use common::*;
use fragfs::{
    fragment::Manifest,
    meta::{
        proofs::{content, signed_bytes, Proof, Signer},
        Author, Caller, Command, CommitCmd, Context, FsError, Hlc, MetaError, Time, ROOT,
    },
    node::NodeConfig,
    trust::{groups, Acting, UserKey},
    volume::Durability,
};

/// A commit of `manifest` on `base` of `ino`, by `peer`, with `proof`.
fn signed(ino: u64, base: u64, manifest: Manifest, peer: &str, proof: Proof) -> Command {
    let hlc = Hlc {
        wall_ms: 4_000_000_000_000,
        logical: 0,
        node: 1,
    };
    let author = Author {
        peer: peer.into(),
        uid: 0,
    };
    let commit = CommitCmd {
        ino,
        base: Some(base),
        based_on: Some(base),
        manifest,
        author,
        hlc,
        caller: Caller::ROOT,
        now: Time::now(),
        mark: None,
        copy: None,
    };
    Command::SignedCommit {
        commit,
        proof: Box::new(proof),
    }
}

/// A proof by `key`'s user of `signed_for`, as a commit like [`signed`]
/// would carry it.
fn proof_by(key: &UserKey, signed_for: &Manifest, peer: &str) -> Proof {
    let (hlc, author) = match signed(1, 1, signed_for.clone(), peer, dummy()) {
        Command::SignedCommit { commit, .. } => (commit.hlc, commit.author),
        _ => unreachable!(),
    };
    let signer = Signer::User(key.name().into());
    let digest = content(signed_for);
    let msg = signed_bytes(&author, hlc, &digest, &signer, None);
    Proof {
        signer,
        content: digest,
        key: None,
        signature: key.sign(&msg).to_vec(),
        reencoded: false,
    }
}

fn dummy() -> Proof {
    Proof {
        signer: Signer::Node,
        content: [0; 32],
        key: None,
        signature: vec![0; 64],
        reencoded: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_forged_and_altered_versions_are_refused_by_real_replicas() {
    let tmp = tempfile::tempdir().unwrap();
    let first_votes = |c: &mut NodeConfig| c.meta.voter = c.net.bootstrap.is_empty();
    let net = mesh_led(&tmp.path().join("net"), 3, first_votes).await;
    let files = tmp.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let mallory = UserKey::generate("alice").unwrap();
    let v = net.node(0).volume();
    let as_alice = v.acting_for(Acting::one(UserKey::generate("alice").unwrap()));
    let alice = as_alice.acting().users().remove(0);
    v.account_act(groups::register(&alice))
        .await
        .expect("alice");

    let f = v
        .create(ROOT, "f".into(), 0o644, Caller::ROOT, Context::default())
        .await
        .expect("create");
    let b1 = random_bytes(70_000);
    let m1 = store(&v, &files, "1", &b1).await;
    let c1 = as_alice
        .commit(f.ino, None, m1.clone(), Caller::ROOT, Durability::Durable)
        .await
        .expect("a version signed by alice");
    assert_eq!(c1.version, 1);

    let m2 = store(&v, &files, "2", &random_bytes(50_000)).await;
    let peer = net.node(1).peer_id().to_string();
    // Signed with another key under alice's name.
    let forged = signed(f.ino, 1, m2.clone(), &peer, proof_by(&mallory, &m2, &peer));
    // Alice's true signature, over another manifest than the one sent.
    let altered = signed(f.ino, 1, m2.clone(), &peer, proof_by(&alice, &m1, &peer));
    // Alice's signature over m2, as a control: the same path accepts it.
    let good = signed(f.ino, 1, m2.clone(), &peer, proof_by(&alice, &m2, &peer));
    for (what, cmd) in [("forged", forged), ("altered", altered)] {
        let r = net.node(1).meta().write(cmd).await;
        assert!(
            matches!(r, Err(MetaError::Fs(FsError::Access))),
            "{what}: {r:?}"
        );
    }
    for n in 0..3 {
        let (_, head) = net.node(n).volume().head(f.ino).await.expect("head");
        let head = head.expect("a head");
        assert_eq!(head.id, 1, "node {n} serves alice's version");
        let vol = net.node(n).volume();
        assert_eq!(vol.read_range(&head.manifest, 0, 70_000).await.unwrap(), b1);
    }
    let r = net.node(1).meta().write(good).await;
    assert!(r.is_ok(), "a true signature over what is sent: {r:?}");
}
