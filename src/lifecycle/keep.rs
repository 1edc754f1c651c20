//! The retention policy of old versions, `user.fragfs.keep`, and the choice
//! of the versions it retains.

use super::{number, trimmed};
use std::{collections::BTreeSet, fmt};

/// One day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

/// How long old versions of a file are kept: at least the last `versions`
/// versions, and any version younger than `days` days. A part left out
/// (`None`) retains nothing by itself; the head is always kept.
///
/// Written `versions=N,days=D` in the extended attribute [`Self::XATTR`],
/// inherited from the parent directories like the merge policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeepPolicy {
    /// Keep at least the last this many versions (the head counts).
    pub versions: Option<u32>,
    /// Keep every version younger than this many days.
    pub days: Option<u32>,
}

impl KeepPolicy {
    /// The extended attribute that holds the policy.
    pub const XATTR: &'static str = "user.fragfs.keep";

    /// Days used where a policy has no `days` part but a period is needed
    /// (how long a deleted file's versions stay).
    pub const DEFAULT_DAYS: u32 = 30;

    /// The policy where none is set: every version for 30 days and at least
    /// the last 10.
    ///
    /// Why: 30 days covers noticing a mistake after a holiday or a monthly
    /// cycle, which is what history is for; a file written rarely still keeps
    /// its last 10 versions however old, so undo never runs dry; and a file
    /// rewritten constantly is bounded by age rather than kept forever. Space
    /// is a cost the user can lower per directory (`versions=1,days=0`).
    pub const DEFAULT: KeepPolicy = KeepPolicy {
        versions: Some(10),
        days: Some(Self::DEFAULT_DAYS),
    };

    /// Parses `versions=N,days=D`: either part may be left out (not both),
    /// in any order; ASCII whitespace around the value, the parts, keys and
    /// numbers is ignored. Duplicates, unknown keys and anything else are
    /// errors.
    pub fn parse(raw: &[u8]) -> Result<KeepPolicy, KeepError> {
        let s = trimmed(raw).ok_or(KeepError::NotUtf8)?;
        if s.is_empty() {
            return Err(KeepError::Empty);
        }
        let mut policy = KeepPolicy {
            versions: None,
            days: None,
        };
        for part in s.split(',') {
            let part = part.trim_matches(|c: char| c.is_ascii_whitespace());
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| KeepError::NotKeyValue(part.to_owned()))?;
            let key = key.trim_matches(|c: char| c.is_ascii_whitespace());
            let value = value.trim_matches(|c: char| c.is_ascii_whitespace());
            let slot = match key {
                "versions" => &mut policy.versions,
                "days" => &mut policy.days,
                _ => return Err(KeepError::UnknownKey(key.to_owned())),
            };
            if slot.is_some() {
                return Err(KeepError::Duplicate(key.to_owned()));
            }
            *slot = Some(number(value).ok_or_else(|| KeepError::BadNumber {
                key: key.to_owned(),
                value: value.to_owned(),
            })?);
        }
        Ok(policy)
    }

    /// The retention period in milliseconds: `days`, or the default days
    /// when the policy has no `days` part.
    pub fn period_ms(&self) -> u64 {
        u64::from(self.days.unwrap_or(Self::DEFAULT_DAYS)).saturating_mul(DAY_MS)
    }
}

impl Default for KeepPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Writes the policy back as [`KeepPolicy::parse`] reads it (`versions`
/// first). A policy with neither part writes nothing.
impl fmt::Display for KeepPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.versions, self.days) {
            (Some(n), Some(d)) => write!(f, "versions={n},days={d}"),
            (Some(n), None) => write!(f, "versions={n}"),
            (None, Some(d)) => write!(f, "days={d}"),
            (None, None) => Ok(()),
        }
    }
}

/// Why a `user.fragfs.keep` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeepError {
    #[error("keep policy is not UTF-8 text (expected versions=N,days=D)")]
    NotUtf8,
    #[error("keep policy is empty (expected versions=N,days=D, either part may be left out)")]
    Empty,
    #[error("keep policy part {0:?} is not key=value (expected versions=N,days=D)")]
    NotKeyValue(String),
    #[error("keep policy has unknown key {0:?} (known: versions, days)")]
    UnknownKey(String),
    #[error("keep policy gives {0:?} twice")]
    Duplicate(String),
    #[error("keep policy {key}={value:?} is not a whole number from 0 to 4294967295")]
    BadNumber { key: String, value: String },
}

/// What retention needs to know of a version: its id and its wall-clock
/// time in milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    pub id: u64,
    pub wall_ms: u64,
}

/// The ids of the versions `policy` retains, given the versions of a file
/// oldest first (the head last): the head, the last `versions`, every one
/// younger than `days` days at `now_ms` (a time in the future counts as
/// age zero), every one superseded less than [`SETTLE_MS`] ago, and every
/// id in `protected` (versions an open handle or an in-flight write refers
/// to, or a conflict copy's source). Protected ids
/// are returned even when absent from `versions`: keeping too much is safe.
pub fn retained(
    versions: &[VersionInfo],
    policy: &KeepPolicy,
    now_ms: u64,
    protected: &BTreeSet<u64>,
) -> BTreeSet<u64> {
    let mut kept = protected.clone();
    let last_n = policy.versions.map_or(0, |n| n as usize).max(1);
    let skip = versions.len().saturating_sub(last_n);
    kept.extend(versions.iter().skip(skip).map(|v| v.id));
    // Superseded (by the next version's commit) less than SETTLE_MS ago.
    kept.extend(
        versions
            .windows(2)
            .filter(|w| now_ms.saturating_sub(w[1].wall_ms) < SETTLE_MS)
            .map(|w| w[0].id),
    );
    if let Some(days) = policy.days {
        let period = u64::from(days).saturating_mul(DAY_MS);
        kept.extend(
            versions
                .iter()
                .filter(|v| now_ms.saturating_sub(v.wall_ms) < period)
                .map(|v| v.id),
        );
    }
    kept
}

/// Whether a file deleted at `deleted_at_ms` has outlived its retention
/// period at `now_ms`, so its versions may be dropped: the policy's days,
/// or [`KeepPolicy::DEFAULT_DAYS`] when it has no `days` part. A deletion
/// time in the future counts as age zero.
pub fn deleted_file_expired(deleted_at_ms: u64, policy: &KeepPolicy, now_ms: u64) -> bool {
    now_ms.saturating_sub(deleted_at_ms) >= policy.period_ms().max(SETTLE_MS)
}

/// How long a version stays kept after it stopped being the head (or its
/// file was deleted), whatever the policy: the time a mount may take to
/// report a handle it holds on it (`Command::Hold`, sent for handles open
/// 5 s or more, every second). Part of what the log means: every replica
/// applies the same value.
pub const SETTLE_MS: u64 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<KeepPolicy, KeepError> {
        KeepPolicy::parse(s.as_bytes())
    }

    fn keep(versions: Option<u32>, days: Option<u32>) -> KeepPolicy {
        KeepPolicy { versions, days }
    }

    /// Versions 1..=n, version i written i days after the epoch.
    fn daily(n: u64) -> Vec<VersionInfo> {
        (1..=n)
            .map(|i| VersionInfo {
                id: i,
                wall_ms: i * DAY_MS,
            })
            .collect()
    }

    #[test]
    fn parses_both_parts_in_any_order_with_whitespace() {
        assert_eq!(p("versions=3,days=7"), Ok(keep(Some(3), Some(7))));
        assert_eq!(p("days=7,versions=3"), Ok(keep(Some(3), Some(7))));
        assert_eq!(p(" \tversions = 3 , days= 7\n"), Ok(keep(Some(3), Some(7))));
        assert_eq!(p("versions=1,days=0"), Ok(keep(Some(1), Some(0))));
    }

    #[test]
    fn parses_either_part_alone() {
        assert_eq!(p("versions=5"), Ok(keep(Some(5), None)));
        assert_eq!(p("days=2"), Ok(keep(None, Some(2))));
        assert_eq!(p("days=4294967295"), Ok(keep(None, Some(u32::MAX))));
    }

    #[test]
    fn refuses_bad_values_with_clear_errors() {
        assert_eq!(p(""), Err(KeepError::Empty));
        assert_eq!(p("  "), Err(KeepError::Empty));
        assert_eq!(KeepPolicy::parse(&[0xff, b'=']), Err(KeepError::NotUtf8));
        assert_eq!(
            p("versions"),
            Err(KeepError::NotKeyValue("versions".into()))
        );
        assert_eq!(p("versions=1,"), Err(KeepError::NotKeyValue("".into())));
        assert_eq!(p("weeks=2"), Err(KeepError::UnknownKey("weeks".into())));
        assert_eq!(p("days=1,days=2"), Err(KeepError::Duplicate("days".into())));
        for bad in [
            "days=",
            "days=-1",
            "days=+1",
            "days=1.5",
            "days=1 2",
            "days=4294967296",
        ] {
            assert!(matches!(p(bad), Err(KeepError::BadNumber { .. })), "{bad}");
        }
        let msg = p("weeks=2").unwrap_err().to_string();
        assert!(
            msg.contains("weeks") && msg.contains("versions, days"),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn display_writes_what_parse_reads() {
        for s in ["versions=3,days=7", "versions=5", "days=0"] {
            assert_eq!(p(s).unwrap().to_string(), s);
        }
        assert_eq!(KeepPolicy::DEFAULT.to_string(), "versions=10,days=30");
        assert_eq!(keep(None, None).to_string(), "");
    }

    #[test]
    fn head_only_keeps_only_the_head() {
        let got = retained(
            &daily(5),
            &keep(Some(1), Some(0)),
            100 * DAY_MS,
            &BTreeSet::new(),
        );
        assert_eq!(got, BTreeSet::from([5]));
        // A version superseded less than SETTLE_MS ago settles first.
        let at = |now| retained(&daily(5), &keep(Some(1), Some(0)), now, &BTreeSet::new());
        assert_eq!(at(5 * DAY_MS + SETTLE_MS - 1), BTreeSet::from([4, 5]));
        assert_eq!(at(5 * DAY_MS + SETTLE_MS), BTreeSet::from([5]));
    }

    #[test]
    fn keeps_the_last_n_and_the_young() {
        let v = daily(10);
        let none = BTreeSet::new();
        // At day 10.5: versions of days 9 and 10 are younger than 2 days.
        let now = 10 * DAY_MS + DAY_MS / 2;
        assert_eq!(
            retained(&v, &keep(Some(3), None), now, &none),
            BTreeSet::from([8, 9, 10])
        );
        assert_eq!(
            retained(&v, &keep(None, Some(2)), now, &none),
            BTreeSet::from([9, 10])
        );
        assert_eq!(
            retained(&v, &keep(Some(1), Some(5)), now, &none),
            BTreeSet::from([6, 7, 8, 9, 10])
        );
        // Exactly D days old is no longer younger than D days.
        assert_eq!(
            retained(&v, &keep(None, Some(1)), 10 * DAY_MS + DAY_MS, &none),
            BTreeSet::from([10])
        );
    }

    #[test]
    fn keeps_protected_versions_and_the_head_always() {
        let v = daily(6);
        let protected = BTreeSet::from([2, 99]);
        let got = retained(&v, &keep(Some(0), Some(0)), 50 * DAY_MS, &protected);
        assert_eq!(got, BTreeSet::from([2, 6, 99]));
    }

    #[test]
    fn handles_empty_and_future_versions() {
        let none = BTreeSet::new();
        assert!(retained(&[], &KeepPolicy::DEFAULT, 0, &none).is_empty());
        // Clock skew: a version stamped after now is age zero, young.
        let v = [
            VersionInfo {
                id: 1,
                wall_ms: 500,
            },
            VersionInfo {
                id: 2,
                wall_ms: 900,
            },
        ];
        assert_eq!(
            retained(&v, &keep(None, Some(1)), 0, &none),
            BTreeSet::from([1, 2])
        );
        let extreme = keep(Some(u32::MAX), Some(u32::MAX));
        assert_eq!(
            retained(&v, &extreme, u64::MAX, &none),
            BTreeSet::from([1, 2])
        );
    }

    #[test]
    fn deleted_files_expire_after_the_period() {
        let week = keep(None, Some(7));
        assert!(!deleted_file_expired(DAY_MS, &week, 8 * DAY_MS - 1));
        assert!(deleted_file_expired(DAY_MS, &week, 8 * DAY_MS));
        let no_days = keep(Some(3), None);
        assert!(!deleted_file_expired(0, &no_days, 30 * DAY_MS - 1));
        assert!(deleted_file_expired(0, &no_days, 30 * DAY_MS));
        let head_only = keep(Some(1), Some(0));
        assert!(!deleted_file_expired(5, &head_only, 5 + SETTLE_MS - 1));
        assert!(deleted_file_expired(5, &head_only, 5 + SETTLE_MS));
        assert!(!deleted_file_expired(u64::MAX, &KeepPolicy::DEFAULT, 0));
    }
}
