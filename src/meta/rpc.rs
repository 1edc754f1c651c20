//! The messages metadata peers exchange over the `/fragfs/meta/1` protocol:
//! Raft's own RPCs, the client requests forwarded to the leader, and the
//! change feed non-voters long-poll. Each body is one version byte
//! ([`META_RPC_VERSION`]) and postcard. New variants go at the end of the
//! enums so that earlier messages keep their encoding.

use super::{
    query::{Query, QueryReply},
    raft_types::{ApplyResult, NodeId, TypeConfig},
    types::{Changes, Command},
};
use openraft::{
    error::{InstallSnapshotError, RaftError},
    raft::{
        AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest,
        InstallSnapshotResponse, VoteRequest, VoteResponse,
    },
};
use serde::{Deserialize, Serialize};

/// 3 since a head comes with its proof (`QueryReply::Head`); 4 since a
/// sealed key may carry a note of exact lengths (a replica of an older
/// build would refuse what this one applies); 5 since mounts ask for
/// listings with extended attributes (`Query::ReaddirAll`).
pub const META_RPC_VERSION: u8 = 5;

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
    /// What the log entries after `since` changed; `None`: only where the
    /// log is now. Answered when there is something to report, or after a
    /// wait of at most [`crate::meta::feed::LONG_POLL`] with nothing.
    Changes {
        since: Option<u64>,
    },
    /// From a ticket's guest (`namespace::members`): admit `peer` (its
    /// peer id's bytes), which signed [`join_message`] with its own key.
    Join {
        peer: Vec<u8>,
        signature: Vec<u8>,
    },
}

/// What a joining peer signs: the network's id and the guest it connects
/// as, so a signature cannot be replayed for another network or ticket.
pub fn join_message(network: &[u8; 32], guest: &[u8]) -> Vec<u8> {
    let mut m = b"fragfs join v1".to_vec();
    m.extend_from_slice(network);
    m.extend_from_slice(guest);
    m
}

/// The answer to [`MetaRequest::Changes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangesAnswer {
    /// What the entries after the asked index and up to `upto` changed,
    /// oldest first; entries that changed nothing are left out. Empty when
    /// the wait ended with nothing new.
    Entries {
        upto: u64,
        entries: Vec<(u64, Changes)>,
    },
    /// This voter no longer knows every change after the asked index:
    /// anything cached may be stale. Ask again after `upto`.
    TooOld { upto: u64 },
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
    Changes(Result<ChangesAnswer, ServiceError>),
    /// The answer to [`MetaRequest::Join`]: the membership after the
    /// admission, or why not (one line).
    Joined(Result<crate::meta::members::Members, String>),
    /// The asking peer is not a member of this private network.
    Refused(String),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Changes {
        Changes {
            inodes: [1, 7].into_iter().collect(),
            entries: [(1, "a".to_string())].into_iter().collect(),
        }
    }

    /// The change-feed messages, pinned: they come after every earlier
    /// variant, so earlier messages keep their encoding.
    #[test]
    fn t10_change_feed_encoding_is_pinned() {
        let req = encode(&MetaRequest::Changes { since: Some(300) });
        assert_eq!(hex::encode(&req), "050701ac02");
        let none = encode(&MetaRequest::Changes { since: None });
        assert_eq!(hex::encode(&none), "050700");
        let entries = MetaResponse::Changes(Ok(ChangesAnswer::Entries {
            upto: 9,
            entries: vec![(8, sample())],
        }));
        assert_eq!(
            hex::encode(encode(&entries)),
            "0507000009010802010701010161"
        );
        let old = MetaResponse::Changes(Ok(ChangesAnswer::TooOld { upto: 5 }));
        assert_eq!(hex::encode(encode(&old)), "0507000105");
        let refused = MetaResponse::Changes(Err(ServiceError::NotVoter));
        assert_eq!(hex::encode(encode(&refused)), "05070101");
        for b in [req, none] {
            assert!(matches!(
                decode::<MetaRequest>(&b),
                Ok(MetaRequest::Changes { .. })
            ));
        }
        assert!(matches!(
            decode::<MetaResponse>(&encode(&entries)),
            Ok(MetaResponse::Changes(Ok(ChangesAnswer::Entries { .. })))
        ));
    }

    #[test]
    fn t20_malformed_change_feed_messages_are_errors() {
        // Truncated, an unknown variant, a bad option tag, a bad version.
        for bad in [
            &[3u8, 7][..],
            &[3, 99],
            &[3, 7, 2],
            &[1, 7, 0],
            &[2, 7, 0],
            &[],
        ] {
            assert!(decode::<MetaRequest>(bad).is_err(), "{bad:?}");
        }
        // Truncated, an unknown answer, an entry list longer than the body.
        for bad in [&[3u8, 7, 1][..], &[3, 7, 0, 2], &[3, 7, 0, 0, 9, 200]] {
            assert!(decode::<MetaResponse>(bad).is_err(), "{bad:?}");
        }
    }
}
