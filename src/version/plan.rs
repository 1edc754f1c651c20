//! The fragment-level three-way merge of two manifests against their common
//! ancestor.
//!
//! A slot is one fragment position. Per slot `i`, with `b`, `o`, `t` the ids
//! (or absence) of base, ours and theirs:
//!
//! - `o == t`: ours' entry (both made the same change, or none);
//! - `o == b`: theirs' entry (only theirs changed it);
//! - `t == b`: ours' entry (only ours changed it);
//! - otherwise the slot conflicts.
//!
//! The merged slots form a file only if no absent slot comes before a
//! present one and every slot but the last is a full fragment; otherwise
//! the merge is left to the content (see [`Plan::NeedsContent`]).

use super::{ConflictReason, Side, TEXT_MERGE_MAX};
use crate::fragment::{FragmentEntry, FragmentId, Manifest, NO_FILE_HASH};

/// What the planner decided for `plan(base, ours, theirs)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The result is this side, whole (a fast-forward): `Theirs` when ours
    /// changed nothing since base, `Ours` when theirs changed nothing or
    /// both sides hold the same content.
    Take(Side),
    /// Both sides changed different fragments: `manifest` combines them.
    Fragments {
        /// Entries cloned from the side each slot comes from; name,
        /// redundancy, fragment size and algorithm from ours.
        manifest: Manifest,
        /// Slots of `manifest` whose entry is ours' change (ours differs
        /// from base there; this includes slots both sides changed alike).
        from_ours: Vec<u64>,
        /// Slots of `manifest` whose entry is theirs' change (only theirs
        /// differs from base there).
        from_theirs: Vec<u64>,
    },
    /// Both sides changed the same fragments, or their merged fragments do
    /// not form a file, but every side is at most [`TEXT_MERGE_MAX`] bytes:
    /// the caller fetches the three whole contents (verified) and calls
    /// [`super::merge_text`].
    NeedsContent {
        /// Slots both sides changed differently (empty when every slot
        /// merged but a short fragment would come before another).
        conflicting: Vec<u64>,
    },
    /// No merge is possible: the caller keeps theirs whole as a conflict
    /// copy (see [`super::resolve`]).
    Conflict(ConflictReason),
}

/// Plans the merge of `ours` and `theirs`, both made from `base`. A file
/// that had no version has an empty manifest as its base.
pub fn plan(base: &Manifest, ours: &Manifest, theirs: &Manifest) -> Plan {
    for (m, who) in [(base, "base"), (ours, "ours"), (theirs, "theirs")] {
        if !consistent(m) {
            return Plan::Conflict(ConflictReason::Malformed(who));
        }
    }
    if same_content(ours, base) {
        return Plan::Take(Side::Theirs);
    }
    if same_content(theirs, base) || same_content(ours, theirs) {
        return Plan::Take(Side::Ours);
    }
    if let Some(reason) = incompatible(base, ours, theirs) {
        return Plan::Conflict(reason);
    }
    match merge_slots(base, ours, theirs) {
        Ok(plan) => plan,
        Err(conflicting) => {
            let largest = base.size.max(ours.size).max(theirs.size);
            if largest > TEXT_MERGE_MAX {
                Plan::Conflict(ConflictReason::TooLarge)
            } else {
                Plan::NeedsContent { conflicting }
            }
        }
    }
}

/// Whether a manifest describes a file: one entry per fragment of its size,
/// each of the length its position implies and of the manifest's algorithm.
fn consistent(m: &Manifest) -> bool {
    let fs = m.fragment_size;
    m.fragments.len() as u64 == fs.count(m.size)
        && m.fragments
            .iter()
            .enumerate()
            .all(|(i, f)| f.len == fs.len_of(m.size, i as u64) && f.id.algo() == m.hash_algo)
}

/// Same bytes: the same ordered fragment ids (a fragment's length is part
/// of what its id hashes).
fn same_content(a: &Manifest, b: &Manifest) -> bool {
    a.fragments.len() == b.fragments.len()
        && a.fragments
            .iter()
            .zip(&b.fragments)
            .all(|(x, y)| x.id == y.id)
}

/// Slots are comparable only between manifests cut to the same size with
/// the same algorithm; a manifest with no fragment is comparable with any.
fn incompatible(base: &Manifest, ours: &Manifest, theirs: &Manifest) -> Option<ConflictReason> {
    let sides: Vec<&Manifest> = [base, ours, theirs]
        .into_iter()
        .filter(|m| !m.fragments.is_empty())
        .collect();
    let first = sides.first()?;
    if sides.iter().any(|m| m.fragment_size != first.fragment_size) {
        return Some(ConflictReason::FragmentSize);
    }
    if sides.iter().any(|m| m.hash_algo != first.hash_algo) {
        return Some(ConflictReason::HashAlgo);
    }
    None
}

/// Where one merged slot comes from.
enum Pick<'a> {
    Ours(Option<&'a FragmentEntry>),
    Theirs(Option<&'a FragmentEntry>),
    Same(Option<&'a FragmentEntry>),
}

fn pick_slot<'a>(
    b: Option<&'a FragmentEntry>,
    o: Option<&'a FragmentEntry>,
    t: Option<&'a FragmentEntry>,
) -> Option<Pick<'a>> {
    let id = |e: Option<&FragmentEntry>| -> Option<FragmentId> { e.map(|e| e.id) };
    let (bi, oi, ti) = (id(b), id(o), id(t));
    if oi == ti {
        Some(if oi == bi {
            Pick::Same(o)
        } else {
            Pick::Ours(o)
        })
    } else if oi == bi {
        Some(Pick::Theirs(t))
    } else if ti == bi {
        Some(Pick::Ours(o))
    } else {
        None
    }
}

/// Merges slot by slot; `Err` holds the conflicting slots (empty when the
/// merged slots do not form a file).
fn merge_slots(base: &Manifest, ours: &Manifest, theirs: &Manifest) -> Result<Plan, Vec<u64>> {
    let slots = base
        .fragments
        .len()
        .max(ours.fragments.len())
        .max(theirs.fragments.len());
    let (mut entries, mut from_ours, mut from_theirs, mut conflicting) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..slots {
        let (b, o, t) = (
            base.fragments.get(i),
            ours.fragments.get(i),
            theirs.fragments.get(i),
        );
        let entry = match pick_slot(b, o, t) {
            None => {
                conflicting.push(i as u64);
                continue;
            }
            Some(Pick::Ours(e)) => {
                from_ours.push(i as u64);
                e
            }
            Some(Pick::Theirs(e)) => {
                from_theirs.push(i as u64);
                e
            }
            Some(Pick::Same(e)) => e,
        };
        entries.push(entry);
    }
    if !conflicting.is_empty() {
        return Err(conflicting);
    }
    let shape = shape_of(base, ours, theirs);
    let Some(fragments) = forms_a_file(&entries, shape.fragment_size.get()) else {
        return Err(Vec::new());
    };
    // A slot a side removed is absent from the result: only present slots
    // are reported.
    let present = fragments.len() as u64;
    from_ours.retain(|&i| i < present);
    from_theirs.retain(|&i| i < present);
    Ok(Plan::Fragments {
        manifest: build(fragments, shape, ours, theirs),
        from_ours,
        from_theirs,
    })
}

/// The merged entries if they form a file: no absent slot before a present
/// one, every slot but the last a full fragment.
fn forms_a_file(slots: &[Option<&FragmentEntry>], full: u32) -> Option<Vec<FragmentEntry>> {
    let present = slots.iter().take_while(|e| e.is_some()).count();
    if slots[present..].iter().any(|e| e.is_some()) {
        return None;
    }
    let fragments: Vec<FragmentEntry> = slots[..present]
        .iter()
        .flatten()
        .map(|&e| e.clone())
        .collect();
    let short_inside = fragments.iter().rev().skip(1).any(|e| e.len != full);
    (!short_inside).then_some(fragments)
}

/// The manifest whose fragment size and algorithm the result takes: ours,
/// or when ours has no fragment (and so names neither) the first other
/// that has one ([`incompatible`] checked that they agree).
fn shape_of<'a>(base: &'a Manifest, ours: &'a Manifest, theirs: &'a Manifest) -> &'a Manifest {
    [ours, theirs, base]
        .into_iter()
        .find(|m| !m.fragments.is_empty())
        .unwrap_or(ours)
}

/// The merged manifest: name and redundancy from ours, fragment size and
/// algorithm from `shape`, size from the entries, the whole-file hash only
/// when the result is one side's content and that side recorded it.
fn build(
    fragments: Vec<FragmentEntry>,
    shape: &Manifest,
    ours: &Manifest,
    theirs: &Manifest,
) -> Manifest {
    let mut m = Manifest {
        name: ours.name.clone(),
        size: fragments.iter().map(|e| u64::from(e.len)).sum(),
        fragment_size: shape.fragment_size,
        hash_algo: shape.hash_algo,
        file_sha3: NO_FILE_HASH,
        redundancy: ours.redundancy,
        fragments,
    };
    for side in [ours, theirs] {
        if side.has_file_hash() && same_content(&m, side) {
            m.file_sha3 = side.file_sha3;
        }
    }
    m
}
