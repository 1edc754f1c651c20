//! The openraft type configuration of the metadata service.

use super::types::{Command, FsError, Reply};
use std::io::Cursor;

/// What applying one log entry returns to the proposer.
pub type ApplyResult = Result<Reply, FsError>;

openraft::declare_raft_types!(
    /// Raft over the namespace: commands in, replies out; node ids are
    /// derived from peer ids; a node's address is its libp2p multiaddr.
    pub TypeConfig:
        D = Command,
        R = ApplyResult,
        NodeId = u64,
        Node = openraft::BasicNode,
        SnapshotData = Cursor<Vec<u8>>,
);

pub type NodeId = u64;
pub type LogId = openraft::LogId<NodeId>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, openraft::BasicNode>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, openraft::BasicNode>;
pub type Raft = openraft::Raft<TypeConfig>;
