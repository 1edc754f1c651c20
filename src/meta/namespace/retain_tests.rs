//! Retention in the namespace: versions dropped by policy, deleted files
//! kept for their period, and the fragments kept versions refer to.

use super::tests::{manifest, t, ALICE};
use crate::fragment::{FragmentId, HashAlgo, Manifest};
use crate::lifecycle::keep::{KeepPolicy, DAY_MS};
use crate::meta::types::*;
use crate::meta::Namespace;

/// A one-fragment manifest whose fragment is named by `tag`.
fn manifest_of(tag: &str) -> Manifest {
    let mut m = manifest(10);
    m.fragments[0].id = FragmentId::of(HashAlgo::Sha3_256, tag.as_bytes());
    m
}

/// Creates `/name` in the root and commits `n` versions, version `i`
/// (1-based) at wall clock `i` days, holding byte `i`.
pub(super) fn file_with_versions(ns: &mut Namespace, name: &str, n: u64) -> Ino {
    let create = Command::Create {
        parent: ROOT,
        name: name.into(),
        perm: 0o644,
        caller: ALICE,
        now: t(1),
    };
    let Ok(Reply::Attr(a)) = ns.apply(create) else {
        panic!("create failed")
    };
    for i in 1..=n {
        let hlc = Hlc {
            wall_ms: i * DAY_MS,
            ..Default::default()
        };
        let c = Command::Commit(CommitCmd {
            ino: a.ino,
            base: (i > 1).then_some(i - 1),
            based_on: (i > 1).then_some(i - 1),
            manifest: manifest_of(&format!("{name}/{i}")),
            author: Author::default(),
            hlc,
            caller: ALICE,
            now: t(i as i64),
            mark: None,
            copy: None,
        });
        ns.apply(c).expect("commit");
    }
    a.ino
}

pub(super) fn ids(ns: &Namespace, ino: Ino) -> Vec<u64> {
    ns.versions(ino).unwrap().iter().map(|v| v.id).collect()
}

pub(super) fn day(d: u64) -> Time {
    Time {
        secs: (d * DAY_MS / 1000) as i64,
        nanos: 0,
    }
}

pub(super) fn retain(ns: &mut Namespace, now: Time, protected: Vec<(Ino, u64)>) -> Reply {
    ns.apply(Command::Retain { now, protected })
        .expect("retain")
}

pub(super) fn set_keep(ns: &mut Namespace, ino: Ino, value: &str) {
    ns.apply(Command::SetXattr {
        ino,
        name: KeepPolicy::XATTR.into(),
        value: value.as_bytes().to_vec(),
        mode: XattrMode::Any,
        now: t(1),
    })
    .expect("setxattr");
}

#[test]
fn t10_policy_drops_old_versions_keeps_head_and_protected() {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    let f = file_with_versions(&mut ns, "f", 5);
    set_keep(&mut ns, ROOT, "versions=2,days=0");
    let r = retain(&mut ns, day(10), vec![(f, 1)]);
    assert_eq!(ids(&ns, f), vec![1, 4, 5]);
    assert_eq!(
        r,
        Reply::Retained {
            versions: 2,
            deleted_files: 0
        }
    );
    // A version still found by number after others went.
    assert_eq!(ns.version(f, 4).unwrap().id, 4);
    set_keep(&mut ns, ROOT, "versions=1,days=0");
    retain(&mut ns, day(10), vec![]);
    assert_eq!(ids(&ns, f), vec![5], "only the head is left");
}

#[test]
fn t10_default_keeps_ten_versions_and_thirty_days() {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    let f = file_with_versions(&mut ns, "f", 14);
    // At day 40, versions of days 10.. are younger than 30 days.
    retain(&mut ns, day(40), vec![]);
    assert_eq!(ids(&ns, f), (5..=14).collect::<Vec<_>>());
    retain(&mut ns, day(1), vec![]);
    assert_eq!(ids(&ns, f).len(), 10);
}

#[test]
fn t10_a_bad_policy_value_means_the_default() {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    let f = file_with_versions(&mut ns, "f", 12);
    set_keep(&mut ns, ROOT, "versions=lots");
    retain(&mut ns, day(1000), vec![]);
    assert_eq!(ids(&ns, f).len(), 10);
}

#[test]
fn t10_deleted_file_is_kept_for_its_period_then_dropped() {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    let f = file_with_versions(&mut ns, "gone", 2);
    let kept = file_with_versions(&mut ns, "kept", 1);
    set_keep(&mut ns, ROOT, "days=2");
    let deleted_at = day(5);
    ns.apply(Command::Unlink {
        parent: ROOT,
        name: "gone".into(),
        now: deleted_at,
    })
    .expect("unlink");
    assert!(ns.getattr(f).is_err(), "the name is gone at once");
    let d = &ns.trash()[&f];
    assert_eq!((d.path.as_str(), d.versions.len()), ("/gone", 2));
    let (refs, next) = ns.fragment_refs(0, 1000);
    assert_eq!(next, None);
    let gone_frag = d.versions[0].manifest.fragments[0].id;
    assert!(
        refs.contains(&gone_frag),
        "a deleted file's fragments are kept"
    );

    retain(&mut ns, day(6), vec![]);
    assert!(ns.trash().contains_key(&f), "inside its period");
    // Protected (an open handle): kept past its period.
    retain(&mut ns, day(8), vec![(f, 2)]);
    assert!(ns.trash().contains_key(&f));
    let r = retain(&mut ns, day(8), vec![]);
    assert_eq!(
        r,
        Reply::Retained {
            versions: 2,
            deleted_files: 1
        }
    );
    assert!(ns.trash().is_empty());
    let (refs, _) = ns.fragment_refs(0, 1000);
    assert!(!refs.contains(&gone_frag));
    let kept_frag = ns.head(kept).unwrap().unwrap().manifest.fragments[0].id;
    assert!(refs.contains(&kept_frag));
}

#[test]
fn t10_fragment_refs_pages_cover_everything_once() {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    let mut want = std::collections::BTreeSet::new();
    for i in 0..9 {
        let f = file_with_versions(&mut ns, &format!("f{i}"), 2);
        for v in ns.versions(f).unwrap() {
            want.insert(v.manifest.id());
            want.extend(v.manifest.fragments.iter().map(|x| x.id));
        }
        if i % 3 == 0 {
            ns.apply(Command::Unlink {
                parent: ROOT,
                name: format!("f{i}"),
                now: t(50),
            })
            .expect("unlink");
        }
    }
    let mut got = std::collections::BTreeSet::new();
    let (mut after, mut pages) = (0, 0);
    loop {
        let (ids, next) = ns.fragment_refs(after, 3);
        got.extend(ids);
        pages += 1;
        match next {
            Some(n) => after = n,
            None => break,
        }
    }
    assert!(pages > 3, "several pages: {pages}");
    assert_eq!(got, want);
}
