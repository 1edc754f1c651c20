//! What the mount adds to the namespace's attributes: the attributes of a
//! file still open here after its last name went (fstat of an open
//! unlinked file), times set on a file open for writing that its close must
//! not move.

use super::{Core, OpenFile};
use crate::errno::OpError;
use fragfs::meta::{Attr, Ino};
use std::sync::Arc;

impl Core {
    /// Keeps `a` as the last seen attributes of the handles open on its inode.
    pub(super) fn remember(&self, a: &Attr) {
        let handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        for of in handles.values().filter(|of| of.ino == a.ino) {
            *of.known.lock().unwrap_or_else(|e| e.into_inner()) = a.clone();
        }
    }

    /// The last seen attributes of `ino` with no links, if a handle holds it
    /// open.
    pub(super) fn orphan(&self, ino: Ino) -> Option<Attr> {
        let handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        let of = handles.values().find(|of| of.ino == ino)?;
        let mut a = of.known.lock().unwrap_or_else(|e| e.into_inner()).clone();
        a.nlink = 0;
        // Nobody else can change a file with no name: what this mount's
        // writer holds is its size, committed or not (a commit after the
        // unlink finds no file and leaves the writer clean).
        if let Some(w) = handles
            .values()
            .find_map(|of| of.writer.as_ref().filter(|_| of.ino == ino))
        {
            a.size = w.len.load(std::sync::atomic::Ordering::Acquire);
        }
        Some(a)
    }

    /// Commits the unsaved writes of every handle of `ino` open for writing.
    pub(super) async fn commit_writers_of(&self, ino: Ino) -> Result<(), OpError> {
        let open: Vec<Arc<OpenFile>> = self
            .handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|of| of.ino == ino && of.writer.is_some())
            .cloned()
            .collect();
        for of in open {
            self.commit(&of).await?;
        }
        Ok(())
    }
}
