//! Laws of the lifecycle policies: parse reads what display writes, the
//! head and protected versions are always retained, and the collector never
//! deletes a live fragment or one seen within the grace period.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn policy() -> impl Strategy<Value = KeepPolicy> {
    let part = prop_oneof![
        Just(None),
        (0u32..40).prop_map(Some),
        any::<u32>().prop_map(Some)
    ];
    (part.clone(), part).prop_map(|(versions, days)| KeepPolicy { versions, days })
}

fn spec() -> impl Strategy<Value = RedundancySpec> {
    prop_oneof![
        (1u8..=16).prop_map(RedundancySpec::Replicas),
        (1u8..=32, 1u8..=32).prop_map(|(data, parity)| RedundancySpec::Rs { data, parity }),
    ]
}

/// Versions with ids 0.. and wall times around `now` (days either side).
fn versions() -> impl Strategy<Value = Vec<VersionInfo>> {
    prop::collection::vec(0u64..60 * DAY_MS, 0..30).prop_map(|walls| {
        walls
            .into_iter()
            .enumerate()
            .map(|(i, wall_ms)| VersionInfo {
                id: i as u64,
                wall_ms,
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn keep_display_round_trips(p in policy()) {
        prop_assume!(p.versions.is_some() || p.days.is_some());
        prop_assert_eq!(KeepPolicy::parse(p.to_string().as_bytes()), Ok(p));
    }

    #[test]
    fn spec_display_round_trips(s in spec()) {
        prop_assert_eq!(RedundancySpec::parse(s.to_string().as_bytes()), Ok(s));
        prop_assert!(s.overhead() >= 1.0);
        prop_assert!(s.peers_needed() >= 1 && s.peers_needed() <= 64);
    }

    #[test]
    fn parsers_never_panic(raw in prop::collection::vec(any::<u8>(), 0..40),
                           text in "[a-z0-9=,:+ ]{0,24}") {
        let _ = KeepPolicy::parse(&raw);
        let _ = KeepPolicy::parse(text.as_bytes());
        let _ = RedundancySpec::parse(&raw);
        if let Ok(s) = RedundancySpec::parse(text.as_bytes()) {
            prop_assert_eq!(s.check(), Ok(()));
        }
    }

    #[test]
    fn retained_keeps_head_last_n_young_and_protected(
        vs in versions(),
        p in policy(),
        now in 0u64..90 * DAY_MS,
        protected in prop::collection::btree_set(0u64..40, 0..5),
    ) {
        let kept = retained(&vs, &p, now, &protected);
        if let Some(head) = vs.last() {
            prop_assert!(kept.contains(&head.id));
        }
        prop_assert!(protected.is_subset(&kept));
        let n = p.versions.unwrap_or(0) as usize;
        for (i, v) in vs.iter().enumerate() {
            let in_last_n = i + n >= vs.len();
            let young = p.days.is_some_and(|d| now.saturating_sub(v.wall_ms) < u64::from(d) * DAY_MS);
            let settling = vs.get(i + 1).is_some_and(|next| now.saturating_sub(next.wall_ms) < SETTLE_MS);
            let should = in_last_n || young || settling || i + 1 == vs.len() || protected.contains(&v.id);
            prop_assert_eq!(kept.contains(&v.id), should, "version {:?}", v);
        }
        let known: BTreeSet<u64> = vs.iter().map(|v| v.id).collect();
        prop_assert!(kept.iter().all(|id| known.contains(id) || protected.contains(id)));
    }

    #[test]
    fn gc_never_deletes_live_or_young(
        held in prop::collection::btree_map(0u16..200, 0u64..10_000, 0..60),
        live in prop::collection::btree_set(0u16..200, 0..60),
        grace in 0u64..5_000,
        now in 0u64..12_000,
    ) {
        let doomed = to_delete(&live, &held, grace, now);
        for id in &doomed {
            prop_assert!(!live.contains(id));
            let seen = held[id];
            prop_assert!(now.saturating_sub(seen) > grace);
        }
        // And everything else that qualifies is deleted: nothing leaks.
        for (id, &seen) in &held {
            let due = !live.contains(id) && now.saturating_sub(seen) > grace;
            prop_assert_eq!(doomed.contains(id), due);
        }
    }
}
