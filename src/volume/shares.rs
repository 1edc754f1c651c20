//! Directories given to groups, as the mount and the CLI ask about them
//! (`meta::shares`): every share, the share an inode lies in, the signed
//! acts that give or take one back, and a mount's users logging in
//! (registered in the namespace when they are not yet).

use super::{reply, Volume, VolumeError};
use crate::meta::accounts::AccountCmd;
use crate::meta::shares::Share;
use crate::meta::{Command, Ino, Query, QueryReply};
use std::collections::BTreeMap;

impl Volume {
    /// Every shared directory and its share.
    pub async fn shares(&self) -> Result<BTreeMap<Ino, Share>, VolumeError> {
        match self.read(Query::Shares).await?.reply {
            QueryReply::Shares(s) => Ok(s),
            other => Err(reply::wrong("shares", other)),
        }
    }

    /// The shared directory `ino` lies in (itself or above), if any.
    pub async fn cover(&self, ino: Ino) -> Result<Option<Ino>, VolumeError> {
        match self.read(Query::Cover { ino }).await?.reply {
            QueryReply::Cover(c) => Ok(c),
            other => Err(reply::wrong("a share", other)),
        }
    }

    /// Registers each user this volume acts for that the namespace does
    /// not know yet (a self-signed act): a mount's log-in. Returns the
    /// names registered.
    pub async fn log_in(&self) -> Result<Vec<String>, VolumeError> {
        let known = self.accounts(true).await?;
        let mut added = Vec::new();
        for key in self.acting.users() {
            match known.users().get(key.name()) {
                Some(u) if u.sign == key.public() => continue,
                Some(_) => return Err(VolumeError::Fs(crate::meta::FsError::Exists)),
                None => {}
            }
            self.account_act(crate::trust::groups::register(&key))
                .await?;
            added.push(key.name().to_owned());
        }
        if !added.is_empty() {
            self.accounts(true).await?;
        }
        Ok(added)
    }

    /// Applies a signed account act (a share among them).
    pub async fn account_act(&self, cmd: AccountCmd) -> Result<(), VolumeError> {
        reply::done(self.write(Command::Accounts(cmd)).await?)
    }
}
