//! Members: who belongs to the network (`fragfs invite`, `--join`,
//! `fragfs members`, `fragfs revoke`).
//!
//! The first voter founds the network: its identity (32 random bytes) and
//! whether it is open (anyone may connect) or private (only members may).
//! A member invites by recording a one-time *guest* peer id: the ticket
//! carries that guest's secret key, so whoever holds the ticket can
//! connect as the guest and ask to be admitted under its own peer id
//! ([`MemberCmd::Admit`]), which uses the invitation up. Every node lets
//! through connections from members and from guests of invitations still
//! open, nobody else (`node::members`). A revoked member is removed with
//! the invitations it made that are still open.
//!
//! Peer ids are their byte form (the `net` module alone knows libp2p).
//! Times come from the commands (`now`, `expires`), never from a clock.

use crate::meta::types::{FsError, Reply, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most members a network records.
pub const MAX_MEMBERS: usize = 4096;
/// The most invitations open at once.
pub const MAX_INVITES: usize = 1024;
/// The longest peer id accepted, in bytes (an ed25519 peer id takes 38).
pub const MAX_PEER_BYTES: usize = 64;
/// Used or expired invitations are remembered this long (to tell a used
/// ticket from an unknown one), then forgotten.
pub const FORGET_INVITES_SECS: i64 = 7 * 24 * 3600;

/// What a member may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Mounts and asks; stores nothing for others.
    Client,
    /// Stores fragments for the network.
    Storage,
    /// Stores fragments and may vote in the metadata cluster.
    Voter,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Storage => "storage",
            Role::Voter => "voter",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "client" => Some(Role::Client),
            "storage" => Some(Role::Storage),
            "voter" => Some(Role::Voter),
            _ => None,
        }
    }
}

/// The network's own identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Founding {
    pub id: [u8; 32],
    /// Anyone may connect (a lab network); otherwise members only.
    pub open: bool,
    pub founder: Vec<u8>,
    pub at: Time,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub role: Role,
    /// Who invited it (empty for the founder).
    pub invited_by: Vec<u8>,
    pub since: Time,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub role: Role,
    pub by: Vec<u8>,
    pub expires: Time,
    /// The peer admitted with it, once used.
    pub used_by: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub by: Vec<u8>,
    pub at: Time,
}

/// A change to the membership ([`crate::meta::Command::Members`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberCmd {
    /// Founds the network; `Exists` if it already is.
    Found {
        id: [u8; 32],
        founder: Vec<u8>,
        open: bool,
        now: Time,
    },
    /// `by` (a member) invites whoever connects as `guest` until `expires`.
    Invite {
        guest: Vec<u8>,
        role: Role,
        by: Vec<u8>,
        expires: Time,
        now: Time,
    },
    /// The peer that connected as `guest` becomes member `peer`: `NotFound`
    /// for an unknown invitation, `Exists` for a used one, `NotPermitted`
    /// for an expired one.
    Admit {
        guest: Vec<u8>,
        peer: Vec<u8>,
        now: Time,
    },
    /// `by` (a member) removes member `peer`.
    Revoke {
        peer: Vec<u8>,
        by: Vec<u8>,
        now: Time,
    },
}

/// The membership of the network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    founding: Option<Founding>,
    members: BTreeMap<Vec<u8>, Member>,
    invites: BTreeMap<Vec<u8>, Invite>,
    revoked: BTreeMap<Vec<u8>, Revoked>,
}

impl Members {
    pub fn apply(&mut self, cmd: MemberCmd) -> Result<Reply, FsError> {
        match cmd {
            MemberCmd::Found {
                id,
                founder,
                open,
                now,
            } => self.found(id, founder, open, now),
            MemberCmd::Invite {
                guest,
                role,
                by,
                expires,
                now,
            } => self.invite(guest, role, by, expires, now),
            MemberCmd::Admit { guest, peer, now } => self.admit(guest, peer, now),
            MemberCmd::Revoke { peer, by, now } => self.revoke(peer, by, now),
        }
    }

    fn found(
        &mut self,
        id: [u8; 32],
        founder: Vec<u8>,
        open: bool,
        now: Time,
    ) -> Result<Reply, FsError> {
        check_peer(&founder)?;
        if self.founding.is_some() {
            return Err(FsError::Exists);
        }
        self.members.insert(
            founder.clone(),
            Member {
                role: Role::Voter,
                invited_by: Vec::new(),
                since: now,
            },
        );
        self.founding = Some(Founding {
            id,
            open,
            founder,
            at: now,
        });
        Ok(Reply::Done)
    }

    fn invite(
        &mut self,
        guest: Vec<u8>,
        role: Role,
        by: Vec<u8>,
        expires: Time,
        now: Time,
    ) -> Result<Reply, FsError> {
        check_peer(&guest)?;
        if self.founding.is_none() || !self.members.contains_key(&by) {
            return Err(FsError::NotPermitted);
        }
        if expires <= now {
            return Err(FsError::Invalid);
        }
        if self.invites.contains_key(&guest) || self.members.contains_key(&guest) {
            return Err(FsError::Exists);
        }
        self.forget_old(now);
        if self.open_invites(now).count() >= MAX_INVITES || self.invites.len() >= 4 * MAX_INVITES {
            return Err(FsError::NoLocks);
        }
        self.invites.insert(
            guest,
            Invite {
                role,
                by,
                expires,
                used_by: None,
            },
        );
        Ok(Reply::Done)
    }

    fn admit(&mut self, guest: Vec<u8>, peer: Vec<u8>, now: Time) -> Result<Reply, FsError> {
        check_peer(&peer)?;
        let invite = self.invites.get(&guest).ok_or(FsError::NotFound)?;
        if invite.used_by.is_some() {
            return Err(FsError::Exists);
        }
        if invite.expires <= now {
            return Err(FsError::NotPermitted);
        }
        if !self.members.contains_key(&invite.by) {
            // Its inviter was revoked since.
            return Err(FsError::NotPermitted);
        }
        if !self.members.contains_key(&peer) && self.members.len() >= MAX_MEMBERS {
            return Err(FsError::NoLocks);
        }
        let (role, by) = (invite.role, invite.by.clone());
        if let Some(i) = self.invites.get_mut(&guest) {
            i.used_by = Some(peer.clone());
        }
        self.revoked.remove(&peer);
        self.members.insert(
            peer,
            Member {
                role,
                invited_by: by,
                since: now,
            },
        );
        Ok(Reply::Done)
    }

    fn revoke(&mut self, peer: Vec<u8>, by: Vec<u8>, now: Time) -> Result<Reply, FsError> {
        if !self.members.contains_key(&by) {
            return Err(FsError::NotPermitted);
        }
        if peer == by {
            return Err(FsError::Invalid);
        }
        if self.members.remove(&peer).is_none() {
            return Err(FsError::NotFound);
        }
        // Its open invitations go with it.
        self.invites
            .retain(|_, i| i.by != peer || i.used_by.is_some());
        if self.revoked.len() >= MAX_MEMBERS {
            if let Some(oldest) = self.oldest_revoked() {
                self.revoked.remove(&oldest);
            }
        }
        self.revoked.insert(peer, Revoked { by, at: now });
        Ok(Reply::Done)
    }

    fn oldest_revoked(&self) -> Option<Vec<u8>> {
        self.revoked
            .iter()
            .min_by(|a, b| a.1.at.cmp(&b.1.at).then(a.0.cmp(b.0)))
            .map(|(p, _)| p.clone())
    }

    /// Forgets invitations used or expired long before `now`.
    fn forget_old(&mut self, now: Time) {
        let horizon = Time {
            secs: now.secs.saturating_sub(FORGET_INVITES_SECS),
            nanos: now.nanos,
        };
        self.invites.retain(|_, i| i.expires > horizon);
    }

    /// The invitations still usable at `now`, by guest peer id.
    pub fn open_invites(&self, now: Time) -> impl Iterator<Item = (&Vec<u8>, &Invite)> {
        self.invites
            .iter()
            .filter(move |(_, i)| i.used_by.is_none() && i.expires > now)
    }

    pub fn founding(&self) -> Option<&Founding> {
        self.founding.as_ref()
    }

    /// Whether the network was founded private (closed to non-members).
    pub fn is_private(&self) -> bool {
        self.founding.as_ref().is_some_and(|f| !f.open)
    }

    pub fn members(&self) -> &BTreeMap<Vec<u8>, Member> {
        &self.members
    }

    pub fn invites(&self) -> &BTreeMap<Vec<u8>, Invite> {
        &self.invites
    }

    pub fn revoked(&self) -> &BTreeMap<Vec<u8>, Revoked> {
        &self.revoked
    }
}

fn check_peer(peer: &[u8]) -> Result<(), FsError> {
    if peer.is_empty() || peer.len() > MAX_PEER_BYTES {
        return Err(FsError::Invalid);
    }
    Ok(())
}
