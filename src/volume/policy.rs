//! A file's merge policy as people see and set it: the extended attribute
//! [`Policy::XATTR`] on the file or inherited from the nearest directory
//! above it that has one, or the default.

use super::{reply, Volume, VolumeError};
use crate::{
    meta::{Ino, Query, XattrMode},
    version::Policy,
};
use serde::{Deserialize, Serialize};

/// Where a file's effective policy comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    /// The attribute on the path itself.
    Itself,
    /// The attribute on the directory at `path`, above it.
    Directory { path: String },
    /// No attribute anywhere up to the root.
    Default,
}

/// What decides a file's policy: the policy, the inode holding the
/// attribute (None: the default), the value when it names no policy.
struct Found {
    policy: Policy,
    holder: Option<Ino>,
    invalid: Option<String>,
    stale: bool,
}

/// The effective merge policy of a path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReport {
    pub path: String,
    /// `merge` or `lww`.
    pub policy: String,
    pub source: PolicySource,
    /// The value found when it names no policy (the default applies).
    pub invalid: Option<String>,
    pub stale: bool,
}

impl Volume {
    /// The merge policy of `ino`: its own `user.fragfs.merge` or the
    /// nearest directory's above it; `merge` when none has one. A value
    /// that names no policy is reported and read as `merge` (nothing is lost
    /// by it).
    pub async fn policy_of(&self, ino: Ino) -> Result<Policy, VolumeError> {
        let found = self.effective_policy(ino).await?;
        if let Some(bad) = &found.invalid {
            tracing::warn!(ino, set_on = ?found.holder, value = %bad, "merge policy ignored: using merge");
        }
        Ok(found.policy)
    }

    /// The effective merge policy of `path` and where it comes from.
    pub async fn policy(&self, path: &str) -> Result<PolicyReport, VolumeError> {
        let ino = self.stat(path).await?.ino;
        let found = self.effective_policy(ino).await?;
        let source = match found.holder {
            None => PolicySource::Default,
            Some(holder) if holder == ino => PolicySource::Itself,
            Some(holder) => PolicySource::Directory {
                path: self.path_of(holder).await?,
            },
        };
        Ok(PolicyReport {
            path: path.to_string(),
            policy: found.policy.as_str().to_string(),
            source,
            invalid: found.invalid,
            stale: found.stale,
        })
    }

    /// The attribute that decides `ino`'s policy, read once.
    async fn effective_policy(&self, ino: Ino) -> Result<Found, VolumeError> {
        let q = Query::Inherited {
            ino,
            name: Policy::XATTR.to_string(),
        };
        let a = reply::answer(self.read(q).await?, reply::inherited)?;
        let (holder, value) = match a.value {
            Some((holder, value)) => (Some(holder), Some(value)),
            None => (None, None),
        };
        let (policy, invalid) = match value.as_deref().map(Policy::parse).transpose() {
            Ok(p) => (p.unwrap_or_default(), None),
            Err(e) => (Policy::default(), Some(e.0)),
        };
        Ok(Found {
            policy,
            holder,
            invalid,
            stale: a.stale,
        })
    }

    /// Sets the merge policy of `path` (a file, or a directory for
    /// everything below it).
    pub async fn set_policy(&self, path: &str, policy: Policy) -> Result<(), VolumeError> {
        let ino = self.stat(path).await?.ino;
        let value = policy.as_str().as_bytes().to_vec();
        self.setxattr(ino, Policy::XATTR.to_string(), value, XattrMode::Any)
            .await
    }
}
