//! Snapshot formats: what older builds wrote still opens.

use super::*;
use crate::fragment::{FragmentEntry, FragmentId, FragmentSize, HashAlgo, Manifest};
use crate::meta::{Author, Command, CommitCmd, ConflictCopy, Hlc, Ino, Mark, XattrMode, ROOT};
use crate::redundancy::Redundancy;

/// The pinned format-1 snapshot of [`fixture_state`], written by the build
/// before versions carried owners, marks and uids.
fn format_1() -> Vec<u8> {
    let pinned = include_str!("../../../tests/data/meta-snapshot-v1.hex");
    hex::decode(pinned.trim()).expect("pinned hex")
}

/// A format-1 snapshot opens as the state today's build makes from the
/// same commands: authors with uid 0 (the commands were root's), based on
/// their parents, no marks, owners from comparing consecutive manifests.
#[test]
fn t10_a_format_1_snapshot_opens_converted() {
    let old = decode_state(&format_1()).expect("a format-1 snapshot decodes");
    let want = fixture_state();
    assert_eq!(old.ns, want.ns);
    let v = old.ns.versions(3).expect("the file's versions");
    assert_eq!(v.len(), 3);
    assert_eq!(
        (v[1].author.peer.as_str(), v[1].author.uid, v[1].based_on),
        ("12D3KooWBob", 0, Some(1))
    );
    let owners: Vec<u64> = (0..4).map(|s| v[1].owner_of(s)).collect();
    assert_eq!(owners, [1, 2, 1, 2]);
    assert_eq!(v[2].owner_of(0), 1);
    assert!(old.ns.events().is_empty());
}

/// A snapshot written before the lock table (format 1 without its last
/// field, an empty table: two zero lengths) still opens.
#[test]
fn t10_a_snapshot_without_the_lock_table_reads_as_one_without_locks() {
    let bytes = format_1();
    assert_eq!(&bytes[bytes.len() - 2..], &[0, 0], "an empty lock table");
    let old = decode_state(&bytes[..bytes.len() - 2]).expect("old snapshot decodes");
    assert_eq!(old.ns, fixture_state().ns);
}

/// A format-2 snapshot (no trash of deleted files) opens as today's state
/// with an empty trash.
#[test]
fn t10_a_format_2_snapshot_opens_with_an_empty_trash() {
    let mut state = fixture_state();
    state.ns.apply(conflict()).expect("a conflict commit");
    let pinned = include_str!("../../../tests/data/meta-snapshot-v2.hex");
    let old = decode_state(&hex::decode(pinned.trim()).expect("hex")).expect("decodes");
    assert_eq!(old.ns, state.ns);
    assert_eq!(old.ns.events().len(), 1);
    assert!(old.ns.trash().is_empty());
}

/// The state of the format-3 fixture: a conflict in the event log and the
/// conflicted file deleted (in the trash).
fn with_trash() -> StateData {
    let mut state = fixture_state();
    state.ns.apply(conflict()).expect("a conflict commit");
    let unlink = Command::Unlink {
        parent: 2,
        name: "f".into(),
        now: crate::meta::Time { secs: 50, nanos: 0 },
    };
    state.ns.apply(unlink).expect("unlink");
    assert_eq!(state.ns.trash().len(), 1);
    state
}

/// A format-3 snapshot (no holds) opens as today's state with none.
#[test]
fn t10_a_format_3_snapshot_opens_with_no_holds() {
    let state = with_trash();
    let pinned = include_str!("../../../tests/data/meta-snapshot-v3.hex");
    let old = decode_state(&hex::decode(pinned.trim()).expect("hex")).expect("decodes");
    assert_eq!(old.ns, state.ns);
    assert_eq!(old.ns.trash().len(), 1);
    assert!(old.ns.holds().all().is_empty());
}

fn with_hold() -> StateData {
    let mut state = with_trash();
    let hold = Command::Hold {
        holder: "12D3KooWAlice/mount-1".into(),
        versions: vec![(3, 2)],
        until: crate::meta::Time { secs: 90, nanos: 0 },
    };
    state.ns.apply(hold).expect("hold");
    state
}

/// A format-4 snapshot (no members) opens as today's state with none.
#[test]
fn t10_a_format_4_snapshot_opens_with_no_members() {
    let state = with_hold();
    let pinned = include_str!("../../../tests/data/meta-snapshot-v4.hex");
    let old = decode_state(&hex::decode(pinned.trim()).expect("hex")).expect("decodes");
    assert_eq!(old.ns, state.ns);
    assert_eq!(old.ns.holds().all().len(), 1);
    assert!(old.ns.members().founding().is_none());
}

/// The state of the format-5 fixture: the format-4 one on a founded
/// network with a second member and a user.
fn founded() -> StateData {
    use crate::meta::members::{MemberCmd, Role};
    let mut state = with_hold();
    let now = crate::meta::Time {
        secs: 100,
        nanos: 0,
    };
    for cmd in [
        MemberCmd::Found {
            id: [7; 32],
            founder: b"alice".to_vec(),
            open: false,
            now,
        },
        MemberCmd::Invite {
            guest: b"guest".to_vec(),
            role: Role::Storage,
            by: b"alice".to_vec(),
            expires: crate::meta::Time {
                secs: 200,
                nanos: 0,
            },
            now,
        },
        MemberCmd::Admit {
            guest: b"guest".to_vec(),
            peer: b"bob".to_vec(),
            now,
        },
    ] {
        state.ns.apply(Command::Members(cmd)).expect("members");
    }
    state.ns.apply(alice_registers()).expect("a user");
    state
}

/// A format-5 snapshot (no shares, no proofs) opens as today's state with
/// none.
#[test]
fn t10_a_format_5_snapshot_opens_with_no_shares() {
    let state = founded();
    let pinned = include_str!("../../../tests/data/meta-snapshot-v5.hex");
    let old = decode_state(&hex::decode(pinned.trim()).expect("hex")).expect("decodes");
    assert_eq!(old.ns, state.ns);
    assert_eq!(old.ns.members().members().len(), 2);
    assert_eq!(old.ns.accounts().users().len(), 1);
    assert!(old.ns.shares().is_empty());
}

/// Today's snapshot bytes are pinned, and they round-trip: the format-5
/// fixture with a group, directory 2 given to it (plain) and a version
/// signed by alice in it.
#[test]
fn t10_snapshot_format_6_is_pinned() {
    let mut state = founded();
    for cmd in alice_shares() {
        state
            .ns
            .apply(cmd)
            .expect("group, share, file, signed commit");
    }
    let bytes = encode_state(&state);
    let pinned = include_str!("../../../tests/data/meta-snapshot-v6.hex");
    assert_eq!(hex::encode(&bytes), pinned.trim());
    assert_eq!(bytes[0], STATE_FORMAT);
    let back = decode_state(&bytes).expect("decodes");
    assert_eq!(back.ns, state.ns);
    assert_eq!(back.ns.shares().len(), 1);
    assert!(back.ns.proofs().get(5, 1).is_some());
}

fn alice_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[5; 32])
}

/// Alice signs `act`.
fn alice_acts(act: crate::meta::accounts::Act) -> Command {
    use crate::meta::accounts::{signed_bytes, AccountCmd};
    use ed25519_dalek::Signer;
    let signature = alice_key()
        .sign(&signed_bytes("alice", &act))
        .to_bytes()
        .to_vec();
    Command::Accounts(AccountCmd {
        actor: "alice".into(),
        act,
        signature,
    })
}

/// Alice creates group team, gives it directory 2, creates file g there
/// (inode 5) and commits its first version, signed.
fn alice_shares() -> Vec<Command> {
    use crate::meta::accounts::{Act, GroupKey};
    use crate::meta::proofs::{content, signed_bytes, Proof, Signer as By};
    use ed25519_dalek::Signer;
    let key = GroupKey {
        epoch: 1,
        public: [8; 32],
        wrapped: [("alice".to_string(), vec![9; 89])].into(),
    };
    let group = Act::CreateGroup {
        group: "team".into(),
        key,
        now: at(110),
    };
    let share = Act::Share {
        dir: 2,
        group: Some("team".into()),
        encrypted: false,
        now: at(111),
    };
    let create = Command::Create {
        parent: 2,
        name: "g".into(),
        perm: 0o644,
        caller: Caller::ROOT,
        now: at(112),
    };
    let author = Author {
        peer: "12D3KooWAlice".into(),
        uid: 1000,
    };
    let hlc = Hlc {
        wall_ms: 3000,
        logical: 0,
        node: 7,
    };
    let m = manifest(&[1], 1 << 16);
    let digest = content(&m);
    let by = By::User("alice".into());
    let signature = alice_key()
        .sign(&signed_bytes(&author, hlc, &digest, &by, None))
        .to_bytes()
        .to_vec();
    let commit = CommitCmd {
        ino: 5,
        base: None,
        based_on: None,
        manifest: m,
        author,
        hlc,
        caller: Caller::ROOT,
        now: at(113),
        mark: None,
        copy: None,
    };
    let proof = Proof {
        signer: by,
        content: digest,
        key: None,
        signature,
        reencoded: false,
    };
    vec![
        alice_acts(group),
        alice_acts(share),
        create,
        Command::SignedCommit {
            commit,
            proof: Box::new(proof),
        },
    ]
}

/// User alice registering herself, signed with a fixed key.
fn alice_registers() -> Command {
    alice_acts(crate::meta::accounts::Act::AddUser {
        sign: alice_key().verifying_key().to_bytes(),
        wrap: [6; 32],
        now: at(100),
    })
}

#[test]
fn t20_unknown_empty_and_garbled_snapshots_are_errors() {
    let mut bytes = format_1();
    bytes[0] = 9;
    assert!(decode_state(&bytes).unwrap_err().contains("version 9"));
    assert!(decode_state(&[]).is_err());
    assert!(decode_state(&[STATE_FORMAT, 1, 2]).is_err());
    assert!(decode_state(&format_1()[..40]).is_err());
}

/// A commit by a uid on another node that conflicted with version 3 and
/// kept it as a copy beside the file.
fn conflict() -> Command {
    let mut cmd = CommitCmd {
        ino: 3,
        base: Some(3),
        based_on: Some(2),
        manifest: manifest(&[4, 9], 2 << 16),
        author: Author {
            peer: "12D3KooWCarol".into(),
            uid: 1002,
        },
        hlc: Hlc {
            wall_ms: 2000,
            logical: 1,
            node: 8,
        },
        caller: Caller {
            uid: 1002,
            gid: 1002,
        },
        now: at(20),
        mark: Some(Mark::Conflict {
            with: 3,
            copy: 0,
            copy_name: String::new(),
        }),
        copy: None,
    };
    cmd.copy = Some(ConflictCopy {
        parent: 2,
        name: "f.conflict".into(),
        of_version: 3,
    });
    Command::Commit(cmd)
}

/// A `size`-byte manifest of 4-byte fragments whose contents are `seeds`.
fn manifest(seeds: &[u8], size: u64) -> Manifest {
    let fs = FragmentSize::new(1 << 16).expect("a valid fragment size");
    let fragments = seeds
        .iter()
        .enumerate()
        .map(|(i, s)| FragmentEntry {
            id: FragmentId::of(HashAlgo::Sha3_256, &[*s]),
            len: fs.len_of(size, i as u64),
            holders: vec![],
        })
        .collect();
    Manifest {
        name: "f".into(),
        size,
        fragment_size: fs,
        hash_algo: HashAlgo::Sha3_256,
        file_sha3: [0; 32],
        redundancy: Redundancy::default(),
        fragments,
    }
}

fn at(secs: i64) -> Time {
    Time { secs, nanos: 0 }
}

fn commit(ino: Ino, base: Option<u64>, seeds: &[u8], author: &str) -> Command {
    Command::CommitVersion {
        ino,
        base,
        manifest: manifest(seeds, (seeds.len() as u64) << 16),
        author: author.into(),
        hlc: Hlc {
            wall_ms: 1000 + base.unwrap_or(0),
            logical: 0,
            node: 7,
        },
        caller: Caller::ROOT,
        now: at(10 + base.unwrap_or(0) as i64),
    }
}

/// The state of `tests/data/meta-snapshot-v1.hex`, built by commands: a
/// directory with an xattr and a file with three versions (three
/// fragments; the second and a fourth changed; cut to one).
pub(crate) fn fixture_state() -> StateData {
    let mut state = StateData::new();
    let ns = &mut state.ns;
    let mkdir = Command::Mkdir {
        parent: ROOT,
        name: "d".into(),
        perm: 0o755,
        caller: Caller::ROOT,
        now: at(2),
    };
    ns.apply(mkdir).expect("mkdir");
    let create = Command::Create {
        parent: 2,
        name: "f".into(),
        perm: 0o644,
        caller: Caller::ROOT,
        now: at(3),
    };
    ns.apply(create).expect("create");
    let xattr = Command::SetXattr {
        ino: 2,
        name: "user.fragfs.merge".into(),
        value: b"lww".to_vec(),
        mode: XattrMode::Any,
        now: at(4),
    };
    ns.apply(xattr).expect("setxattr");
    ns.apply(commit(3, None, &[0, 1, 2], "12D3KooWAlice"))
        .expect("commit 1");
    ns.apply(commit(3, Some(1), &[0, 9, 2, 3], "12D3KooWBob"))
        .expect("commit 2");
    ns.apply(commit(3, Some(2), &[0], "12D3KooWAlice"))
        .expect("commit 3");
    state
}

/// Prints the fixture's snapshot bytes in today's format (to pin them
/// when the format changes on purpose).
#[test]
#[ignore]
fn print_snapshot_fixture() {
    let mut state = fixture_state();
    state.ns.apply(conflict()).expect("a conflict commit");
    println!("SNAPSHOT {}", hex::encode(encode_state(&state)));
}
