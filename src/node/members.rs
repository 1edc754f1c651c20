//! The node's side of membership (`meta::members` holds the record):
//! founding a network, joining one with a ticket, inviting, revoking, and
//! the `members-gate` task that keeps the connection gate (`net::gate`)
//! set to what the namespace says.
//!
//! `DATA/network` remembers the network this node belongs to (its id,
//! whether it is open, this node's role and the members last seen), so a
//! restarted node lets only members in before it has read the namespace
//! again. Gate rule: a private network lets in its members and the guests
//! of open invitations; fragment requests are answered for members only
//! (a guest may only ask to join, `meta::service::admit`).

use super::{NodeError, Shared};
use crate::{
    meta::{
        members::{MemberCmd, Members, Role},
        Command, Query, QueryReply, Time,
    },
    net::{self, Keypair, Multiaddr, Net, NetConfig, PeerId},
    task::Tasks,
    trust::Ticket,
};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashSet,
    path::Path,
    sync::{Arc, RwLock},
    time::Duration,
};

/// The file's format byte.
const NETWORK_FILE_VERSION: u8 = 1;
/// The longest `DATA/network` read.
const MAX_NETWORK_FILE: u64 = 1 << 20;
/// How often a voter reads the membership from its replica.
const VOTER_EVERY: Duration = Duration::from_millis(250);
/// How often another node asks a voter for it.
const OTHER_EVERY: Duration = Duration::from_secs(1);
/// How long a joining node keeps asking the ticket's voters.
const JOIN_DEADLINE: Duration = Duration::from_secs(20);

/// What `DATA/network` holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkFile {
    pub id: [u8; 32],
    pub open: bool,
    /// This node's role (on an open network, `Voter`: no bound).
    pub role: Role,
    /// Peer ids (bytes) of the members last seen.
    pub members: Vec<Vec<u8>>,
    /// Where the metadata voters were last seen (each ending in
    /// `/p2p/<peer id>`): whom a restarted node meets first.
    pub addrs: Vec<String>,
}

impl NetworkFile {
    fn path(dir: &Path) -> std::path::PathBuf {
        dir.join("network")
    }

    /// The file, None when this node belongs to no network yet.
    pub fn load(dir: &Path) -> Result<Option<NetworkFile>, NodeError> {
        use std::io::Read;
        let path = Self::path(dir);
        let err = |source| NodeError::DataDir {
            path: path.clone(),
            source,
        };
        let mut bytes = Vec::new();
        match std::fs::File::open(&path) {
            Ok(f) => f
                .take(MAX_NETWORK_FILE)
                .read_to_end(&mut bytes)
                .map_err(err)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        let bad = |why: String| err(std::io::Error::other(format!("unreadable: {why}")));
        match bytes.split_first() {
            Some((&NETWORK_FILE_VERSION, rest)) => postcard::from_bytes(rest)
                .map(Some)
                .map_err(|e| bad(e.to_string())),
            Some((v, _)) => Err(bad(format!("format {v} is not supported"))),
            None => Err(bad("empty".into())),
        }
    }

    pub(super) fn save(&self, dir: &Path) -> std::io::Result<()> {
        let mut bytes = vec![NETWORK_FILE_VERSION];
        bytes.extend(postcard::to_stdvec(self).map_err(std::io::Error::other)?);
        super::pins::write_atomically(&Self::path(dir), &bytes)
    }

    /// The voters' addresses but this node's own.
    pub fn bootstrap(&self, me: PeerId) -> Vec<Multiaddr> {
        self.addrs
            .iter()
            .filter_map(|a| a.parse::<Multiaddr>().ok())
            .filter(|a| net::peer_in(a) != Some(me))
            .collect()
    }

    /// The gate to start with: None for an open network.
    pub fn gate(&self) -> Option<Vec<PeerId>> {
        (!self.open).then(|| peers(self.members.iter()).collect())
    }
}

fn peers<'a, I>(bytes: I) -> impl Iterator<Item = PeerId> + 'a
where
    I: Iterator<Item = &'a Vec<u8>> + 'a,
{
    bytes.filter_map(|b| PeerId::from_bytes(b).ok())
}

/// Who this node lets in and answers, as the gate task last set it.
#[derive(Default)]
pub(crate) struct Gatekeeper {
    /// None: an open network (or one not known yet): everyone.
    members: RwLock<Option<HashSet<PeerId>>>,
}

impl Gatekeeper {
    pub(crate) fn new(file: Option<&NetworkFile>) -> Self {
        let members = file.and_then(|f| f.gate()).map(|v| v.into_iter().collect());
        Gatekeeper {
            members: RwLock::new(members),
        }
    }

    /// Whether `peer`'s fragment requests are answered.
    pub(crate) fn answers(&self, peer: &PeerId) -> bool {
        let m = self.members.read().unwrap_or_else(|e| e.into_inner());
        m.as_ref().is_none_or(|m| m.contains(peer))
    }

    fn set(&self, members: Option<HashSet<PeerId>>) {
        *self.members.write().unwrap_or_else(|e| e.into_inner()) = members;
    }
}

/// Joins the network a ticket names: connects as the ticket's guest, asks
/// a voter to admit `own`, and returns what to remember.
pub(super) async fn join(own: &Keypair, ticket: &Ticket) -> Result<NetworkFile, NodeError> {
    let addrs: Vec<Multiaddr> = ticket.addrs.iter().filter_map(|a| a.parse().ok()).collect();
    if addrs.is_empty() {
        return Err(NodeError::Join("the ticket names no usable address".into()));
    }
    let cfg = NetConfig {
        listen: Vec::new(),
        mdns: false,
        serve: false,
        ..NetConfig::default()
    };
    let tasks = Tasks::new();
    let guest = net::keypair_from_secret(ticket.secret);
    let (guest_net, _inbox) = Net::start(guest, cfg, &tasks).await?;
    let answer =
        crate::meta::ask_to_join(&guest_net, &addrs, &ticket.network, own, JOIN_DEADLINE).await;
    guest_net.shutdown().await;
    tasks.shutdown(Duration::from_secs(2)).await;
    let members = answer.map_err(NodeError::Join)?;
    let mut list: Vec<Vec<u8>> = members.members().keys().cloned().collect();
    list.push(own.public().to_peer_id().to_bytes());
    let open = members.founding().is_some_and(|f| f.open);
    Ok(NetworkFile {
        id: ticket.network,
        open,
        role: if open { Role::Voter } else { ticket.role },
        members: list,
        addrs: ticket.addrs.clone(),
    })
}

/// What a founder remembers before the namespace says anything.
pub(super) fn founder_file(me: PeerId, open: bool) -> NetworkFile {
    NetworkFile {
        id: rand::random(),
        open,
        role: Role::Voter,
        members: vec![me.to_bytes()],
        addrs: Vec::new(),
    }
}

/// Records the founding in the namespace unless it is there already.
pub(super) async fn found(shared: &Shared, file: &NetworkFile) -> Result<(), NodeError> {
    if current(shared)
        .await
        .is_some_and(|m| m.founding().is_some())
    {
        return Ok(());
    }
    let cmd = Command::Members(MemberCmd::Found {
        id: file.id,
        founder: shared.net.local_peer_id().to_bytes(),
        open: file.open,
        now: Time::now(),
    });
    match shared.meta.write(cmd).await {
        Ok(_) | Err(crate::meta::MetaError::Fs(crate::meta::FsError::Exists)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The membership as the namespace has it now.
pub(crate) async fn current(shared: &Shared) -> Option<Members> {
    if let Some(m) = shared.meta.local_members() {
        if m.founding().is_some() || !shared.meta.is_member_voter() {
            return Some(m);
        }
    }
    match shared.meta.read(Query::Members).await {
        Ok(a) => match a.reply {
            QueryReply::Members(m) => Some(m),
            _ => None,
        },
        Err(_) => None,
    }
}

/// The `members-gate` task: keeps the gate, the gatekeeper and
/// `DATA/network` in step with the namespace, and on the metadata leader
/// takes revoked peers out of the Raft voters.
pub(super) async fn keep(shared: Arc<Shared>, mut file: Option<NetworkFile>) {
    let every = if shared.meta.is_voter() {
        VOTER_EVERY
    } else {
        OTHER_EVERY
    };
    loop {
        if let Some(m) = current(&shared).await {
            if let Some(f) = m.founding() {
                let me = shared.net.local_peer_id();
                let members: HashSet<PeerId> = peers(m.members().keys()).collect();
                let mut now_allowed = members.clone();
                now_allowed.extend(peers(m.open_invites(Time::now()).map(|(g, _)| g)));
                now_allowed.insert(me);
                if !f.open {
                    // Set whole every round: peers let in one at a time
                    // since (`Net::allow_one`) are kept only if named.
                    shared.net.allow(now_allowed).await;
                    shared.gatekeeper.set(Some(members));
                }
                remember(&shared, &m, me, &mut file);
                if f.open {
                    // Open for good: nothing more to keep.
                    shared.gatekeeper.set(None);
                    return;
                }
                drop_revoked_voters(&shared, &m).await;
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// Writes `DATA/network` when what it should say changed.
fn remember(shared: &Shared, m: &Members, me: PeerId, file: &mut Option<NetworkFile>) {
    let Some(f) = m.founding() else { return };
    // On an open network nobody's role bounds what it runs as.
    let role = match f.open {
        true => Role::Voter,
        false => m
            .members()
            .get(&me.to_bytes())
            .map(|x| x.role)
            .or(file.as_ref().map(|f| f.role))
            .unwrap_or(Role::Client),
    };
    let voters: Vec<String> = shared.meta.voters().into_iter().map(|(_, a)| a).collect();
    let addrs = match voters.is_empty() {
        true => file.as_ref().map(|f| f.addrs.clone()).unwrap_or_default(),
        false => voters,
    };
    let next = NetworkFile {
        id: f.id,
        open: f.open,
        role,
        members: m.members().keys().cloned().collect(),
        addrs,
    };
    if file.as_ref() != Some(&next) {
        if let Err(e) = next.save(&shared.cfg.data_dir) {
            tracing::warn!(error = %e, "cannot write DATA/network");
            return;
        }
        *file = Some(next);
    }
}

/// On the leader: a Raft voter whose peer is no longer a member leaves
/// the voters.
async fn drop_revoked_voters(shared: &Shared, m: &Members) {
    if shared.meta.leader() != Some(shared.meta.node_id()) {
        return;
    }
    for (id, addr) in &shared.meta.voters() {
        let peer = addr
            .parse::<Multiaddr>()
            .ok()
            .and_then(|a| net::peer_in(&a));
        let Some(peer) = peer else { continue };
        if !m.members().contains_key(&peer.to_bytes()) {
            tracing::info!(%peer, "a revoked peer leaves the metadata voters");
            if let Err(e) = shared.meta.remove_voter(*id).await {
                tracing::warn!(%peer, error = %e, "cannot remove a revoked voter");
            }
        }
    }
}

/// `fragfs invite`: a ticket for one peer of `role`, valid for `valid`.
pub(super) async fn invite(shared: &Shared, role: Role, valid: Duration) -> Result<String, String> {
    let m = current(shared)
        .await
        .ok_or("the membership cannot be read now")?;
    let f = m.founding().ok_or("this network has no identity yet")?;
    let (secret, guest) = net::new_secret_keypair();
    let guest = guest.public().to_peer_id();
    let now = Time::now();
    let expires = Time {
        secs: now.secs.saturating_add(valid.as_secs() as i64),
        nanos: now.nanos,
    };
    let cmd = Command::Members(MemberCmd::Invite {
        guest: guest.to_bytes(),
        role,
        by: shared.net.local_peer_id().to_bytes(),
        expires,
        now,
    });
    shared.meta.write(cmd).await.map_err(|e| e.to_string())?;
    shared.net.allow_one(guest).await;
    let addrs: Vec<String> = shared.meta.voters().into_iter().map(|(_, a)| a).collect();
    Ok(Ticket {
        network: f.id,
        secret,
        role,
        expires,
        addrs,
    }
    .encode())
}

/// `fragfs revoke PEER`.
pub(super) async fn revoke(shared: &Shared, peer: &str) -> Result<(), String> {
    let peer: PeerId = peer
        .parse()
        .map_err(|_| format!("{peer} is not a peer id"))?;
    let cmd = Command::Members(MemberCmd::Revoke {
        peer: peer.to_bytes(),
        by: shared.net.local_peer_id().to_bytes(),
        now: Time::now(),
    });
    match shared.meta.write(cmd).await {
        Ok(_) => Ok(()),
        Err(crate::meta::MetaError::Fs(crate::meta::FsError::NotFound)) => {
            Err(format!("{peer} is not a member"))
        }
        Err(crate::meta::MetaError::Fs(crate::meta::FsError::Invalid)) => {
            Err("a node cannot revoke itself".into())
        }
        Err(e) => Err(e.to_string()),
    }
}
