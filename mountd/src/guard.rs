//! Who may go where through this mount: the shares of directories given to
//! groups (`fragfs share`) and the users the mount acts for
//! (`--user`, `--user-map`, `trust::Acting`).
//!
//! The rule: inside a shared directory, only a caller acting as a member
//! of its group gets in; every other caller gets EACCES (a lookup, a
//! listing, an open, a change of anything there). A mount that acts for
//! users refuses the writes of a local uid acting for none. What the
//! namespace says about shares and groups is read again at most
//! [`FRESH`] after it was last read, so a change to a group reaches every
//! mount within about a second; the shared directory an inode lies in is
//! remembered for as long.

use crate::errno::OpError;
use fragfs::meta::accounts::Accounts;
use fragfs::meta::shares::Share;
use fragfs::meta::Ino;
use fragfs::volume::Volume;
use fuser::Errno;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long what was read about shares, groups and covers is used.
pub const FRESH: Duration = Duration::from_secs(1);

/// The most covers remembered before the memory is cleared.
const MAX_COVERS: usize = 65_536;

/// What a caller asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Look, list, read.
    Read,
    /// Create, change, remove.
    Write,
}

struct View {
    shares: Arc<BTreeMap<Ino, Share>>,
    accounts: Arc<Accounts>,
    read_at: Instant,
}

pub struct Guard {
    volume: Volume,
    view: tokio::sync::Mutex<Option<View>>,
    covers: Mutex<HashMap<Ino, (Instant, Option<Ino>)>>,
}

fn denied(what: &'static str) -> OpError {
    OpError::refused(Errno::EACCES, what)
}

impl Guard {
    /// A guard over `volume`, acting for `volume.acting()`'s users.
    pub fn new(volume: Volume) -> Self {
        Guard {
            volume,
            view: tokio::sync::Mutex::new(None),
            covers: Mutex::new(HashMap::new()),
        }
    }

    /// Checks that local `uid` may do `want` at inode `ino`.
    pub async fn check(&self, uid: u32, ino: Ino, want: Want) -> Result<(), OpError> {
        let acting = self.volume.acting();
        let user = acting.user_of(uid).map(|k| k.name().to_owned());
        if want == Want::Write && acting.is_anyone() && user.is_none() {
            return Err(denied("a local uid this mount acts for no user"));
        }
        let (shares, accounts) = self.view().await?;
        if shares.is_empty() {
            return Ok(());
        }
        let Some(dir) = self.cover(ino).await? else {
            return Ok(());
        };
        let Some(share) = shares.get(&dir) else {
            return Ok(());
        };
        match user {
            Some(u) if accounts.is_member(&share.group, &u) => Ok(()),
            _ => Err(denied(
                "a directory shared with a group the caller is not in",
            )),
        }
    }

    /// Whether nothing is shared on the network, as last read (at most
    /// [`FRESH`] ago): then every look is allowed and no name or size is
    /// sealed, which a callback can tell without waiting. False when
    /// unsure (never read, read too long ago, being read).
    pub fn nothing_shared_now(&self) -> bool {
        self.view.try_lock().is_ok_and(|v| {
            v.as_ref()
                .is_some_and(|v| v.read_at.elapsed() < FRESH && v.shares.is_empty())
        })
    }

    /// The share `ino` lies in, if any, with the users and groups as
    /// last read (at most [`FRESH`] ago).
    pub async fn share_of(&self, ino: Ino) -> Result<Option<(Share, Arc<Accounts>)>, OpError> {
        let (shares, accounts) = self.view().await?;
        if shares.is_empty() {
            return Ok(None);
        }
        let Some(dir) = self.cover(ino).await? else {
            return Ok(None);
        };
        Ok(shares.get(&dir).map(|s| (s.clone(), accounts)))
    }

    /// Checks `uid` may do `want` at each of `inos`.
    pub async fn check_all(&self, uid: u32, inos: &[Ino], want: Want) -> Result<(), OpError> {
        for ino in inos {
            self.check(uid, *ino, want).await?;
        }
        Ok(())
    }

    /// The shares and accounts, read again when older than [`FRESH`].
    async fn view(&self) -> Result<(Arc<BTreeMap<Ino, Share>>, Arc<Accounts>), OpError> {
        let mut view = self.view.lock().await;
        if let Some(v) = view.as_ref().filter(|v| v.read_at.elapsed() < FRESH) {
            return Ok((v.shares.clone(), v.accounts.clone()));
        }
        let read_at = Instant::now();
        let shares = self.volume.shares_fresh().await?;
        // Groups matter only where something is shared.
        let accounts = match shares.is_empty() {
            true => Arc::new(Accounts::default()),
            false => self.volume.accounts(true).await?,
        };
        let v = view.insert(View {
            shares,
            accounts,
            read_at,
        });
        Ok((v.shares.clone(), v.accounts.clone()))
    }

    /// The shared directory `ino` lies in, remembered for [`FRESH`].
    async fn cover(&self, ino: Ino) -> Result<Option<Ino>, OpError> {
        let known = {
            let covers = self.covers.lock().unwrap_or_else(|e| e.into_inner());
            covers
                .get(&ino)
                .filter(|(at, _)| at.elapsed() < FRESH)
                .map(|c| c.1)
        };
        if let Some(c) = known {
            return Ok(c);
        }
        let at = Instant::now();
        let cover = self.volume.cover(ino).await?;
        let mut covers = self.covers.lock().unwrap_or_else(|e| e.into_inner());
        if covers.len() >= MAX_COVERS {
            covers.clear();
        }
        covers.insert(ino, (at, cover));
        Ok(cover)
    }
}
