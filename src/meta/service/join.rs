//! Finding the leader from a node that does not know it: a voter started
//! to join an existing cluster (`--meta --peer`) asks the voters it is
//! connected to to add it ([`Meta::join_as_voter`]), and until it knows a
//! leader it answers reads through them rather than from its empty replica
//! ([`Meta::read_through_peers`]). A non-voter prefers a voter that can
//! confirm its answer over one that cannot ([`Meta::read_via_voters`]).
//!
//! A read asked of this node by another one is never passed on to a third
//! peer without a leader: two nodes that know no leader cannot bounce a
//! request between them.

use super::{Meta, MetaError, ReadAnswer};
use crate::{
    meta::{
        query::Query,
        rpc::{MetaRequest, MetaResponse},
    },
    net::Multiaddr,
};
use std::time::Duration;

const JOIN_BACKOFF_MIN: Duration = Duration::from_millis(200);
const JOIN_BACKOFF_MAX: Duration = Duration::from_secs(5);

impl Meta {
    /// Whether this node is a voter in the membership it knows.
    pub fn is_member_voter(&self) -> bool {
        let Some(raft) = &self.inner.raft else {
            return false;
        };
        let m = raft.metrics().borrow().clone();
        let voter = m
            .membership_config
            .membership()
            .voter_ids()
            .any(|id| id == self.inner.node_id);
        voter
    }

    /// Asks the connected voters, one after another and again with a
    /// backoff, to make this node (reachable at `me`) a voter; returns once
    /// one did or this node already is one. Runs until then: cancel it with
    /// the node's tasks.
    pub async fn join_as_voter(&self, me: &Multiaddr) -> Result<(), MetaError> {
        if self.inner.raft.is_none() {
            return Err(MetaError::NoVoter);
        }
        let req = MetaRequest::AddVoter {
            addr: me.to_string(),
        };
        let deadline = self.inner.cfg.write_timeout * 6;
        let mut backoff = JOIN_BACKOFF_MIN;
        loop {
            if self.is_member_voter() {
                return Ok(());
            }
            for peer in self.voter_peers().await {
                match self.forward_to(peer, None, &req, deadline).await {
                    Ok(MetaResponse::Membership(Ok(()))) => return Ok(()),
                    Ok(other) => tracing::debug!(%peer, ?other, "a voter did not add this node"),
                    Err(e) => tracing::debug!(%peer, error = %e, "a voter did not add this node"),
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(JOIN_BACKOFF_MAX);
        }
    }

    /// `q` answered by a connected voter that confirmed its answer (itself
    /// or through its leader); `None` when none did.
    pub(super) async fn read_through_peers(&self, q: &Query) -> Option<ReadAnswer> {
        match self.read_via_voters(q).await {
            Ok(a) if !a.stale => Some(a),
            _ => None,
        }
    }

    /// `q` asked of the connected voters: the first confirmed answer, else
    /// the last possibly stale one, else the last error.
    pub(super) async fn read_via_voters(&self, q: &Query) -> Result<ReadAnswer, MetaError> {
        let deadline = self.inner.cfg.write_timeout;
        let req = MetaRequest::Read(q.clone());
        let mut best: Result<ReadAnswer, MetaError> = Err(MetaError::NoVoter);
        for peer in self.voter_peers().await {
            let answer = match self.forward_to(peer, None, &req, deadline).await {
                Ok(MetaResponse::Read(Ok((Ok(reply), stale)))) => Ok(ReadAnswer { reply, stale }),
                Ok(MetaResponse::Read(Ok((Err(e), false)))) => return Err(MetaError::Fs(e)),
                Ok(MetaResponse::Read(Ok((Err(e), true)))) => Err(MetaError::Fs(e)),
                Ok(MetaResponse::Read(Err(e))) => Err(e.into()),
                Ok(_) => Err(MetaError::Other("unexpected answer".into())),
                Err(e) => Err(e),
            };
            match answer {
                Ok(a) if !a.stale => return Ok(a),
                Ok(a) => best = Ok(a),
                Err(e) if best.is_err() => best = Err(e),
                Err(_) => {}
            }
        }
        best
    }
}
