//! Holds in the namespace: what a mount holds open outlives retention
//! until released or run out; what was superseded a moment ago settles
//! first; bad holds change nothing.

use super::retain_tests::{day, file_with_versions, ids, retain, set_keep};
use super::tests::t;
use crate::lifecycle::keep::{DAY_MS, SETTLE_MS};
use crate::meta::types::*;
use crate::meta::{Namespace, MAX_HELD, MAX_HOLDER_NAME};

fn hold(ns: &mut Namespace, holder: &str, versions: Vec<(Ino, u64)>, until: Time) {
    let cmd = Command::Hold {
        holder: holder.into(),
        versions,
        until,
    };
    assert_eq!(ns.apply(cmd), Ok(Reply::Done));
}

fn unlink(ns: &mut Namespace, name: &str, now: Time) {
    let cmd = Command::Unlink {
        parent: ROOT,
        name: name.into(),
        now,
    };
    ns.apply(cmd).expect("unlink");
}

#[test]
fn t10_a_held_version_stays_until_released() {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    let f = file_with_versions(&mut ns, "f", 4);
    set_keep(&mut ns, ROOT, "versions=1,days=0");
    hold(&mut ns, "m1", vec![(f, 2)], day(11));
    retain(&mut ns, day(10), vec![]);
    assert_eq!(ids(&ns, f), vec![2, 4], "held and head");
    hold(&mut ns, "m1", vec![], day(11));
    retain(&mut ns, day(10), vec![]);
    assert_eq!(ids(&ns, f), vec![4], "released");
    assert!(ns.holds().all().is_empty());
}

#[test]
fn t10_a_hold_that_ran_out_keeps_nothing_and_is_forgotten() {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    let f = file_with_versions(&mut ns, "f", 3);
    set_keep(&mut ns, ROOT, "versions=1,days=0");
    hold(&mut ns, "m1", vec![(f, 1)], day(9));
    hold(&mut ns, "m2", vec![(f, 2)], day(11));
    retain(&mut ns, day(10), vec![]);
    assert_eq!(ids(&ns, f), vec![2, 3], "m1's hold ran out");
    let holders: Vec<&String> = ns.holds().all().keys().collect();
    assert_eq!(holders, vec!["m2"]);
}

#[test]
fn t10_a_deleted_file_held_open_stays_in_the_trash() {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    let f = file_with_versions(&mut ns, "gone", 2);
    set_keep(&mut ns, ROOT, "versions=1,days=0");
    unlink(&mut ns, "gone", day(5));
    hold(&mut ns, "m1", vec![(f, 2)], day(7));
    retain(&mut ns, day(6), vec![]);
    assert!(ns.trash().contains_key(&f), "held open");
    retain(&mut ns, day(8), vec![]);
    assert!(
        !ns.trash().contains_key(&f),
        "dropped once the hold ran out"
    );
}

#[test]
fn t10_what_was_superseded_or_deleted_a_moment_ago_settles_first() {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    let f = file_with_versions(&mut ns, "f", 2);
    let g = file_with_versions(&mut ns, "g", 1);
    set_keep(&mut ns, ROOT, "versions=1,days=0");
    // Version 2 was committed at day 2: version 1 superseded then.
    let at = |ms: u64| Time {
        secs: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as u32,
    };
    retain(&mut ns, at(2 * DAY_MS + SETTLE_MS - 1), vec![]);
    assert_eq!(ids(&ns, f), vec![1, 2], "superseded just now");
    retain(&mut ns, at(2 * DAY_MS + SETTLE_MS), vec![]);
    assert_eq!(ids(&ns, f), vec![2]);
    unlink(&mut ns, "g", day(3));
    retain(&mut ns, at(3 * DAY_MS + SETTLE_MS - 1), vec![]);
    assert!(ns.trash().contains_key(&g), "deleted just now");
    retain(&mut ns, at(3 * DAY_MS + SETTLE_MS), vec![]);
    assert!(!ns.trash().contains_key(&g));
}

#[test]
fn t20_bad_holds_are_errors_that_change_nothing() {
    let mut ns = Namespace::new(Caller::ROOT, t(0));
    let f = file_with_versions(&mut ns, "f", 2);
    let before = ns.clone();
    let bad = |holder: String, n: usize| Command::Hold {
        holder,
        versions: vec![(f, 1); n],
        until: day(1),
    };
    for cmd in [
        bad(String::new(), 1),
        bad("m".repeat(MAX_HOLDER_NAME + 1), 1),
        bad("m1".into(), MAX_HELD + 1),
    ] {
        assert_eq!(ns.apply(cmd), Err(FsError::Invalid));
    }
    assert_eq!(ns, before);
}

/// A hold's log bytes are pinned: the log is kept across upgrades.
#[test]
fn t10_the_hold_command_is_pinned() {
    let cmd = Command::Hold {
        holder: "12D3KooWAlice/mount-1".into(),
        versions: vec![(7, 3), (9, 1)],
        until: Time { secs: 90, nanos: 5 },
    };
    let pinned = include_str!("../../../tests/data/meta-hold-v1.hex");
    assert_eq!(
        hex::encode(postcard::to_allocvec(&cmd).unwrap()),
        pinned.trim()
    );
}
