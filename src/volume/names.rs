//! Names in encrypted shared directories, as this volume's users see them
//! (`trust::names`): a name given by a caller is sealed before it reaches
//! the namespace, and a stored name is opened before a caller sees it.
//! A directory's key is derived once and kept (it never changes while the
//! directory holds anything: `meta::shares`); that a directory lies in no
//! encrypted share is believed for [`FRESH`], so a directory shared since
//! is sealed within about a second (the namespace refuses a name in clear
//! meanwhile).

use super::{Volume, VolumeError};
use crate::meta::shares::Share;
use crate::meta::{FsError, Ino};
use crate::trust::names::{dir_name_key, open, seal};
use fragfs_seal::{NameKey, SealError};
use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long "no encrypted share here" is believed.
pub const FRESH: Duration = Duration::from_secs(1);

/// The most directories whose key (or lack of one) is remembered.
const DIRS: usize = 65_536;

/// What is known of each directory's names, and the shares as last read.
pub(super) struct NameKeys {
    dirs: Mutex<lru::LruCache<Ino, Known>>,
    shares: tokio::sync::Mutex<Option<(Instant, Shares)>>,
}

type Shares = Arc<BTreeMap<Ino, Share>>;

#[derive(Clone)]
enum Known {
    Sealed(Arc<NameKey>),
    Clear(Instant),
}

impl Default for NameKeys {
    fn default() -> Self {
        let cap = NonZeroUsize::new(DIRS).unwrap_or(NonZeroUsize::MIN);
        NameKeys {
            dirs: Mutex::new(lru::LruCache::new(cap)),
            shares: Default::default(),
        }
    }
}

impl NameKeys {
    fn get(&self, dir: Ino) -> Option<Known> {
        let mut m = self.dirs.lock().unwrap_or_else(|e| e.into_inner());
        match m.get(&dir) {
            Some(Known::Clear(at)) if at.elapsed() >= FRESH => None,
            k => k.cloned(),
        }
    }

    fn put(&self, dir: Ino, k: Known) {
        let mut m = self.dirs.lock().unwrap_or_else(|e| e.into_inner());
        m.put(dir, k);
    }
}

impl Volume {
    /// Every shared directory, as read at most [`FRESH`] ago.
    pub async fn shares_fresh(&self) -> Result<Shares, VolumeError> {
        let mut last = self.inner.names.shares.lock().await;
        if let Some((_, s)) = last.as_ref().filter(|(at, _)| at.elapsed() < FRESH) {
            return Ok(s.clone());
        }
        let at = Instant::now();
        let s = Arc::new(self.shares().await?);
        *last = Some((at, s.clone()));
        Ok(s)
    }

    /// The key directory `dir`'s entries are sealed with: None outside
    /// encrypted shared directories. EACCES when `dir` lies in one and no
    /// user this volume acts for can open its group's key.
    pub async fn name_key(&self, dir: Ino) -> Result<Option<Arc<NameKey>>, VolumeError> {
        match self.inner.names.get(dir) {
            Some(Known::Sealed(k)) => return Ok(Some(k)),
            Some(Known::Clear(_)) => return Ok(None),
            None => {}
        }
        let at = Instant::now();
        let shares = self.shares_fresh().await?;
        if !shares.values().any(|s| s.encrypted) {
            return Ok(None);
        }
        let cover = self.cover(dir).await?;
        let Some((share, s)) = cover.and_then(|c| shares.get(&c).map(|s| (c, s))) else {
            self.inner.names.put(dir, Known::Clear(at));
            return Ok(None);
        };
        if !s.encrypted {
            self.inner.names.put(dir, Known::Clear(at));
            return Ok(None);
        }
        let key = Arc::new(self.open_name_key(&s.group, share, dir).await?);
        self.inner.names.put(dir, Known::Sealed(key.clone()));
        Ok(Some(key))
    }

    async fn open_name_key(
        &self,
        group: &str,
        share: Ino,
        dir: Ino,
    ) -> Result<NameKey, VolumeError> {
        for fresh in [false, true] {
            let accounts = self.accounts(fresh).await?;
            for user in self.acting.users() {
                if let Ok(k) = dir_name_key(&user, &accounts, group, share, dir) {
                    return Ok(k);
                }
            }
        }
        Err(VolumeError::Fs(FsError::Access))
    }

    /// `name` as directory `dir` stores it: sealed in an encrypted shared
    /// directory, else itself.
    pub async fn stored_name(&self, dir: Ino, name: String) -> Result<String, VolumeError> {
        match self.name_key(dir).await? {
            Some(k) => seal(&k, &name).map_err(|e| match e {
                SealError::TooLong { .. } => VolumeError::Fs(FsError::NameTooLong),
                _ => VolumeError::Fs(FsError::Invalid),
            }),
            None => Ok(name),
        }
    }

    /// The name a caller sees for entry `stored` of directory `dir`: opened
    /// in an encrypted shared directory (a name that does not open is
    /// shown as stored, so nothing disappears from a listing).
    pub async fn shown_name(&self, dir: Ino, stored: String) -> Result<String, VolumeError> {
        Ok(match self.name_key(dir).await? {
            Some(k) => open(&k, &stored).unwrap_or(stored),
            None => stored,
        })
    }

    /// [`Self::shown_name`] from the keys already known, without asking
    /// the namespace: None when `dir`'s key is not known here.
    pub fn shown_name_known(&self, dir: Ino, stored: &str) -> Option<String> {
        match self.inner.names.get(dir)? {
            Known::Sealed(k) => open(&k, stored),
            Known::Clear(_) => None,
        }
    }
}
