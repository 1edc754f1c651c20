//! Directories given to groups, as the mount and the CLI ask about them
//! (`meta::shares`): every share, the share an inode lies in, and the
//! signed act that gives or takes one back.

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

    /// Applies a signed account act (a share among them).
    pub async fn account_act(&self, cmd: AccountCmd) -> Result<(), VolumeError> {
        reply::done(self.write(Command::Accounts(cmd)).await?)
    }
}
