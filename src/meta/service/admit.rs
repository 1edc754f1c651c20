//! Members at the metadata service: on a private network a voter answers
//! only members (a stranger cannot read the namespace or talk Raft even
//! if a connection got through), and a ticket's guest only with
//! [`MetaRequest::Join`], which admits the peer it names
//! (`MemberCmd::Admit` through the leader) once that peer proved it holds
//! its key.

use super::{Meta, MetaError};
use crate::{
    meta::{
        members::{MemberCmd, Members},
        rpc::{join_message, MetaRequest, MetaResponse},
        types::{Command, FsError, Time},
    },
    net::{self, PeerId},
};

impl Meta {
    /// The membership in this voter's replica (None on a non-voter).
    pub fn local_members(&self) -> Option<Members> {
        let sm = self.inner.sm.as_ref()?;
        let st = sm.state.read().unwrap_or_else(|e| e.into_inner());
        Some(st.ns.members().clone())
    }

    /// Whether this voter's replica names `peer` a member.
    pub fn is_local_member(&self, peer: &PeerId) -> bool {
        let Some(sm) = self.inner.sm.as_ref() else {
            return false;
        };
        let st = sm.state.read().unwrap_or_else(|e| e.into_inner());
        st.ns.members().members().contains_key(&peer.to_bytes())
    }

    /// Why `peer` may not ask `req` of this voter, if it may not: on a
    /// private network only members ask, and guests only to join.
    /// Runs on every request (Raft's included): reads the replica in
    /// place, copies nothing.
    pub(super) fn refusal(&self, peer: &PeerId, req: &MetaRequest) -> Option<String> {
        {
            let sm = self.inner.sm.as_ref()?;
            let st = sm.state.read().unwrap_or_else(|e| e.into_inner());
            let members = st.ns.members();
            let founding = members.founding()?;
            if founding.open || members.members().contains_key(&peer.to_bytes()) {
                return None;
            }
        }
        if matches!(req, MetaRequest::Join { .. }) {
            return None;
        }
        Some(format!("{peer} is not a member of this network"))
    }

    /// [`MetaRequest::Join`] from `guest`.
    pub(super) async fn admit(
        &self,
        guest: PeerId,
        peer: Vec<u8>,
        signature: Vec<u8>,
    ) -> MetaResponse {
        MetaResponse::Joined(self.admit_result(guest, peer, signature).await)
    }

    async fn admit_result(
        &self,
        guest: PeerId,
        peer: Vec<u8>,
        signature: Vec<u8>,
    ) -> Result<Members, String> {
        let members = self
            .local_members()
            .ok_or("this node is not a metadata voter")?;
        let founding = members
            .founding()
            .ok_or("this network has not been founded yet")?;
        let joiner = PeerId::from_bytes(&peer).map_err(|_| "a malformed peer id".to_string())?;
        let message = join_message(&founding.id, &guest.to_bytes());
        if !net::verify_peer_signature(&joiner, &message, &signature) {
            return Err("the joining peer's signature does not match its peer id".into());
        }
        let cmd = Command::Members(MemberCmd::Admit {
            guest: guest.to_bytes(),
            peer,
            now: Time::now(),
        });
        match self.write(cmd).await {
            Ok(_) => {}
            Err(MetaError::Fs(FsError::NotFound)) => {
                return Err("the ticket is not known to this network".into())
            }
            Err(MetaError::Fs(FsError::Exists)) => return Err("the ticket was already used".into()),
            Err(MetaError::Fs(FsError::NotPermitted)) => {
                return Err("the ticket expired or its inviter is no longer a member".into())
            }
            Err(e) => return Err(e.to_string()),
        }
        tracing::info!(peer = %joiner, "admitted a new member");
        self.inner.net.allow_one(joiner).await;
        Ok(self.local_members().unwrap_or(members))
    }
}

/// The joining side: asks the voters at `addrs` (each ending in
/// `/p2p/<peer id>`), over `guest_net` (a network started with the
/// ticket's guest key), to admit `own`, retrying until `deadline` while
/// the answer may still change (a voter that has not yet let the guest
/// in). A definite no (used, expired, unknown ticket) ends it at once.
pub async fn ask_to_join(
    guest_net: &net::Net,
    addrs: &[net::Multiaddr],
    network: &[u8; 32],
    own: &net::Keypair,
    deadline: std::time::Duration,
) -> Result<Members, String> {
    use crate::meta::rpc;
    let guest = guest_net.local_peer_id();
    let signature = own
        .sign(&join_message(network, &guest.to_bytes()))
        .map_err(|e| format!("cannot sign the join request: {e}"))?;
    let body = rpc::encode(&MetaRequest::Join {
        peer: own.public().to_peer_id().to_bytes(),
        signature,
    });
    let until = tokio::time::Instant::now() + deadline;
    let mut last = "no voter named in the ticket answered".to_string();
    while tokio::time::Instant::now() < until {
        for addr in addrs {
            let Some(peer) = net::peer_in(addr) else {
                continue;
            };
            let answer = guest_net
                .meta_request(
                    peer,
                    Some(addr.clone()),
                    body.clone(),
                    std::time::Duration::from_secs(5),
                )
                .await;
            match answer.map(|b| rpc::decode::<MetaResponse>(&b)) {
                Ok(Ok(MetaResponse::Joined(Ok(members)))) => {
                    if members.founding().map(|f| f.id) != Some(*network) {
                        return Err(
                            "the peers named in the ticket belong to another network".into()
                        );
                    }
                    return Ok(members);
                }
                Ok(Ok(MetaResponse::Joined(Err(why)))) => return Err(why),
                Ok(Ok(MetaResponse::Refused(why))) => last = why,
                Ok(Ok(_)) => last = format!("{peer} gave an unexpected answer"),
                Ok(Err(e)) => last = e,
                Err(e) => last = e.to_string(),
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    Err(last)
}
