//! What keeps a change when the file it was written on moved on elsewhere:
//!
//! - the version of each file this mount last served, the base of an
//!   editor's save;
//! - a save by rename-over (write a temporary file, rename it over the
//!   original) committed as a new version of the original, merged by the
//!   file's policy like an edit in place, not a delete and a create;
//! - a change committed on a file another mount deleted brought back at the
//!   path it had (a resurrection). A file this mount unlinked itself while
//!   open is not brought back: its unsaved writes go with it, as on a local
//!   filesystem.
//!
//! `served` and `unlinked` are std mutexes held for one map operation.

use super::{writer::Content, Core};
use crate::errno::OpError;
use fragfs::{
    fragment::Manifest,
    meta::{Attr, Caller, FsError, Ino, Kind},
    volume::{Base, Committed, Durability, VolumeError},
};
use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

/// Most files whose served version is remembered (forgetting one only
/// makes a later save-over of it a plain new version).
const SERVED: usize = 65_536;

/// Most saved-over temporary files remembered (see [`Saves::target`]).
const REDIRECTS: usize = 4_096;

#[derive(Default)]
pub(super) struct Saves {
    served: Mutex<HashMap<Ino, Base>>,
    unlinked: Mutex<HashSet<Ino>>,
    /// Temporary file saved over → the file it became a version of.
    redirects: Mutex<HashMap<Ino, Ino>>,
}

impl Saves {
    /// Version `base` of `ino` was served here (opened, or committed).
    pub fn served(&self, ino: Ino, base: Base) {
        let mut m = self.served.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= SERVED && !m.contains_key(&ino) {
            m.clear();
        }
        m.insert(ino, base);
    }

    fn last_served(&self, ino: Ino) -> Option<Base> {
        let m = self.served.lock().unwrap_or_else(|e| e.into_inner());
        m.get(&ino).copied()
    }

    fn unlinked_here(&self, ino: Ino) -> bool {
        let s = self.unlinked.lock().unwrap_or_else(|e| e.into_inner());
        s.contains(&ino)
    }

    /// The file `ino` stands for: after a save by rename-over the kernel
    /// holds the temporary file's inode under the saved file's name until
    /// the invalidation of that entry lands (a `stat` or `open` right after
    /// the rename); the saved file answers for it.
    pub fn target(&self, ino: Ino) -> Ino {
        let m = self.redirects.lock().unwrap_or_else(|e| e.into_inner());
        m.get(&ino).copied().unwrap_or(ino)
    }

    fn redirect(&self, from: Ino, to: Ino) {
        let mut m = self.redirects.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= REDIRECTS {
            m.clear();
        }
        m.insert(from, to);
    }

    /// The last handle of `ino` was released.
    pub fn closed(&self, ino: Ino) {
        let mut s = self.unlinked.lock().unwrap_or_else(|e| e.into_inner());
        s.remove(&ino);
    }
}

impl Core {
    /// Before this mount removes entry `name` of `parent`: when a handle
    /// here writes the file it names, remember that the deletion is ours.
    pub(super) async fn note_local_unlink(&self, parent: Ino, name: &str) {
        if !self.writers_open() {
            return;
        }
        if let Ok(a) = self.volume.lookup(parent, name.to_string()).await {
            let mut s = self
                .saves
                .unlinked
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            s.insert(a.ino);
        }
    }

    fn writers_open(&self) -> bool {
        let handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        handles.values().any(|of| of.writer.is_some())
    }

    /// A plain rename of regular file `name` over regular file `new_name`
    /// (each with one link): the renamed file's content becomes a new
    /// version of the one it replaces, based on the version this mount
    /// last served of it, and the renamed name goes away. Returns false
    /// (nothing done) when the rename is not such a save.
    pub(super) async fn save_over(
        &self,
        (parent, name): (Ino, &str),
        (new_parent, new_name): (Ino, &str),
        caller: Caller,
    ) -> Result<bool, OpError> {
        let (from, to) = tokio::join!(
            self.volume.lookup(parent, name.to_string()),
            self.volume.lookup(new_parent, new_name.to_string()),
        );
        let (Ok(from), Ok(to)) = (from, to) else {
            return Ok(false);
        };
        if !is_single_file(&from) || !is_single_file(&to) || from.ino == to.ino {
            return Ok(false);
        }
        // What the editor wrote and may not have closed yet.
        self.commit_writers_of(from.ino).await?;
        let ((_, saved), (_, head)) =
            tokio::try_join!(self.volume.head(from.ino), self.volume.head(to.ino))?;
        let Some(head) = head else {
            return Ok(false);
        };
        let manifest = match saved {
            Some(v) => v.manifest,
            None => head.manifest.emptied(),
        };
        let base = self
            .saves
            .last_served(to.ino)
            .unwrap_or_else(|| Base::from(&head));
        let c = self
            .volume
            .commit(to.ino, Some(base), manifest, caller, Durability::Visible)
            .await?;
        self.saves.served(
            to.ino,
            Base {
                version: c.version,
                hlc: c.hlc,
            },
        );
        self.counters
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.saves.redirect(from.ino, to.ino);
        self.volume.unlink(parent, name.to_string()).await?;
        Ok(true)
    }

    /// After a commit of `c` on `ino` found no such file: brings the change
    /// back at the path the file had when it was opened, unless this mount
    /// deleted it itself. The writer goes on with the new file.
    pub(super) async fn bring_back(
        &self,
        c: &mut Content,
        ino: Ino,
        manifest: &Manifest,
        caller: Caller,
    ) -> Result<Committed, VolumeError> {
        let gone = || VolumeError::Fs(FsError::NotFound);
        let Some((path, perm)) = c.origin.clone().filter(|_| !self.saves.unlinked_here(ino)) else {
            return Err(gone());
        };
        let based_on = c.version.map(|(version, hlc)| Base { version, hlc });
        let (new, committed) = self
            .volume
            .resurrect(&path, based_on, manifest.clone(), caller, perm)
            .await?;
        c.moved_to = Some(new);
        Ok(committed)
    }
}

fn is_single_file(a: &Attr) -> bool {
    a.kind == Kind::File && a.nlink == 1
}
