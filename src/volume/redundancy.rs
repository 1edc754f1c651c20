//! A file's redundancy as people see and set it: the extended attribute
//! [`RedundancySpec::XATTR`] on the file or inherited from the nearest
//! directory above it that has one, or the node's default.
//!
//! The default is the scheme the node's client writes with
//! ([`crate::client::ClientConfig::scheme`]: `--replicas`, three copies
//! unless configured), so a namespace without the attribute is written as
//! before it existed. A new file takes the effective spec at its first
//! write; a file with content keeps the scheme of its head version (a
//! version never mixes schemes).

use super::{reply, Volume, VolumeError};
use crate::{
    lifecycle::{KeepPolicy, RedundancySpec},
    meta::{FsError, Ino, Query, XattrMode},
    redundancy::Redundancy,
};
use serde::{Deserialize, Serialize};

pub use super::policy::PolicySource as RedundancySource;

/// The effective redundancy of a path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedundancyReport {
    pub path: String,
    /// `replicas:N` or `rs:K+M`, as [`RedundancySpec::parse`] reads it.
    pub spec: String,
    pub source: RedundancySource,
    /// The value found when it is no valid spec (the default applies).
    pub invalid: Option<String>,
    pub stale: bool,
}

/// What decides a path's redundancy.
struct Found {
    spec: RedundancySpec,
    holder: Option<Ino>,
    invalid: Option<String>,
    stale: bool,
}

/// The spec of a scheme a client writes with.
pub fn spec_of(r: Redundancy) -> RedundancySpec {
    match r {
        Redundancy::Replicas(n) => RedundancySpec::Replicas(n.get() as u8),
        Redundancy::ReedSolomon { data, parity } => RedundancySpec::Rs { data, parity },
    }
}

impl Volume {
    /// The spec that applies where none is set: the node's client scheme.
    pub fn default_redundancy(&self) -> RedundancySpec {
        spec_of(self.client().config().scheme())
    }

    /// The redundancy new content of `ino` is written with: its own
    /// `user.fragfs.redundancy` or the nearest directory's above it, else
    /// the node's default. A stored value that is no valid spec is logged
    /// and the default applies.
    pub async fn redundancy_of(&self, ino: Ino) -> Result<Redundancy, VolumeError> {
        let found = self.effective_redundancy(ino).await?;
        if let Some(bad) = &found.invalid {
            tracing::warn!(ino, set_on = ?found.holder, value = %bad, "redundancy spec ignored: using the default");
        }
        match found.spec.redundancy() {
            Ok(r) => Ok(r),
            Err(_) => Ok(self.client().config().scheme()),
        }
    }

    /// The effective redundancy of `path` and where it comes from.
    pub async fn redundancy(&self, path: &str) -> Result<RedundancyReport, VolumeError> {
        let ino = self.stat(path).await?.ino;
        let found = self.effective_redundancy(ino).await?;
        let source = match found.holder {
            None => RedundancySource::Default,
            Some(_) if found.invalid.is_some() => RedundancySource::Default,
            Some(holder) if holder == ino => RedundancySource::Itself,
            Some(holder) => RedundancySource::Directory {
                path: self.path_of(holder).await?,
            },
        };
        Ok(RedundancyReport {
            path: path.to_string(),
            spec: found.spec.to_string(),
            source,
            invalid: found.invalid,
            stale: found.stale,
        })
    }

    /// The spec an attribute sets for something new at `path`: the one
    /// on `path` or inherited by its nearest existing ancestor; None when
    /// no valid attribute applies (the writer's own settings do).
    pub async fn redundancy_set_for(&self, path: &str) -> Result<Option<Redundancy>, VolumeError> {
        let mut at = path.trim_end_matches('/');
        let ino = loop {
            match self.stat(if at.is_empty() { "/" } else { at }).await {
                Ok(a) => break a.ino,
                Err(VolumeError::Fs(FsError::NotFound)) if !at.is_empty() => {
                    at = at.rsplit_once('/').map_or("", |(parent, _)| parent);
                }
                Err(e) => return Err(e),
            }
        };
        self.redundancy_set_on(ino).await
    }

    /// The scheme a valid `user.fragfs.redundancy` on `ino` or inherited
    /// by it sets; None when none applies (re-encoding leaves such files
    /// as they were written).
    pub async fn redundancy_set_on(&self, ino: Ino) -> Result<Option<Redundancy>, VolumeError> {
        let found = self.effective_redundancy(ino).await?;
        Ok(match (found.holder, found.invalid) {
            (Some(_), None) => found.spec.redundancy().ok(),
            _ => None,
        })
    }

    /// The attribute that decides `ino`'s redundancy, read once.
    async fn effective_redundancy(&self, ino: Ino) -> Result<Found, VolumeError> {
        let q = Query::Inherited {
            ino,
            name: RedundancySpec::XATTR.to_string(),
        };
        let a = reply::answer(self.read(q).await?, reply::inherited)?;
        let (holder, value) = match a.value {
            Some((holder, value)) => (Some(holder), Some(value)),
            None => (None, None),
        };
        let parsed = value.as_deref().map(RedundancySpec::parse).transpose();
        let (spec, invalid) = match parsed {
            Ok(Some(spec)) => (spec, None),
            Ok(None) => (self.default_redundancy(), None),
            Err(_) => (
                self.default_redundancy(),
                value.map(|v| String::from_utf8_lossy(&v).into_owned()),
            ),
        };
        Ok(Found {
            spec,
            holder,
            invalid,
            stale: a.stale,
        })
    }

    /// Sets the redundancy of `path` (a file before its first write, or a
    /// directory for what is written below it from now on).
    pub async fn set_redundancy(
        &self,
        path: &str,
        spec: RedundancySpec,
    ) -> Result<(), VolumeError> {
        spec.check().map_err(|_| FsError::Invalid)?;
        let ino = self.stat(path).await?.ino;
        let value = spec.to_string().into_bytes();
        self.setxattr(
            ino,
            RedundancySpec::XATTR.to_string(),
            value,
            XattrMode::Any,
        )
        .await
    }
}

/// Whether `value` may be stored under `name`: the attributes fragfs reads
/// (`user.fragfs.redundancy`, `user.fragfs.keep`) must parse; any other
/// name takes any value. A refusal is `EINVAL` at a mount.
pub fn check_xattr(name: &str, value: &[u8]) -> Result<(), FsError> {
    let ok = match name {
        RedundancySpec::XATTR => RedundancySpec::parse(value).is_ok(),
        KeepPolicy::XATTR => KeepPolicy::parse(value).is_ok(),
        _ => true,
    };
    ok.then_some(()).ok_or(FsError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_valid_specs_and_keep_policies_are_stored() {
        assert_eq!(check_xattr(RedundancySpec::XATTR, b"rs:2+1"), Ok(()));
        assert_eq!(check_xattr(RedundancySpec::XATTR, b"replicas:2"), Ok(()));
        assert_eq!(
            check_xattr(RedundancySpec::XATTR, b"rs:0+1"),
            Err(FsError::Invalid)
        );
        assert_eq!(
            check_xattr(RedundancySpec::XATTR, b"mirror"),
            Err(FsError::Invalid)
        );
        assert_eq!(
            check_xattr(KeepPolicy::XATTR, b"bogus"),
            Err(FsError::Invalid)
        );
        assert_eq!(check_xattr("user.other", b"anything"), Ok(()));
    }

    #[test]
    fn specs_of_schemes() {
        let r = crate::redundancy::Replicas::new(2).unwrap();
        assert_eq!(
            spec_of(Redundancy::Replicas(r)),
            RedundancySpec::Replicas(2)
        );
        assert_eq!(
            spec_of(Redundancy::ReedSolomon { data: 4, parity: 2 }),
            RedundancySpec::Rs { data: 4, parity: 2 }
        );
    }
}
