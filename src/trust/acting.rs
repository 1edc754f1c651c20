//! Who a mount acts for: one user for every local uid (`--user NAME`), or
//! a map from local uids to users (`--users 1000=alice,1001=bob`). A uid
//! the map does not name acts for nobody: the mount refuses its writes and
//! keeps shared directories closed to it.

use super::userkey::{config_dir, KeyError, UserKey};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The users a mount acts for, with their keys.
#[derive(Clone, Default)]
pub struct Acting {
    every: Option<Arc<UserKey>>,
    uids: BTreeMap<u32, Arc<UserKey>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ActingError {
    #[error("--user-map takes UID=NAME pairs separated by commas, not {0:?}")]
    BadMap(String),
    #[error("several user keys in {0}: say which with --user NAME")]
    Several(String),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The names it acts for (never a key).
impl std::fmt::Debug for Acting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let every = self.every.as_ref().map(|k| k.name());
        let uids: BTreeMap<&u32, &str> = self.uids.iter().map(|(u, k)| (u, k.name())).collect();
        f.debug_struct("Acting")
            .field("every", &every)
            .field("uids", &uids)
            .finish()
    }
}

impl Acting {
    /// What a mount acts for by default: the user `FRAGFS_USER` names,
    /// else the only user key in the configuration directory, else
    /// nobody (also without any configuration directory, as under
    /// mount(8) or systemd, which start it with no `HOME`); several keys
    /// and no name are an error.
    pub fn default_user(passphrase: Option<&str>) -> Result<Self, ActingError> {
        let named = std::env::var("FRAGFS_USER").ok().filter(|n| !n.is_empty());
        let dir = match config_dir() {
            Ok(d) => d,
            Err(KeyError::NoHome) if named.is_none() => return Ok(Self::nobody()),
            Err(e) => return Err(e.into()),
        };
        let name = match named {
            Some(n) => n,
            None => match super::userkey::key_names(&dir).as_slice() {
                [] => return Ok(Self::nobody()),
                [one] => one.clone(),
                _ => {
                    return Err(ActingError::Several(
                        dir.join("users").display().to_string(),
                    ))
                }
            },
        };
        Ok(Self::one(UserKey::load_with(&dir, &name, passphrase)?))
    }

    /// Acts for user `name`, its key loaded from the configuration
    /// directory.
    pub fn named(name: &str, passphrase: Option<&str>) -> Result<Self, ActingError> {
        Ok(Self::one(UserKey::load_with(
            &config_dir()?,
            name,
            passphrase,
        )?))
    }

    /// Acts for nobody (every write is the node's own).
    pub fn nobody() -> Self {
        Self::default()
    }

    /// Acts for `key` whatever the uid.
    pub fn one(key: UserKey) -> Self {
        Acting {
            every: Some(Arc::new(key)),
            uids: BTreeMap::new(),
        }
    }

    /// Acts for the users of `map`, `UID=NAME,UID=NAME…`, each loaded from
    /// the configuration directory (a protected key takes `passphrase`).
    pub fn from_map(map: &str, passphrase: Option<&str>) -> Result<Self, ActingError> {
        let dir = config_dir()?;
        let mut by_name: BTreeMap<String, Arc<UserKey>> = BTreeMap::new();
        let mut uids = BTreeMap::new();
        for pair in map.split(',').filter(|p| !p.is_empty()) {
            let (uid, name) = pair
                .split_once('=')
                .and_then(|(u, n)| Some((u.trim().parse::<u32>().ok()?, n.trim())))
                .ok_or_else(|| ActingError::BadMap(pair.to_owned()))?;
            let key = match by_name.get(name) {
                Some(k) => k.clone(),
                None => Arc::new(UserKey::load_with(&dir, name, passphrase)?),
            };
            by_name.insert(name.to_owned(), key.clone());
            uids.insert(uid, key);
        }
        if uids.is_empty() {
            return Err(ActingError::BadMap(map.to_owned()));
        }
        Ok(Acting { every: None, uids })
    }

    /// Whether the mount acts for any user at all.
    pub fn is_anyone(&self) -> bool {
        self.every.is_some() || !self.uids.is_empty()
    }

    /// The user local uid `uid` acts as.
    pub fn user_of(&self, uid: u32) -> Option<&Arc<UserKey>> {
        self.every.as_ref().or_else(|| self.uids.get(&uid))
    }

    /// Every user it acts for, once each.
    pub fn users(&self) -> Vec<Arc<UserKey>> {
        let mut out: Vec<Arc<UserKey>> = self.every.iter().cloned().collect();
        for k in self.uids.values() {
            if !out.iter().any(|o| o.name() == k.name()) {
                out.push(k.clone());
            }
        }
        out
    }
}
