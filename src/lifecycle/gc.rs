//! The garbage collector's decision: which fragments a store may delete.
//!
//! **The race rule.** Deleting is late and needs a whole grace period of
//! being unreferenced. A store keeps, for each fragment it holds, the time
//! it was last seen referenced by a retained version or last written. A
//! write that reuses an existing fragment id (a put of bytes the store
//! already holds) refreshes that time, so the fragment survives at least one
//! more grace period: long enough for the write to commit the version that
//! references it, after which the fragment is live. The collector deletes
//! only fragments that are not live *and* were last seen more than `grace`
//! ago, so a fragment a writer relies on is never deleted under it as long
//! as the write commits within the grace period. A write that may take
//! longer must put its fragments again (refreshing them) before it commits,
//! or fail: it never commits a version referencing a fragment it has not
//! refreshed within the last grace period.

use std::collections::{BTreeMap, BTreeSet};

/// Whether a copy last seen referenced or written at `seen_ms` may be
/// deleted at `now_ms`: not `live`, and seen more than `grace_ms` ago (a
/// time in the future counts as just seen). The one rule of the collector.
pub fn is_due(live: bool, seen_ms: u64, grace_ms: u64, now_ms: u64) -> bool {
    !live && now_ms.saturating_sub(seen_ms) > grace_ms
}

/// The ids to delete from a store: those it holds (`held`, each with the
/// time in milliseconds it was last seen referenced or written) that
/// [`is_due`] given `live` (referenced by a retained version).
pub fn to_delete<Id: Ord + Clone>(
    live: &BTreeSet<Id>,
    held: &BTreeMap<Id, u64>,
    grace_ms: u64,
    now_ms: u64,
) -> BTreeSet<Id> {
    held.iter()
        .filter(|(id, &seen)| is_due(live.contains(*id), seen, grace_ms, now_ms))
        .map(|(id, _)| id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_only_the_unreferenced_past_grace() {
        let live = BTreeSet::from(["a"]);
        let held = BTreeMap::from([("a", 0), ("b", 0), ("c", 950), ("d", 900)]);
        // At 1000 with grace 100: b (1000 old) goes; c (50 old) and d
        // (exactly grace old) stay; a is live however old.
        assert_eq!(to_delete(&live, &held, 100, 1000), BTreeSet::from(["b"]));
        assert_eq!(
            to_delete(&live, &held, 100, 1001),
            BTreeSet::from(["b", "d"])
        );
    }

    #[test]
    fn a_reused_fragment_survives_one_more_grace() {
        let live = BTreeSet::new();
        let mut held = BTreeMap::from([(7u32, 0)]);
        // Unreferenced long enough: due for deletion at 500...
        assert_eq!(to_delete(&live, &held, 100, 500), BTreeSet::from([7]));
        // ...but a write reusing it at 450 refreshes its time.
        held.insert(7, 450);
        assert!(to_delete(&live, &held, 100, 500).is_empty());
        assert!(to_delete(&live, &held, 100, 550).is_empty());
        // The write committed: it is live, and stays however late.
        let live = BTreeSet::from([7]);
        assert!(to_delete(&live, &held, 100, u64::MAX).is_empty());
    }

    #[test]
    fn edge_times_do_not_panic_or_delete_early() {
        let live = BTreeSet::new();
        let held = BTreeMap::from([(1u8, u64::MAX), (2, 0)]);
        assert!(to_delete(&live, &held, 0, 0).is_empty());
        assert_eq!(to_delete(&live, &held, 0, 1), BTreeSet::from([2]));
        assert!(to_delete(&live, &held, u64::MAX, u64::MAX).is_empty());
        assert!(to_delete(&live, &BTreeMap::<u8, u64>::new(), 0, 9).is_empty());
    }
}
