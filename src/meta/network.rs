//! openraft's network over the libp2p swarm: every Raft RPC is a
//! [`MetaRequest`] on the `/fragfs/meta/1` protocol. A Raft node's address
//! is its multiaddr ending in `/p2p/<peer id>`.

use super::{
    raft_types::{NodeId, TypeConfig},
    rpc::{self, MetaRequest, MetaResponse},
};
use crate::net::{self, Multiaddr, Net, NetError, PeerId};
use openraft::{
    error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable},
    network::{RPCOption, RaftNetwork, RaftNetworkFactory},
    raft::{
        AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest,
        InstallSnapshotResponse, VoteRequest, VoteResponse,
    },
    BasicNode,
};
use std::time::Duration;

pub struct NetworkFactory {
    pub net: Net,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Connection {
        let addr: Option<Multiaddr> = node.addr.parse().ok();
        let peer = addr.as_ref().and_then(net::peer_in);
        Connection {
            net: self.net.clone(),
            target,
            addr,
            peer,
        }
    }
}

pub struct Connection {
    net: Net,
    target: NodeId,
    addr: Option<Multiaddr>,
    peer: Option<PeerId>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Msg(String);

type RpcErr<E = openraft::error::Infallible> = RPCError<NodeId, BasicNode, RaftError<NodeId, E>>;

impl Connection {
    async fn call<E: std::error::Error>(
        &self,
        req: MetaRequest,
        ttl: Duration,
    ) -> Result<MetaResponse, RpcErr<E>> {
        let Some(peer) = self.peer else {
            return Err(RPCError::Unreachable(Unreachable::new(&Msg(format!(
                "node {} has no usable address",
                self.target
            )))));
        };
        let body = rpc::encode(&req);
        match self
            .net
            .meta_request(peer, self.addr.clone(), body, ttl)
            .await
        {
            Ok(bytes) => {
                rpc::decode(&bytes).map_err(|e| RPCError::Network(NetworkError::new(&Msg(e))))
            }
            Err(e @ NetError::Unreachable(..)) | Err(e @ NetError::Stopped) => {
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }

    fn unexpected<E: std::error::Error>(&self) -> RpcErr<E> {
        RPCError::Network(NetworkError::new(&Msg(format!(
            "node {} answered with the wrong message",
            self.target
        ))))
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RpcErr> {
        match self
            .call(MetaRequest::AppendEntries(rpc), option.hard_ttl())
            .await?
        {
            MetaResponse::AppendEntries(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(self.unexpected()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RpcErr<InstallSnapshotError>> {
        match self
            .call(MetaRequest::InstallSnapshot(rpc), option.hard_ttl())
            .await?
        {
            MetaResponse::InstallSnapshot(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(self.unexpected()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RpcErr> {
        match self.call(MetaRequest::Vote(rpc), option.hard_ttl()).await? {
            MetaResponse::Vote(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(self.unexpected()),
        }
    }
}
