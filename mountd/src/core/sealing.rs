//! The content keys of files in encrypted shared directories, as this
//! mount holds them (`fragfs::trust::content`). A handle opened on such a
//! file gets its [`Sealing`]: the key its new fragments are sealed with
//! and the wrapped form its commit carries. The key stays the file's while
//! the group's key epoch lasts (unchanged fragments keep their ids); a
//! writer that finds an older epoch, or a plaintext file, makes a new key
//! and seals every fragment again. The fragments of every version opened
//! are remembered with the key that opens them (by id: an id is the hash
//! of one ciphertext), so reads, readahead and the cache stay keyed by
//! fragment id; the cache holds plaintext in memory only.

use super::{Core, IntoOp};
use crate::errno::OpError;
use fragfs::fragment::{FragmentId, Manifest};
use fragfs::meta::proofs::SealedKey;
use fragfs::meta::{Attr, Caller, Ino, Version};
use fragfs::trust::content::{is_current, new_content_key, open_content_key};
use fragfs::trust::sizes::{open_lens, reveal};
use fragfs_seal::ContentKey;
use fuser::Errno;
use std::sync::Arc;

/// How many fragment ids keep their key in memory.
pub const KEYS: usize = 1 << 20;

/// How a handle seals what it writes.
pub struct Sealing {
    pub key: Arc<ContentKey>,
    pub sealed: SealedKey,
    /// The base is under another key (or none): every fragment is sealed
    /// again, none reused.
    pub reseal: bool,
}

/// A head's wrapped key and the key it opened to.
pub type Opened = (SealedKey, Arc<ContentKey>);

pub type Keys = std::sync::Mutex<lru::LruCache<FragmentId, Arc<ContentKey>>>;

pub fn keys() -> Keys {
    let cap = std::num::NonZeroUsize::new(KEYS).unwrap_or(std::num::NonZeroUsize::MIN);
    std::sync::Mutex::new(lru::LruCache::new(cap))
}

fn refused(what: &'static str) -> OpError {
    OpError::refused(Errno::EACCES, what)
}

impl Core {
    /// The key that opens fragment `id`, if it is sealed.
    pub(super) fn key_of(&self, id: &FragmentId) -> Option<Arc<ContentKey>> {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Remembers that `key` opens fragment `id`.
    pub(super) fn note_sealed(&self, id: FragmentId, key: &Arc<ContentKey>) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.put(id, key.clone());
    }

    fn note_manifest(&self, m: &Manifest, key: &Arc<ContentKey>) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        for f in &m.fragments {
            keys.put(f.id, key.clone());
        }
    }

    /// Opens the key of a sealed head for local `uid` and remembers it for
    /// the head's fragments.
    pub(super) async fn open_sealed(
        &self,
        uid: u32,
        head: &Version,
        sealed: &SealedKey,
    ) -> Result<Arc<ContentKey>, OpError> {
        let user = self
            .volume
            .acting()
            .user_of(uid)
            .ok_or(refused(
                "an encrypted file, and the caller acts for no user",
            ))?
            .clone();
        let mut accounts = self.volume.accounts(false).await?;
        let mut key = open_content_key(&user, &accounts, sealed);
        if key.is_err() {
            // A group change since the accounts were read.
            accounts = self.volume.accounts(true).await?;
            key = open_content_key(&user, &accounts, sealed);
        }
        let key = Arc::new(key.map_err(|e| {
            tracing::warn!(error = %e, "a content key did not open");
            refused("a content key this user cannot open")
        })?);
        self.note_manifest(&head.manifest, &key);
        Ok(key)
    }

    /// Sealed version `v` with its exact lengths (`fragfs::trust::sizes`),
    /// and the key `k` wraps, opened for local `uid` (see
    /// [`Core::open_sealed`]). A version sealed before lengths were
    /// padded has no note and is exact already; a note that does not open
    /// or fit is EIO, never trusted.
    pub(super) async fn reveal(
        &self,
        uid: u32,
        v: Version,
        k: &SealedKey,
    ) -> Result<(Version, Arc<ContentKey>), OpError> {
        let key = self.open_sealed(uid, &v, k).await?;
        let Some(note) = k.note() else {
            return Ok((v, key));
        };
        let manifest = open_lens(&key, note)
            .and_then(|lens| reveal(&v.manifest, &lens))
            .map_err(|e| {
                tracing::error!(version = v.id, error = %e, "a sealed version's lengths");
                OpError::refused(Errno::EIO, "a sealed version's lengths do not hold")
            })?;
        Ok((Version { manifest, ..v }, key))
    }

    /// The attributes and head of `ino` as local `uid` reads them (a
    /// sealed head with its exact lengths, and its size in the
    /// attributes), with the wrapped key and the key it opened to.
    pub(super) async fn head_opened(
        &self,
        ino: Ino,
        uid: u32,
    ) -> Result<(Attr, Option<Version>, Option<Opened>), OpError> {
        let (mut attr, head) = self.volume.head_sealed(ino).await?;
        Ok(match head {
            Some((v, Some(k))) => {
                let (v, key) = self.reveal(uid, v, &k).await?;
                attr.size = v.manifest.size;
                (attr, Some(v), Some((k, key)))
            }
            Some((v, None)) => (attr, Some(v), None),
            None => (attr, None, None),
        })
    }

    /// The head of `ino` as `caller` reads it: a sealed one with its exact
    /// lengths.
    pub(super) async fn revealed_head(&self, ino: Ino, caller: Caller) -> Result<Version, OpError> {
        let (_, head) = self.volume.head_sealed(ino).await?;
        match head {
            Some((v, Some(k))) => Ok(self.reveal(caller.uid, v, &k).await?.0),
            Some((v, None)) => Ok(v),
            None => Err(fragfs::meta::FsError::NotFound.into_op()),
        }
    }

    /// How a writer of `ino` seals, given its head's wrapped key and the
    /// key it opened to (`open_sealed`): None outside encrypted shared
    /// directories.
    pub(super) async fn sealing_for(
        &self,
        ino: Ino,
        head: Option<&Version>,
        opened: Option<Opened>,
    ) -> Result<Option<Arc<Sealing>>, OpError> {
        let Some((share, accounts)) = self.guard.share_of(ino).await? else {
            return Ok(None);
        };
        if !share.encrypted {
            return Ok(None);
        }
        if let Some((k, key)) = opened {
            if is_current(&accounts, &k) && k.group == share.group {
                return Ok(Some(Arc::new(Sealing {
                    key,
                    sealed: k.clone(),
                    reseal: false,
                })));
            }
        }
        let (key, sealed) = new_content_key(&accounts, &share.group)
            .map_err(|_| refused("no key for the group of this directory"))?;
        let has_content = head.is_some_and(|v| !v.manifest.fragments.is_empty());
        Ok(Some(Arc::new(Sealing {
            key: Arc::new(key),
            sealed,
            reseal: has_content,
        })))
    }
}
