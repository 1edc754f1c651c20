//! What `fragfs meta status` shows and what the node asks of Raft's view:
//! the voters and their addresses, the leader, waiting for one.

use super::{Meta, MetaStatus};
use crate::meta::raft_types::NodeId;
use std::time::Duration;

impl Meta {
    pub fn status(&self) -> MetaStatus {
        let Some(raft) = &self.inner.raft else {
            return MetaStatus {
                node_id: self.inner.node_id,
                voter: false,
                state: "not a voter".into(),
                leader: None,
                term: 0,
                last_applied: None,
                last_log: None,
                snapshot: None,
                purged: None,
                voters: vec![],
                learners: vec![],
                inodes: 0,
            };
        };
        let m = raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters = self.voters();
        let learners: Vec<(u64, String)> = membership
            .learner_ids()
            .map(|id| {
                (
                    id,
                    membership
                        .get_node(&id)
                        .map(|n| n.addr.clone())
                        .unwrap_or_default(),
                )
            })
            .collect();
        MetaStatus {
            node_id: self.inner.node_id,
            voter: true,
            state: format!("{:?}", m.state),
            leader: m.current_leader,
            term: m.current_term,
            last_applied: m.last_applied.map(|l| l.index),
            last_log: m.last_log_index,
            snapshot: m.snapshot.map(|l| l.index),
            purged: m.purged.map(|l| l.index),
            voters,
            learners,
            inodes: self.local_namespace().map_or(0, |ns| ns.len() as u64),
        }
    }

    /// The metadata voters this node knows, with their addresses (none on
    /// a non-voter).
    pub fn voters(&self) -> Vec<(u64, String)> {
        let Some(raft) = &self.inner.raft else {
            return Vec::new();
        };
        let m = raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        membership
            .voter_ids()
            .map(|id| {
                let addr = membership.get_node(&id).map(|n| n.addr.clone());
                (id, addr.unwrap_or_default())
            })
            .collect()
    }

    /// The leader this voter knows (None on a non-voter).
    pub fn leader(&self) -> Option<NodeId> {
        let raft = self.inner.raft.as_ref()?;
        let leader = raft.metrics().borrow().current_leader;
        leader
    }

    /// Waits until this voter knows a leader, at most `deadline`.
    pub async fn wait_for_leader(&self, deadline: Duration) -> Option<NodeId> {
        let raft = self.inner.raft.as_ref()?;
        let mut rx = raft.metrics();
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if let Some(l) = rx.borrow().current_leader {
                return Some(l);
            }
            if tokio::time::timeout_at(until, rx.changed()).await.is_err() {
                return None;
            }
        }
    }
}
