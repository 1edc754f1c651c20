//! Versions of a file: the pure planner that decides what a commit becomes
//! when someone else committed since the version it started from.
//!
//! Terms: `base` is the common ancestor (the version the committing writer
//! started from; an empty manifest when the file had no version), `ours`
//! what the committing writer wants to commit, `theirs` the head another
//! writer committed since. Ours is always the *later* commit: it reaches the
//! namespace after theirs, with a hybrid-logical time after theirs.
//!
//! What this module decides:
//!
//! - [`plan`]: the fragment-level three-way merge of the manifests (for any
//!   file, text or binary): a fast-forward, the merged manifest with the
//!   slots each side contributed, a request for the contents, or a conflict.
//! - [`merge_text`]: the line-level three-way merge of whole contents of at
//!   most [`TEXT_MERGE_MAX`] bytes, when the plan asks for it.
//! - [`resolve`]: the final decision under the file's [`Policy`]: commit the
//!   merged result, override (last-write-wins), or keep a conflict copy.
//! - [`conflict_name`] and [`history_name`]: the names of conflict copies
//!   and of entries in the history tree.
//!
//! What it leaves to the caller: fetching and verifying the three contents
//! when the plan asks for them, cutting and storing the fragments of a
//! merged text, committing the result on top of theirs, creating the
//! conflict copy with theirs' content, and recording and logging the event.
//!
//! **Architecture invariant:** no IO. No tokio, no libp2p, no clock, no
//! network: data in, decision out. Bad input is a conflict or an error,
//! never a panic.

mod names;
mod plan;
mod resolve;
mod text;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use names::{conflict_name, conflict_name_n, history_name, parse_history_name};
pub use plan::{plan, Plan};
pub use resolve::{resolve, Merged, Policy, PolicyError, Resolution};
pub use text::{merge_text, TextMerge};

/// The largest content, in bytes, that [`merge_text`] merges (16 MiB). The
/// three inputs and the result are held in memory at once, plus the line
/// tables of the diff: about five times this limit, which must fit in the
/// mount's memory headroom (128 MiB above its cache). Larger files merge
/// only at fragment level.
pub const TEXT_MERGE_MAX: u64 = 16 * 1024 * 1024;

/// One of the two writers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The committing writer (the later commit).
    Ours,
    /// The head committed since ours' base (the earlier commit).
    Theirs,
}

/// Why two versions could not be merged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConflictReason {
    /// The file's content is sealed: merging it would mean reading it
    /// where keys are not kept.
    #[error("the file is encrypted: its versions are not merged by content")]
    Sealed,
    /// A manifest is not self-consistent (its fragments do not add up to
    /// its size, or name another algorithm).
    #[error("the {0} manifest is inconsistent")]
    Malformed(&'static str),
    /// The versions are cut into fragments of different sizes.
    #[error("the versions use different fragment sizes")]
    FragmentSize,
    /// The versions name fragments with different hash algorithms.
    #[error("the versions use different hash algorithms")]
    HashAlgo,
    /// Both changed the same fragments of a file above [`TEXT_MERGE_MAX`].
    #[error("both sides changed the same fragments of a file too large to merge by content")]
    TooLarge,
    /// Both changed the same fragments and a content is not UTF-8 text.
    #[error("both sides changed the same fragments of a file that is not text")]
    NotText,
    /// Both changed the same lines (or lines next to each other).
    #[error("both sides changed the same lines")]
    Lines,
    /// The plan needed the contents and the caller did not merge them.
    #[error("the contents were not merged")]
    NoContent,
}
