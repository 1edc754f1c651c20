//! Placements and `Command::Replace`: repair and re-encoding change where
//! and how a version's bytes are kept, never the bytes.

use super::retain_tests::file_with_versions;
use super::tests::t;
use crate::fragment::{FragmentId, HashAlgo, Manifest};
use crate::meta::types::*;
use crate::meta::Namespace;
use crate::redundancy::{NodeId, Redundancy};

fn holder(b: u8) -> NodeId {
    NodeId(vec![b; 4])
}

fn moved(m: &Manifest, to: u8) -> Manifest {
    let mut m = m.clone();
    for f in &mut m.fragments {
        f.holders = vec![holder(to)];
    }
    m
}

fn item(ns: &Namespace, ino: Ino, version: u64, manifest: Manifest) -> Replacement {
    let old = ns.version(ino, version).unwrap().manifest.id();
    Replacement {
        ino,
        version,
        old,
        manifest,
    }
}

fn replace(ns: &mut Namespace, items: Vec<Replacement>) -> Result<Reply, FsError> {
    ns.apply(Command::Replace { items })
}

#[test]
fn t10_new_holders_replace_the_old_and_nothing_else_changes() {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let f = file_with_versions(&mut ns, "f", 2);
    let attr = ns.getattr(f).unwrap();
    let old = ns.version(f, 1).unwrap().clone();
    let new = moved(&old.manifest, 9);
    let it = item(&ns, f, 1, new.clone());
    let r = replace(&mut ns, vec![it]);
    assert_eq!(
        r,
        Ok(Reply::Replaced {
            replaced: 1,
            skipped: 0
        })
    );
    let v = ns.version(f, 1).unwrap();
    assert_eq!(v.manifest, new);
    assert_eq!(
        (v.author.clone(), v.hlc, v.owners.clone()),
        (old.author, old.hlc, old.owners)
    );
    assert_eq!(ns.getattr(f).unwrap(), attr, "attributes unchanged");
    assert_ne!(ns.version(f, 2).unwrap().manifest, new, "only that version");
}

#[test]
fn t10_a_stale_or_missing_item_is_skipped() {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let f = file_with_versions(&mut ns, "f", 1);
    let m = ns.version(f, 1).unwrap().manifest.clone();
    let first = item(&ns, f, 1, moved(&m, 1));
    let second = item(&ns, f, 1, moved(&m, 2));
    let missing = Replacement {
        version: 7,
        ..item(&ns, f, 1, moved(&m, 3))
    };
    let r = replace(&mut ns, vec![first, second, missing]);
    assert_eq!(
        r,
        Ok(Reply::Replaced {
            replaced: 1,
            skipped: 2
        })
    );
    assert_eq!(
        ns.version(f, 1).unwrap().manifest,
        moved(&m, 1),
        "the first won"
    );
}

#[test]
fn t10_a_deleted_files_versions_are_replaced_too() {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let f = file_with_versions(&mut ns, "f", 1);
    let m = ns.version(f, 1).unwrap().manifest.clone();
    let it = item(&ns, f, 1, moved(&m, 4));
    let unlink = Command::Unlink {
        parent: ROOT,
        name: "f".into(),
        now: t(5),
    };
    ns.apply(unlink).unwrap();
    let r = replace(&mut ns, vec![it]);
    assert_eq!(
        r,
        Ok(Reply::Replaced {
            replaced: 1,
            skipped: 0
        })
    );
    let (placed, next) = ns.placements(0, 100);
    assert_eq!(next, None);
    assert_eq!(placed.len(), 1);
    assert_eq!((placed[0].ino, placed[0].version), (f, 1));
    assert_eq!(placed[0].manifest, moved(&m, 4));
}

#[test]
fn t20_other_bytes_fail_the_whole_command_and_change_nothing() {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let f = file_with_versions(&mut ns, "f", 2);
    let m = ns.version(f, 2).unwrap().manifest.clone();
    let good = item(&ns, f, 2, moved(&m, 1));
    let mut other_id = m.clone();
    other_id.fragments[0].id = FragmentId::of(HashAlgo::Sha3_256, b"other");
    let mut longer = m.clone();
    longer.size += 1;
    let mut renamed = m.clone();
    renamed.name = "g".into();
    let mut hashed = m.clone();
    hashed.file_sha3 = [7; 32];
    let mut bad_rs = m.clone();
    bad_rs.redundancy = Redundancy::ReedSolomon { data: 2, parity: 1 };
    let before = ns.clone();
    for bad in [other_id, longer, renamed, hashed, bad_rs] {
        let bad = item(&ns, f, 2, bad);
        let r = replace(&mut ns, vec![good.clone(), bad]);
        assert_eq!(r, Err(FsError::Invalid));
        assert_eq!(ns, before);
    }
}

#[test]
fn t10_another_redundancy_may_name_other_entries() {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let f = file_with_versions(&mut ns, "f", 1);
    let m = ns.version(f, 1).unwrap().manifest.clone();
    let mut coded = m.clone();
    coded.redundancy = Redundancy::ReedSolomon { data: 2, parity: 1 };
    for e in &mut coded.fragments {
        e.id = FragmentId::of(HashAlgo::Sha3_256, b"stripe");
        e.holders = vec![holder(1), holder(2), holder(3)];
    }
    let it = item(&ns, f, 1, coded.clone());
    let r = replace(&mut ns, vec![it]);
    assert_eq!(
        r,
        Ok(Reply::Replaced {
            replaced: 1,
            skipped: 0
        })
    );
    assert_eq!(ns.head(f).unwrap().unwrap().manifest, coded);
}

#[test]
fn t10_placements_are_paged_by_entries() {
    let mut ns = Namespace::new(Caller::ROOT, t(1));
    let a = file_with_versions(&mut ns, "a", 3);
    let b = file_with_versions(&mut ns, "b", 2);
    let (page, next) = ns.placements(0, 2);
    assert_eq!(next, Some(a));
    let got: Vec<(Ino, u64)> = page.iter().map(|p| (p.ino, p.version)).collect();
    assert_eq!(got, vec![(a, 1), (a, 2), (a, 3)]);
    let (page, next) = ns.placements(a, 2);
    assert_eq!(next, None);
    assert_eq!(
        page.iter().map(|p| (p.ino, p.version)).collect::<Vec<_>>(),
        vec![(b, 1), (b, 2)]
    );
}

/// Pins the byte form of `Replace` (appended to `Command`).
#[test]
fn t10_replace_encoding_is_pinned() {
    let mut m = super::tests::manifest(10);
    m.fragments[0].holders = vec![holder(5)];
    let cmd = Command::Replace {
        items: vec![Replacement {
            ino: 7,
            version: 3,
            old: FragmentId::of(HashAlgo::Sha3_256, b"old"),
            manifest: m,
        }],
    };
    let hex: String = postcard::to_allocvec(&cmd)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let pinned = include_str!("../../../tests/data/meta-replace-v1.hex");
    assert_eq!(hex, pinned.trim());
}
