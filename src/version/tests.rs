//! Unit tests of the planner, the text merge and the decision (the names
//! are tested beside them, in `names.rs`).

use super::*;
use crate::fragment::{FragmentEntry, FragmentId, FragmentSize, HashAlgo, Manifest, NO_FILE_HASH};
use crate::redundancy::{NodeId, Redundancy};

/// Fragment size of the test manifests.
pub(super) const FS: u32 = FragmentSize::MIN;

/// An entry standing for the fragment `tag` of `len` bytes.
pub(super) fn entry(tag: u32, len: u32) -> FragmentEntry {
    let bytes = [tag.to_le_bytes(), len.to_le_bytes()].concat();
    FragmentEntry {
        id: FragmentId::of(HashAlgo::Sha3_256, &bytes),
        len,
        holders: vec![NodeId(tag.to_le_bytes().to_vec())],
    }
}

/// A consistent manifest of full fragments `tags`, the last `last_len`
/// bytes long.
pub(super) fn file(tags: &[u32], last_len: u32) -> Manifest {
    let n = tags.len();
    let fragments: Vec<FragmentEntry> = tags
        .iter()
        .enumerate()
        .map(|(i, &t)| entry(t, if i + 1 == n { last_len } else { FS }))
        .collect();
    Manifest {
        name: "f.bin".into(),
        size: fragments.iter().map(|e| u64::from(e.len)).sum(),
        fragment_size: FragmentSize::new(FS).unwrap(),
        hash_algo: HashAlgo::Sha3_256,
        file_sha3: [1; 32],
        redundancy: Redundancy::default(),
        fragments,
    }
}

fn ids(m: &Manifest) -> Vec<FragmentId> {
    m.fragments.iter().map(|e| e.id).collect()
}

#[test]
fn t10_fast_forwards_take_one_side() {
    let base = file(&[1, 2], 10);
    let changed = file(&[1, 3], 10);
    assert_eq!(plan(&base, &base, &changed), Plan::Take(Side::Theirs));
    assert_eq!(plan(&base, &changed, &base), Plan::Take(Side::Ours));
    assert_eq!(plan(&base, &changed, &changed), Plan::Take(Side::Ours));
}

#[test]
fn t10_changes_to_different_fragments_combine() {
    let base = file(&[1, 2, 3], 10);
    let mut ours = file(&[9, 2, 3], 10);
    ours.name = "ours.bin".into();
    let theirs = file(&[1, 2, 8], 20);
    let Plan::Fragments {
        manifest,
        from_ours,
        from_theirs,
    } = plan(&base, &ours, &theirs)
    else {
        panic!("expected a fragment merge");
    };
    assert_eq!(
        manifest.fragments,
        vec![
            ours.fragments[0].clone(),
            base.fragments[1].clone(),
            theirs.fragments[2].clone()
        ]
    );
    assert_eq!((from_ours, from_theirs), (vec![0], vec![2]));
    assert_eq!(manifest.size, 2 * u64::from(FS) + 20);
    assert_eq!(manifest.file_sha3, NO_FILE_HASH);
    assert_eq!(manifest.name, "ours.bin");
    assert!(Manifest::decode(&manifest.encode()).is_ok());
}

#[test]
fn t10_appends_truncations_and_changes_combine() {
    // Ours fills the short last fragment and appends one; theirs changes the first.
    let base = file(&[1, 2], 10);
    let ours = file(&[1, 5, 6], 7);
    let theirs = file(&[7, 2], 10);
    let Plan::Fragments { manifest, .. } = plan(&base, &ours, &theirs) else {
        panic!("expected a fragment merge");
    };
    assert_eq!(ids(&manifest), ids(&file(&[7, 5, 6], 7)));
    // Ours truncates to two fragments; theirs changes the first.
    let base = file(&[1, 2, 3], 10);
    let ours = file(&[1, 2], FS);
    let theirs = file(&[5, 2, 3], 10);
    let Plan::Fragments {
        manifest,
        from_ours,
        from_theirs,
    } = plan(&base, &ours, &theirs)
    else {
        panic!("expected a fragment merge");
    };
    assert_eq!(ids(&manifest), ids(&file(&[5, 2], FS)));
    assert_eq!((from_ours, from_theirs), (vec![], vec![0]));
}

#[test]
fn t20_the_same_fragment_changed_twice_needs_the_contents() {
    let base = file(&[1, 2], 10);
    let p = plan(&base, &file(&[1, 3], 10), &file(&[1, 4], 10));
    assert_eq!(
        p,
        Plan::NeedsContent {
            conflicting: vec![1]
        }
    );
    // Modify against truncate.
    let p = plan(&file(&[1, 2], 10), &file(&[1, 3], 10), &file(&[1], FS));
    assert_eq!(
        p,
        Plan::NeedsContent {
            conflicting: vec![1]
        }
    );
    // A new file written by both sides from no version.
    let empty = file(&[], 0);
    let p = plan(&empty, &file(&[1], 5), &file(&[2], 6));
    assert_eq!(
        p,
        Plan::NeedsContent {
            conflicting: vec![0]
        }
    );
}

#[test]
fn t20_a_short_fragment_before_another_is_not_a_file() {
    // Theirs shortens fragment 0 (and drops 1); ours changes fragment 1.
    let base = file(&[1, 2], 10);
    let p = plan(&base, &file(&[1, 3], 10), &file(&[1], 10));
    assert_eq!(
        p,
        Plan::NeedsContent {
            conflicting: vec![1]
        }
    );
    let base = file(&[1, 2, 3], 10);
    let p = plan(&base, &file(&[1, 2, 4], 10), &file(&[5], 10));
    assert!(matches!(p, Plan::NeedsContent { .. }), "{p:?}");
    let base = file(&[1, 2], FS);
    let p = plan(&base, &file(&[1, 4], FS), &file(&[6, 2], FS));
    assert!(matches!(p, Plan::Fragments { .. }));
    let p = plan(&base, &file(&[1, 4], FS), &file(&[6, 2], 9));
    assert!(matches!(p, Plan::NeedsContent { .. }), "{p:?}");
    // Every slot merges, but theirs' short fragment 0 would come before
    // ours' new fragment 1.
    let p = plan(&file(&[1], FS), &file(&[1, 2], 10), &file(&[5], 9));
    assert_eq!(
        p,
        Plan::NeedsContent {
            conflicting: vec![]
        }
    );
    // Ours removed fragment 0, theirs appended fragment 1: a gap.
    let p = plan(&file(&[1], FS), &file(&[], 0), &file(&[1, 2], 10));
    assert_eq!(
        p,
        Plan::NeedsContent {
            conflicting: vec![]
        }
    );
}

#[test]
fn t20_large_or_incompatible_versions_conflict() {
    let many: Vec<u32> = (1..=257).collect();
    let base = file(&many, 1);
    assert!(base.size > TEXT_MERGE_MAX);
    let mut ours = many.clone();
    ours[3] = 1000;
    let mut theirs = many.clone();
    theirs[3] = 2000;
    let p = plan(&base, &file(&ours, 1), &file(&theirs, 1));
    assert_eq!(p, Plan::Conflict(ConflictReason::TooLarge));

    let base = file(&[1, 2], 10);
    let mut other_size = file(&[1], 10);
    other_size.fragment_size = FragmentSize::new(2 * FS).unwrap();
    let p = plan(&base, &file(&[3, 2], 10), &other_size);
    assert_eq!(p, Plan::Conflict(ConflictReason::FragmentSize));

    let mut blake = file(&[1, 2], 10);
    blake.hash_algo = HashAlgo::Blake3;
    for e in &mut blake.fragments {
        e.id = FragmentId::of(HashAlgo::Blake3, e.id.digest());
    }
    let p = plan(&base, &file(&[3, 2], 10), &blake);
    assert_eq!(p, Plan::Conflict(ConflictReason::HashAlgo));

    let mut broken = file(&[1, 2], 10);
    broken.size += 1;
    let p = plan(&base, &broken, &file(&[1, 3], 10));
    assert_eq!(p, Plan::Conflict(ConflictReason::Malformed("ours")));
}

#[test]
fn t20_a_merged_manifest_records_no_whole_file_hash() {
    // Its content is neither side's, so no recorded hash describes it.
    let base = file(&[1, 2, 3], 10);
    let mut ours = file(&[4, 2, 3], 10);
    ours.file_sha3 = [8; 32];
    let mut theirs = file(&[1, 2, 5], 10);
    theirs.file_sha3 = [9; 32];
    let Plan::Fragments { manifest, .. } = plan(&base, &ours, &theirs) else {
        panic!("expected a fragment merge")
    };
    assert!(!manifest.has_file_hash());
}

fn lines(n: usize) -> String {
    (0..n).map(|i| format!("line {i}\n")).collect()
}

#[test]
fn t30_changes_to_different_lines_of_one_fragment_combine() {
    let base = lines(10);
    let ours = base.replace("line 2\n", "ours two\n");
    let theirs = base.replace("line 8\n", "theirs eight\n");
    let want = base
        .replace("line 2\n", "ours two\n")
        .replace("line 8\n", "theirs eight\n");
    let got = merge_text(base.as_bytes(), ours.as_bytes(), theirs.as_bytes());
    assert_eq!(got, TextMerge::Clean(want.into_bytes()));
}

/// The limit is reachable: a 16 MiB text with a change on each side
/// merges by line.
#[test]
fn t30_a_text_at_the_limit_merges() {
    let line = |i: usize| format!("{i:07} {}\n", "x".repeat(71)); // 80 bytes
    let n = TEXT_MERGE_MAX as usize / 80;
    let base: String = (0..n).map(line).collect();
    let edit = |text: &str, i: usize, c: &str| text.replacen(&line(i), &line(i).replace('x', c), 1);
    let ours = edit(&base, 10, "o");
    let theirs = edit(&base, n - 10, "t");
    let want = edit(&ours, n - 10, "t");
    assert!(base.len() as u64 > TEXT_MERGE_MAX - 80);
    let got = merge_text(base.as_bytes(), ours.as_bytes(), theirs.as_bytes());
    assert!(
        got == TextMerge::Clean(want.into_bytes()),
        "the 16 MiB merge differs"
    );
}

#[test]
fn t30_both_sides_appending_keeps_both_theirs_first() {
    let base = "a\nb\n";
    let got = merge_text(
        base.as_bytes(),
        b"a\nb\nours\n",
        b"a\nb\ntheirs 1\ntheirs 2\n",
    );
    assert_eq!(
        got,
        TextMerge::Clean(b"a\nb\ntheirs 1\ntheirs 2\nours\n".to_vec())
    );
    // From an empty base (a file both created).
    let got = merge_text(b"", b"ours\n", b"theirs\n");
    assert_eq!(got, TextMerge::Clean(b"theirs\nours\n".to_vec()));
}

#[test]
fn t30_files_without_a_final_newline() {
    let got = merge_text(b"a\nb", b"a\nb\nc", b"a\nb\nd");
    assert_eq!(got, TextMerge::Clean(b"a\nb\nd\nc".to_vec()));
    // Theirs' addition has no final newline: the lines stay apart.
    let got = merge_text(b"a\n", b"a\nc\n", b"a\nd");
    assert_eq!(got, TextMerge::Clean(b"a\nd\nc\n".to_vec()));
    // Ours extended the last line itself: not an append.
    assert_eq!(
        merge_text(b"a\nb", b"a\nbc", b"a\nb\nd"),
        TextMerge::Conflict
    );
    let base = "1\n2\n3\n4\nlast";
    let got = merge_text(base.as_bytes(), b"one\n2\n3\n4\nlast", b"1\n2\n3\n4\nLAST");
    assert_eq!(got, TextMerge::Clean(b"one\n2\n3\n4\nLAST".to_vec()));
}

#[test]
fn t30_the_same_line_changed_twice_conflicts() {
    let base = lines(5);
    let ours = base.replace("line 2\n", "ours\n");
    let theirs = base.replace("line 2\n", "theirs\n");
    let got = merge_text(base.as_bytes(), ours.as_bytes(), theirs.as_bytes());
    assert_eq!(got, TextMerge::Conflict);
    // An append on one side against an edit of the last line on the other.
    let got = merge_text(b"a\nb\n", b"a\nb\nc\n", b"a\nB\n");
    assert_eq!(got, TextMerge::Conflict);
}

#[test]
fn t30_binary_and_oversized_contents_are_not_text() {
    assert_eq!(merge_text(b"a\n", b"\xff\n", b"b\n"), TextMerge::NotText);
    assert_eq!(merge_text(b"\xc3", b"a\n", b"b\n"), TextMerge::NotText);
    let big = vec![b'x'; TEXT_MERGE_MAX as usize + 1];
    assert_eq!(merge_text(&big, b"a\n", b"b\n"), TextMerge::NotText);
    // Both append 9 MiB: the result would be above the limit.
    let half: String = "y".repeat(1023) + "\n";
    let ours = half.repeat(9 * 1024);
    let theirs = ours.replace('y', "z");
    assert_eq!(
        merge_text(b"", ours.as_bytes(), theirs.as_bytes()),
        TextMerge::Conflict
    );
}

#[test]
fn t40_policy_parses_the_attribute_value() {
    assert_eq!(Policy::parse(b"merge"), Ok(Policy::Merge));
    assert_eq!(Policy::parse(b" lww\n"), Ok(Policy::Lww));
    assert_eq!(Policy::default(), Policy::Merge);
    assert_eq!(
        Policy::parse(Policy::Lww.as_str().as_bytes()),
        Ok(Policy::Lww)
    );
    let bad: [&[u8]; 4] = [b"", b"LWW", b"merge lww", b"\xff"];
    for bad in bad {
        assert!(Policy::parse(bad).is_err(), "{bad:?}");
    }
    let err = Policy::parse(b"last").unwrap_err().to_string();
    assert!(
        err.contains("\"last\"") && err.contains("merge, lww"),
        "{err}"
    );
}

#[test]
fn t40_resolve_applies_the_policy() {
    use Policy::{Lww, Merge};
    let take = || Plan::Take(Side::Theirs);
    let base = file(&[1, 2, 3], 10);
    let frag = || plan(&base, &file(&[4, 2, 3], 10), &file(&[1, 2, 5], 10));
    let needs = || Plan::NeedsContent {
        conflicting: vec![0],
    };
    let clean = || Some(TextMerge::Clean(b"x".to_vec()));
    for policy in [Merge, Lww] {
        assert_eq!(
            resolve(policy, take(), None),
            Resolution::Merged(Merged::Take(Side::Theirs))
        );
    }
    assert!(matches!(
        resolve(Merge, frag(), None),
        Resolution::Merged(Merged::Fragments { .. })
    ));
    assert_eq!(resolve(Lww, frag(), None), Resolution::Override);
    assert_eq!(resolve(Lww, needs(), clean()), Resolution::Override);
    assert_eq!(
        resolve(Merge, needs(), clean()),
        Resolution::Merged(Merged::Text(b"x".to_vec()))
    );
    let copy = |r| Resolution::ConflictCopy(r);
    assert_eq!(
        resolve(Merge, needs(), Some(TextMerge::Conflict)),
        copy(ConflictReason::Lines)
    );
    assert_eq!(
        resolve(Merge, needs(), Some(TextMerge::NotText)),
        copy(ConflictReason::NotText)
    );
    assert_eq!(
        resolve(Merge, needs(), None),
        copy(ConflictReason::NoContent)
    );
    let big = Plan::Conflict(ConflictReason::TooLarge);
    assert_eq!(resolve(Merge, big, None), copy(ConflictReason::TooLarge));
}
