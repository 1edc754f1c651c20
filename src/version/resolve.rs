//! The final decision for a commit that found another head since its base:
//! the file's merge policy applied to what the planner found.
//!
//! Ours is always the later commit (it is committed after theirs, with a
//! hybrid-logical time after theirs), so whenever one side must hold the
//! name it is ours, and nothing of theirs is dropped: it stays in history
//! (`Override`) or is kept whole beside the file (`ConflictCopy`).

use super::{ConflictReason, Plan, Side, TextMerge};
use crate::fragment::Manifest;

/// A file's merge policy: the value of the extended attribute
/// [`Policy::XATTR`] on the file or on the nearest directory above it that
/// has one; [`Policy::Merge`] when none has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Three-way merge against the common ancestor; a conflict copy when
    /// that fails.
    #[default]
    Merge,
    /// Last write wins: the later commit holds the name, the other version
    /// stays in history, recorded as overridden.
    Lww,
}

/// An attribute value that names no policy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("merge policy {0:?} is not one of: merge, lww")]
pub struct PolicyError(pub String);

impl Policy {
    /// The extended attribute that holds the policy.
    pub const XATTR: &'static str = "user.fragfs.merge";

    /// Parses an attribute value: `merge` or `lww`, surrounding ASCII
    /// whitespace ignored (`echo lww` leaves a newline).
    pub fn parse(value: &[u8]) -> Result<Policy, PolicyError> {
        match value.trim_ascii() {
            b"merge" => Ok(Policy::Merge),
            b"lww" => Ok(Policy::Lww),
            other => Err(PolicyError(String::from_utf8_lossy(other).into_owned())),
        }
    }

    /// The attribute value naming this policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Merge => "merge",
            Policy::Lww => "lww",
        }
    }
}

/// A merged result to commit on top of theirs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Merged {
    /// That side's version, whole (a fast-forward: the other side changed
    /// nothing, or both hold the same content). `Take(Theirs)` leaves the
    /// head as it is.
    Take(Side),
    /// The fragment-level merge (see [`Plan::Fragments`]).
    Fragments {
        manifest: Manifest,
        from_ours: Vec<u64>,
        from_theirs: Vec<u64>,
    },
    /// The merged text: the caller cuts it into fragments, stores them and
    /// commits the result.
    Text(Vec<u8>),
}

/// What the commit does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Commit the merged result on top of theirs.
    Merged(Merged),
    /// Last write wins: ours holds the name; theirs stays in history and is
    /// recorded as overridden.
    Override,
    /// The merge failed: ours (the later commit) holds the name; theirs'
    /// whole content is kept as a conflict copy (see
    /// [`super::conflict_name`]) and the conflict is recorded.
    ConflictCopy(ConflictReason),
}

/// Decides under `policy`, given the fragment-level `plan` and, when the
/// plan was [`Plan::NeedsContent`], the text merge of the contents (`None`
/// when the caller could not fetch them: a conflict copy, nothing lost).
/// A fast-forward is never an override or a conflict, under any policy.
/// Under [`Policy::Lww`] the contents are never needed: call it with
/// `None` before fetching anything.
pub fn resolve(policy: Policy, plan: Plan, text: Option<TextMerge>) -> Resolution {
    let merged = match plan {
        Plan::Take(side) => return Resolution::Merged(Merged::Take(side)),
        _ if policy == Policy::Lww => return Resolution::Override,
        Plan::Fragments {
            manifest,
            from_ours,
            from_theirs,
        } => Merged::Fragments {
            manifest,
            from_ours,
            from_theirs,
        },
        Plan::Conflict(reason) => return Resolution::ConflictCopy(reason),
        Plan::NeedsContent { .. } => match text {
            Some(TextMerge::Clean(bytes)) => Merged::Text(bytes),
            Some(TextMerge::Conflict) => return Resolution::ConflictCopy(ConflictReason::Lines),
            Some(TextMerge::NotText) => return Resolution::ConflictCopy(ConflictReason::NotText),
            None => return Resolution::ConflictCopy(ConflictReason::NoContent),
        },
    };
    Resolution::Merged(merged)
}
