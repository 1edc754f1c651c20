//! A file's merge policy as people see and set it: the extended attribute
//! [`Policy::XATTR`] on the file or inherited from the nearest directory
//! above it that has one, or the default.

use super::{reply, Volume, VolumeError};
use crate::{
    meta::{Query, XattrMode},
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
    /// The effective merge policy of `path` and where it comes from.
    pub async fn policy(&self, path: &str) -> Result<PolicyReport, VolumeError> {
        let ino = self.stat(path).await?.ino;
        let q = Query::Inherited {
            ino,
            name: Policy::XATTR.to_string(),
        };
        let a = reply::answer(self.read(q).await?, reply::inherited)?;
        let (source, value) = match a.value {
            None => (PolicySource::Default, None),
            Some((holder, value)) if holder == ino => (PolicySource::Itself, Some(value)),
            Some((holder, value)) => {
                let q = Query::PathOf { ino: holder };
                let path = reply::path(self.read(q).await?.reply)?;
                (PolicySource::Directory { path }, Some(value))
            }
        };
        let parsed = value.as_deref().map(Policy::parse).transpose();
        let (policy, invalid) = match parsed {
            Ok(p) => (p.unwrap_or_default(), None),
            Err(e) => (Policy::default(), Some(e.0)),
        };
        Ok(PolicyReport {
            path: path.to_string(),
            policy: policy.as_str().to_string(),
            source,
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
