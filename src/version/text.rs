//! The line-level three-way merge of whole text contents.
//!
//! Rules, in order:
//!
//! 1. An input above [`TEXT_MERGE_MAX`] bytes or not valid UTF-8 is
//!    [`TextMerge::NotText`].
//! 2. `diffy`'s three-way merge: changes to different lines combine; changes
//!    to the same lines, or to lines next to each other, conflict (as in
//!    git).
//! 3. Both sides appended, and only appended: each side is the whole base
//!    followed by lines of its own (starting on a line boundary). The result
//!    is the base, then theirs' lines (theirs was committed first), then
//!    ours'. A newline is put between the two additions when theirs' does
//!    not end in one, so no line of one side is glued to a line of the other.
//! 4. Anything else that conflicts is [`TextMerge::Conflict`]. A result never
//!    holds conflict markers.
//!
//! A result above [`TEXT_MERGE_MAX`] is a conflict too: it would not fit
//! the memory the limit promises.
//!
//! Cost: `diffy` diffs by Myers' algorithm with no cost bound, so the time
//! grows with lines × differing lines. A few changes in 16 MiB merge fast;
//! two wholesale rewrites of a large text can take long. Callers run it on
//! a blocking thread, never on the async runtime.

use super::TEXT_MERGE_MAX;

/// The outcome of [`merge_text`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextMerge {
    /// The merged content.
    Clean(Vec<u8>),
    /// Both sides changed the same lines.
    Conflict,
    /// An input is not UTF-8 text or is above [`TEXT_MERGE_MAX`].
    NotText,
}

/// Merges the contents `ours` and `theirs`, both made from `base`.
pub fn merge_text(base: &[u8], ours: &[u8], theirs: &[u8]) -> TextMerge {
    if [base, ours, theirs]
        .iter()
        .any(|c| c.len() as u64 > TEXT_MERGE_MAX)
    {
        return TextMerge::NotText;
    }
    let (Ok(b), Ok(o), Ok(t)) = (
        std::str::from_utf8(base),
        std::str::from_utf8(ours),
        std::str::from_utf8(theirs),
    ) else {
        return TextMerge::NotText;
    };
    let merged = match diffy::merge(b, o, t) {
        Ok(clean) => clean.into_bytes(),
        Err(_with_markers) => match both_appended(b, o, t) {
            Some(combined) => combined,
            None => return TextMerge::Conflict,
        },
    };
    if merged.len() as u64 > TEXT_MERGE_MAX {
        return TextMerge::Conflict;
    }
    TextMerge::Clean(merged)
}

/// Rule 3: base + theirs' addition + ours' addition, when both sides only
/// appended lines to the whole base.
fn both_appended(base: &str, ours: &str, theirs: &str) -> Option<Vec<u8>> {
    let ours_added = appended(base, ours)?;
    let theirs_added = appended(base, theirs)?;
    let mut out = Vec::with_capacity(base.len() + ours_added.len() + theirs_added.len() + 1);
    out.extend_from_slice(base.as_bytes());
    out.extend_from_slice(theirs_added.as_bytes());
    if !theirs_added.ends_with('\n') && !ours_added.starts_with('\n') {
        out.push(b'\n');
    }
    out.extend_from_slice(ours_added.as_bytes());
    Some(out)
}

/// What `side` added after the whole of `base`, if that is all it did and
/// the addition starts a new line (so no line of base was changed).
fn appended<'a>(base: &str, side: &'a str) -> Option<&'a str> {
    let added = side.strip_prefix(base)?;
    let on_line_boundary = base.is_empty() || base.ends_with('\n') || added.starts_with('\n');
    (!added.is_empty() && on_line_boundary).then_some(added)
}
