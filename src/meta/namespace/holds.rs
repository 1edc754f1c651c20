//! Holds: the versions the mounts' open handles refer to.
//!
//! A mount reports, under its own holder name, every version a handle it
//! has held open for a few seconds reads or writes from
//! ([`Command::Hold`](crate::meta::Command::Hold)), and renews the report
//! before it runs out. [`Command::Retain`](crate::meta::Command::Retain)
//! keeps every version held at its `now` (and the deleted file it belongs
//! to), then forgets the reports that ran out: a mount that stops without
//! releasing its holds keeps nothing for long. What a handle opened less
//! than a report ago refers to is kept by `lifecycle::keep::SETTLE_MS`.

use crate::meta::types::{FsError, Ino, Reply, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most holders at once: a command from a new holder past it is
/// refused (`NoLocks`, as when a lock table is full).
pub const MAX_HOLDERS: usize = 4096;
/// The most versions one holder holds.
pub const MAX_HELD: usize = 65_536;
/// The longest holder name, in bytes.
pub const MAX_HOLDER_NAME: usize = 256;

/// One holder's report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub versions: Vec<(Ino, u64)>,
    pub until: Time,
}

/// Every holder's report, by holder name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holds {
    by_holder: BTreeMap<String, Held>,
}

impl Holds {
    /// [`Command::Hold`](crate::meta::Command::Hold).
    pub fn apply(
        &mut self,
        holder: String,
        versions: Vec<(Ino, u64)>,
        until: Time,
    ) -> Result<Reply, FsError> {
        if holder.is_empty() || holder.len() > MAX_HOLDER_NAME || versions.len() > MAX_HELD {
            return Err(FsError::Invalid);
        }
        if versions.is_empty() {
            self.by_holder.remove(&holder);
            return Ok(Reply::Done);
        }
        if !self.by_holder.contains_key(&holder) && self.by_holder.len() >= MAX_HOLDERS {
            return Err(FsError::NoLocks);
        }
        self.by_holder.insert(holder, Held { versions, until });
        Ok(Reply::Done)
    }

    /// The versions held at `now` (reports that run out later).
    pub fn held_at(&self, now: Time) -> impl Iterator<Item = (Ino, u64)> + '_ {
        self.by_holder
            .values()
            .filter(move |h| h.until > now)
            .flat_map(|h| h.versions.iter().copied())
    }

    /// Forgets the reports that ran out at `now`.
    pub fn expire(&mut self, now: Time) {
        self.by_holder.retain(|_, h| h.until > now);
    }

    /// Every report, by holder name.
    pub fn all(&self) -> &BTreeMap<String, Held> {
        &self.by_holder
    }
}
