//! Storage lifecycle: the pure policies that decide what storage keeps.
//!
//! What this module decides:
//!
//! - [`keep`]: the retention policy `user.fragfs.keep` (`versions=N,days=D`),
//!   which versions of a file are retained, and when a deleted file's
//!   versions may go.
//! - [`spec`]: the redundancy spec `user.fragfs.redundancy` (`replicas:N` or
//!   `rs:K+M`), its storage overhead and how many peers it needs.
//! - [`gc`]: which fragments a store may delete, given what retained versions
//!   reference and when each fragment was last seen referenced or written.
//!
//! What it leaves to the caller: reading the extended attributes and their
//! inheritance, listing versions and fragments, knowing which versions open
//! handles and in-flight writes refer to, the clock, and the deleting itself.
//!
//! **Architecture invariant:** no IO. No tokio, no libp2p, no clock, no
//! filesystem: data in, decision out. Bad input is an error, never a panic.

pub mod gc;
pub mod keep;
pub mod repair;
pub mod spec;

#[cfg(test)]
mod proptests;

pub use gc::to_delete;
pub use keep::{
    deleted_file_expired, retained, KeepError, KeepPolicy, VersionInfo, DAY_MS, SETTLE_MS,
};
pub use spec::{RedundancySpec, SpecError};

/// The value of an extended attribute as trimmed UTF-8, or `None` when it
/// is not UTF-8.
fn trimmed(raw: &[u8]) -> Option<&str> {
    std::str::from_utf8(raw)
        .ok()
        .map(|s| s.trim_matches(|c: char| c.is_ascii_whitespace()))
}

/// A decimal number of ASCII digits only (no sign, no spaces), or `None`
/// when it is not one or does not fit.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
