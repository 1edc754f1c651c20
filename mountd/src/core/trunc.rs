//! `open(O_TRUNC)` beyond cutting a writer's content: the kernel sends
//! O_TRUNC with the open (atomic O_TRUNC) and no separate truncate, so the
//! mount does what Linux does there. An open that truncates moves the
//! file's mtime and ctime even when the file was already empty, and
//! `O_RDONLY|O_TRUNC` (which the kernel lets through once it checked write
//! permission) truncates too.

use super::{base_content, Core, OpError};
use fragfs::{
    meta::{Attr, Caller, Context, Ino, Kind},
    volume::{clock, SetAttrs},
};

impl Core {
    /// Sets `ino`'s mtime (and so its ctime) to now: what a truncation
    /// that changes no byte does to an open file.
    pub(super) async fn touch_mtime(&self, ino: Ino, caller: Caller) -> Result<Attr, OpError> {
        let set = SetAttrs {
            mtime: Some(clock::now()),
            ..SetAttrs::default()
        };
        Ok(self
            .volume
            .setattr(ino, set, caller, Context::default())
            .await?)
    }

    /// `open(O_RDONLY|O_TRUNC)` of a regular file: commits it empty (or
    /// only moves its times if it already was).
    pub(super) async fn truncate_read_only_open(
        &self,
        ino: Ino,
        caller: Caller,
    ) -> Result<(), OpError> {
        let (attr, head) = self.volume.head(ino).await?;
        if attr.kind != Kind::File {
            // The kernel ignores O_TRUNC on anything else.
            return Ok(());
        }
        let mut content = base_content(&head, ino, self).await?;
        self.resize_content(&mut content, 0).await?;
        if !self.commit_content(&mut content, ino, caller).await? {
            self.touch_mtime(ino, caller).await?;
        }
        Ok(())
    }
}
