//! Sizes of sealed files as this mount shows them. The namespace holds a
//! sealed file's size padded (`fragfs::trust::sizes`); a mount acting for
//! a member answers `stat` with the exact size, opened from the note in
//! the head's signed key. What was opened is remembered per inode while
//! the namespace's size and times stay what they were, and content keys
//! per wrapped key, so a listing opens each once. A mount that cannot
//! open the note (no member's key) shows the padded size.

use super::Core;
use fragfs::meta::accounts::Accounts;
use fragfs::meta::proofs::SealedKey;
use fragfs::meta::{Attr, Ino, Kind, Time, Version};
use fragfs::trust::content::open_content_key;
use fragfs::trust::sizes::{open_lens, reveal};
use fragfs_seal::ContentKey;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// How many inodes and wrapped keys are remembered.
const REMEMBERED: usize = 65_536;

/// An exact size and the namespace's attributes it belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Known {
    stored: u64,
    mtime: Time,
    ctime: Time,
    exact: u64,
}

pub struct Sizes {
    exact: Mutex<lru::LruCache<Ino, Known>>,
    keys: Mutex<lru::LruCache<Vec<u8>, Arc<ContentKey>>>,
}

impl Default for Sizes {
    fn default() -> Self {
        let cap = NonZeroUsize::new(REMEMBERED).unwrap_or(NonZeroUsize::MIN);
        Sizes {
            exact: Mutex::new(lru::LruCache::new(cap)),
            keys: Mutex::new(lru::LruCache::new(cap)),
        }
    }
}

impl Core {
    /// `a` with its exact size when it is a sealed file whose note this
    /// mount opens; else `a` as it is.
    pub(super) async fn exact(&self, mut a: Attr) -> Attr {
        if a.kind != Kind::File || a.size == 0 {
            return a;
        }
        match self.guard.share_of(a.ino).await {
            Ok(Some((share, _))) if share.encrypted => {}
            _ => return a,
        }
        if let Some(k) = self.known_size(&a) {
            a.size = k;
            return a;
        }
        match self.open_size(&a).await {
            Some(exact) => {
                let known = Known {
                    stored: a.size,
                    mtime: a.mtime,
                    ctime: a.ctime,
                    exact,
                };
                let mut m = self.sizes.exact.lock().unwrap_or_else(|e| e.into_inner());
                m.put(a.ino, known);
                a.size = exact;
            }
            None => tracing::debug!(ino = a.ino, "a sealed file's size did not open"),
        }
        a
    }

    /// [`Core::exact`] of each of `attrs`.
    pub(super) async fn exact_all<'a>(&self, attrs: impl Iterator<Item = &'a mut Attr>) {
        for a in attrs {
            *a = self.exact(a.clone()).await;
        }
    }

    fn known_size(&self, a: &Attr) -> Option<u64> {
        let mut m = self.sizes.exact.lock().unwrap_or_else(|e| e.into_inner());
        m.get(&a.ino)
            .filter(|k| k.stored == a.size && k.mtime == a.mtime && k.ctime == a.ctime)
            .map(|k| k.exact)
    }

    /// The exact size of the head of `a.ino`, if its size was padded.
    async fn open_size(&self, a: &Attr) -> Option<u64> {
        let (now, head) = self.volume.head_sealed(a.ino).await.ok()?;
        let (v, k) = head?;
        let k = k?;
        if (now.size, now.ctime) != (a.size, a.ctime) {
            return None;
        }
        let Some(note) = k.note() else {
            return Some(v.manifest.size);
        };
        let key = self.any_key(&k).await?;
        let lens = open_lens(&key, note).ok()?;
        Some(reveal(&v.manifest, &lens).ok()?.size)
    }

    /// `versions` of sealed file `ino` with their exact lengths where this
    /// mount opens their notes (the history tree's sizes); the others as
    /// they are.
    pub async fn exact_versions(&self, ino: Ino, mut versions: Vec<Version>) -> Vec<Version> {
        let Ok(proofs) = self.volume.proofs(ino).await else {
            return versions;
        };
        for v in &mut versions {
            let Some(k) = proofs.get(&v.id).and_then(|p| p.key.as_ref()) else {
                continue;
            };
            let (Some(note), Some(key)) = (k.note(), self.any_key(k).await) else {
                continue;
            };
            if let Ok(m) = open_lens(&key, note).and_then(|l| reveal(&v.manifest, &l)) {
                v.manifest = m;
            }
        }
        versions
    }

    /// The content key `k` wraps, as any user this mount acts for opens it.
    async fn any_key(&self, k: &SealedKey) -> Option<Arc<ContentKey>> {
        let wrapped = k.wrapped_key().to_vec();
        if let Some(key) = self
            .sizes
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&wrapped)
        {
            return Some(key.clone());
        }
        let accounts: Arc<Accounts> = self.volume.accounts(false).await.ok()?;
        let key = self
            .volume
            .acting()
            .users()
            .iter()
            .find_map(|u| open_content_key(u, &accounts, k).ok())?;
        let key = Arc::new(key);
        let mut keys = self.sizes.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.put(wrapped, key.clone());
        Some(key)
    }
}
