//! Laws of the planner and the text merge: no change is ever lost, and
//! merging disjoint changes does not depend on which side is ours.

use super::tests::{file, FS};
use super::*;
use crate::fragment::{FragmentId, Manifest};
use proptest::prelude::*;

/// A file as fragment tags and the length of its last fragment.
#[derive(Clone, Debug)]
struct Shape {
    tags: Vec<u32>,
    last_len: u32,
}

impl Shape {
    fn manifest(&self) -> Manifest {
        file(&self.tags, self.last_len)
    }
}

fn last_len() -> impl Strategy<Value = u32> {
    prop_oneof![Just(FS), 1..FS]
}

fn base_shape() -> impl Strategy<Value = Shape> {
    (prop::collection::vec(0u32..4, 0..6), last_len())
        .prop_map(|(tags, last_len)| Shape { tags, last_len })
}

/// One side's edit of a base: per slot keep (most often), change to a tag
/// of its own (`own`), or to a tag both sides may pick; then an optional
/// new length (truncation or appended slots) and last fragment length.
fn edit(base: &Shape, own: u32) -> impl Strategy<Value = Shape> {
    let n = base.tags.len();
    let slot = prop_oneof![6 => Just(None), 2 => Just(Some(own)), 1 => Just(Some(900))];
    let resize = prop_oneof![3 => Just(None), 1 => (0..n + 3).prop_map(Some)];
    let last = prop_oneof![3 => Just(None), 1 => last_len().prop_map(Some)];
    let base = base.clone();
    (prop::collection::vec(slot, n), resize, last).prop_map(move |(changes, resize, last)| {
        let mut tags: Vec<u32> = base
            .tags
            .iter()
            .zip(&changes)
            .enumerate()
            .map(|(i, (&t, c))| c.map_or(t, |c| c + i as u32))
            .collect();
        if let Some(len) = resize {
            tags.resize_with(len, || own + 50);
        }
        Shape {
            tags,
            last_len: last.unwrap_or(base.last_len),
        }
    })
}

fn three() -> impl Strategy<Value = (Shape, Shape, Shape)> {
    base_shape().prop_flat_map(|b| {
        let (o, t) = (edit(&b, 100), edit(&b, 200));
        (Just(b), o, t)
    })
}

fn slot_ids(m: &Manifest, slots: usize) -> Vec<Option<FragmentId>> {
    (0..slots)
        .map(|i| m.fragments.get(i).map(|e| e.id))
        .collect()
}

/// The merged manifest, when the plan merged.
fn result(p: &Plan, ours: &Manifest, theirs: &Manifest) -> Option<Manifest> {
    match p {
        Plan::Take(Side::Ours) => Some(ours.clone()),
        Plan::Take(Side::Theirs) => Some(theirs.clone()),
        Plan::Fragments { manifest, .. } => Some(manifest.clone()),
        Plan::NeedsContent { .. } | Plan::Conflict(_) => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every slot a side changed against base is in the result as that
    /// side has it, or the plan is not a merge (the caller then keeps
    /// theirs whole: nothing is lost either).
    #[test]
    fn t30_no_fragment_change_is_lost((b, o, t) in three()) {
        let (b, o, t) = (b.manifest(), o.manifest(), t.manifest());
        let p = plan(&b, &o, &t);
        let Some(r) = result(&p, &o, &t) else { return Ok(()) };
        prop_assert!(Manifest::decode(&r.encode()).is_ok(), "{:?}", p);
        let n = [&b, &o, &t, &r].iter().map(|m| m.fragments.len()).max().unwrap_or(0);
        let (bi, oi, ti, ri) = (slot_ids(&b, n), slot_ids(&o, n), slot_ids(&t, n), slot_ids(&r, n));
        for i in 0..n {
            if oi[i] != bi[i] {
                prop_assert_eq!(ri[i], oi[i], "ours' change of slot {} lost: {:?}", i, p);
            }
            if ti[i] != bi[i] {
                prop_assert_eq!(ri[i], ti[i], "theirs' change of slot {} lost: {:?}", i, p);
            }
            if oi[i] == bi[i] && ti[i] == bi[i] {
                prop_assert_eq!(ri[i], bi[i]);
            }
        }
        if let Plan::Fragments { from_ours, from_theirs, .. } = &p {
            for &i in from_ours {
                prop_assert!(oi[i as usize] != bi[i as usize] && ri[i as usize] == oi[i as usize]);
            }
            for &i in from_theirs {
                prop_assert!(ti[i as usize] != bi[i as usize] && ri[i as usize] == ti[i as usize]);
            }
        }
    }

    /// Swapping ours and theirs gives the same merged content, or neither
    /// merges.
    #[test]
    fn t30_fragment_merge_is_symmetric((b, o, t) in three()) {
        let (b, o, t) = (b.manifest(), o.manifest(), t.manifest());
        let (p, q) = (plan(&b, &o, &t), plan(&b, &t, &o));
        let ids = |m: Option<Manifest>| m.map(|m| slot_ids(&m, m.fragments.len()));
        prop_assert_eq!(ids(result(&p, &o, &t)), ids(result(&q, &t, &o)), "{:?} / {:?}", p, q);
        prop_assert_eq!(
            matches!(p, Plan::NeedsContent { .. }),
            matches!(q, Plan::NeedsContent { .. })
        );
    }

    /// Each side edits or deletes lines no other side's change touches or
    /// neighbours: the merge is clean, holds exactly both sides' changes,
    /// and does not depend on which side is ours.
    #[test]
    fn t30_disjoint_line_changes_merge(
        (edits, trailing) in (prop::collection::vec(0u8..5, 1..40), any::<bool>())
    ) {
        let edits = separate(edits);
        let (base, ours, theirs, want) = texts(&edits, trailing);
        let got = merge_text(base.as_bytes(), ours.as_bytes(), theirs.as_bytes());
        prop_assert_eq!(&got, &TextMerge::Clean(want.into_bytes()));
        let swapped = merge_text(base.as_bytes(), theirs.as_bytes(), ours.as_bytes());
        prop_assert_eq!(got, swapped);
    }

    /// Both sides change the same line differently: a conflict (never a
    /// result with markers in it).
    #[test]
    fn t30_the_same_line_changed_twice_conflicts(
        (n, line, trailing) in (1usize..40).prop_flat_map(|n| (Just(n), 0..n, any::<bool>()))
    ) {
        let mut edits = vec![0u8; n];
        edits[line] = 1;
        let (base, ours, _, _) = texts(&edits, trailing);
        edits[line] = 2;
        let (_, _, theirs, _) = texts(&edits, trailing);
        let got = merge_text(base.as_bytes(), ours.as_bytes(), theirs.as_bytes());
        prop_assert_eq!(got, TextMerge::Conflict);
    }
}

/// Per line: 0 unchanged, 1 ours edits, 2 theirs edits, 3 ours deletes,
/// 4 theirs deletes. A line changed by one side right after a line changed
/// by the other is left unchanged (neighbouring changes conflict, as in
/// git).
fn separate(mut edits: Vec<u8>) -> Vec<u8> {
    let side = |e: u8| match e {
        1 | 3 => 1,
        2 | 4 => 2,
        _ => 0,
    };
    for i in 1..edits.len() {
        let (prev, cur) = (side(edits[i - 1]), side(edits[i]));
        if prev != 0 && cur != 0 && prev != cur {
            edits[i] = 0;
        }
    }
    edits
}

/// `(base, ours, theirs, expected merge)` for per-line `edits`.
fn texts(edits: &[u8], trailing: bool) -> (String, String, String, String) {
    let n = edits.len();
    let end = |i: usize| if i + 1 < n || trailing { "\n" } else { "" };
    let (mut base, mut ours, mut theirs, mut want): (String, String, String, String) =
        Default::default();
    let gone = String::new();
    for (i, &e) in edits.iter().enumerate() {
        let line = format!("line {i}{}", end(i));
        let mine = format!("ours {i}{}", end(i));
        let yours = format!("theirs {i}{}", end(i));
        push(&mut base, &line);
        let (o, t, w) = match e {
            1 => (&mine, &line, Some(&mine)),
            2 => (&line, &yours, Some(&yours)),
            3 => (&gone, &line, None),
            4 => (&line, &gone, None),
            _ => (&line, &line, Some(&line)),
        };
        push(&mut ours, o);
        push(&mut theirs, t);
        if let Some(w) = w {
            push(&mut want, w);
        }
    }
    (base, ours, theirs, want)
}

fn push(s: &mut String, part: &str) {
    s.push_str(part);
}
