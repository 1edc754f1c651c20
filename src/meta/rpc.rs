//! The messages metadata peers exchange over the `/fragfs/meta/1` protocol:
//! Raft's own RPCs, and the client requests forwarded to the leader. Each
//! body is one version byte ([`META_RPC_VERSION`]) and postcard.

use super::{
    query::{Query, QueryReply},
    raft_types::{ApplyResult, NodeId, TypeConfig},
    types::Command,
};
use openraft::{
    error::{InstallSnapshotError, RaftError},
    raft::{
        AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest,
        InstallSnapshotResponse, VoteRequest, VoteResponse,
    },
};
use serde::{Deserialize, Serialize};

pub const META_RPC_VERSION: u8 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub enum MetaRequest {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// Apply this command through the leader.
    Write(Command),
    /// Answer this query; linearizably unless no leader can be reached.
    Read(Query),
    /// Make the node at this address a voter.
    AddVoter {
        addr: String,
    },
    RemoveVoter {
        node_id: NodeId,
    },
}

/// Why a forwarded client request failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ServiceError {
    #[error("no metadata quorum reachable within {0} ms")]
    NoQuorum(u64),
    #[error("this node is not a metadata voter")]
    NotVoter,
    #[error("metadata service error: {0}")]
    Other(String),
}

#[derive(Debug, Serialize, Deserialize)]
pub enum MetaResponse {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    Write(Result<ApplyResult, ServiceError>),
    Read(Result<(Result<QueryReply, super::types::FsError>, bool), ServiceError>),
    Membership(Result<(), ServiceError>),
    /// The request could not be decoded.
    Malformed(String),
}

pub fn encode<T: Serialize>(v: &T) -> bytes::Bytes {
    let mut out = vec![META_RPC_VERSION];
    out.extend(postcard::to_stdvec(v).expect("serialising plain data cannot fail"));
    bytes::Bytes::from(out)
}

pub fn decode<T: for<'a> Deserialize<'a>>(b: &[u8]) -> Result<T, String> {
    match b.split_first() {
        Some((&META_RPC_VERSION, rest)) => {
            postcard::from_bytes(rest).map_err(|e| format!("malformed metadata message: {e}"))
        }
        Some((v, _)) => Err(format!("metadata protocol version {v} is not supported")),
        None => Err("empty metadata message".into()),
    }
}
