//! The network: one actor owns the libp2p `Swarm`; everything else talks to
//! it through [`Net`], a cheap-clone handle whose methods send a command and
//! await a `oneshot` reply.
//!
//! The swarm runs TCP and QUIC (noise + yamux on TCP), Kademlia on a private
//! protocol in server mode (provider records: fragment id → holders),
//! identify (feeds peer addresses into Kademlia), optional mDNS, and a
//! request/response protocol for fragments (`get`, `put`, `has`).
//!
//! **Architecture invariant:** this is the only module that knows libp2p.
//! It knows nothing about stores or files: inbound requests are handed to the
//! node as [`Inbound`] values with a reply handle.

mod actor;
mod codec;
mod gate;

pub use codec::{BytesCodec, FragmentCodec, MAX_META_FRAME, META_FRAMING};
pub use libp2p::{identity::Keypair, Multiaddr, PeerId};

use crate::{fragment::FragmentId, redundancy::NodeId, task::Tasks, wire};
use libp2p::{kad, request_response::ResponseChannel};
use std::{
    path::Path,
    sync::{atomic::AtomicU64, Arc},
    time::Duration,
};
use tokio::sync::{mpsc, oneshot};

/// The fragment request/response protocol.
pub const FRAGMENT_PROTOCOL: &str = "/fragfs/fragment/1";
/// The metadata (Raft and namespace) protocol: opaque frames the meta
/// layer encodes.
pub const META_PROTOCOL: &str = "/fragfs/meta/1";
/// Our private Kademlia protocol: keeps fragfs off the public IPFS DHT.
pub const KAD_PROTOCOL: &str = "/fragfs/kad/1.0.0";
/// The identify protocol version string.
pub const IDENTIFY_PROTOCOL: &str = "/fragfs/id/1.0.0";

/// One DHT provider lookup: who holds the key, and the requests the
/// iterative query sent before the first answer naming a provider ended
/// it. With a lookup parallelism of 1 every request is one hop.
#[derive(Clone, Debug, Default)]
pub struct Lookup {
    pub providers: Vec<PeerId>,
    pub requests: u32,
    pub elapsed: Duration,
}

#[derive(Clone, Debug)]
pub struct NetConfig {
    pub listen: Vec<Multiaddr>,
    pub bootstrap: Vec<Multiaddr>,
    pub mdns: bool,
    /// A storage peer answers fragment requests and serves the DHT; a light
    /// client only asks.
    pub serve: bool,
    /// This peer answers metadata requests (it is a metadata voter).
    pub meta: bool,
    /// libp2p's own bound on one request and its response.
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    /// How long `start` waits for the listeners to come up.
    pub listen_timeout: Duration,
    /// Requests a DHT lookup keeps in flight (Kademlia's alpha; 1 makes
    /// every request of a lookup one hop, as the scale bench counts them).
    pub lookup_parallelism: std::num::NonZeroUsize,
    /// The peers a private network lets connect at start (`gate`); None
    /// for an open network, which lets anyone connect.
    pub gate: Option<Vec<PeerId>>,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            listen: vec![
                "/ip4/0.0.0.0/tcp/0".parse().expect("valid"),
                "/ip4/0.0.0.0/udp/0/quic-v1".parse().expect("valid"),
            ],
            bootstrap: Vec::new(),
            mdns: true,
            serve: true,
            meta: false,
            request_timeout: Duration::from_secs(30),
            // Connections to peers stay up for an hour of silence: placement
            // picks among connected peers.
            idle_timeout: Duration::from_secs(3600),
            listen_timeout: Duration::from_secs(5),
            lookup_parallelism: std::num::NonZeroUsize::new(3).expect("non-zero"),
            gate: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("peer {0} is unreachable: {1}")]
    Unreachable(PeerId, String),
    #[error("peer {0} did not answer within {1:?}")]
    Timeout(PeerId, Duration),
    #[error("peer {0} broke the protocol: {1}")]
    Protocol(PeerId, String),
    #[error("the network service has stopped")]
    Stopped,
    #[error("cannot listen on {0}: {1}")]
    Listen(Multiaddr, String),
    #[error("bad address {0}: {1}")]
    Address(String, String),
    #[error("cannot build the network: {0}")]
    Build(String),
    #[error("identity key file {path}: {reason}")]
    Identity { path: String, reason: String },
}

/// A request that arrived from a peer, with the handle to answer it.
pub struct Inbound {
    pub peer: PeerId,
    pub request: wire::Request,
    pub reply: Reply,
}

/// Answers one inbound request. Dropping it unanswered closes the stream,
/// which the asking peer sees as a failure.
pub struct Reply {
    channel: ResponseChannel<wire::Response>,
    tx: mpsc::Sender<Command>,
}

impl Reply {
    pub async fn send(self, response: wire::Response) {
        let _ = self
            .tx
            .send(Command::Respond {
                channel: self.channel,
                response,
            })
            .await;
    }
}

/// A metadata request from a peer, with the handle to answer it.
pub struct MetaInbound {
    pub peer: PeerId,
    pub body: bytes::Bytes,
    pub reply: MetaReply,
}

pub struct MetaReply {
    channel: ResponseChannel<bytes::Bytes>,
    tx: mpsc::Sender<Command>,
}

impl MetaReply {
    pub async fn send(self, body: bytes::Bytes) {
        let _ = self
            .tx
            .send(Command::MetaRespond {
                channel: self.channel,
                body,
            })
            .await;
    }
}

/// The channels on which a started network delivers inbound requests.
pub struct Inbox {
    pub fragments: mpsc::Receiver<Inbound>,
    pub meta: mpsc::Receiver<MetaInbound>,
}

/// A peer we are connected to and have identified.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    pub peer_id: PeerId,
    pub addrs: Vec<Multiaddr>,
    pub agent: String,
    /// It accepts fragment requests (a storage peer, not a light client).
    pub storage: bool,
    /// It is a metadata voter.
    pub meta: bool,
}

/// Network counters surfaced by `fragfs status`.
#[derive(Debug, Default)]
pub struct NetCounters {
    pub requests_out: AtomicU64,
    pub requests_in: AtomicU64,
    pub failures_out: AtomicU64,
    pub malformed_in: AtomicU64,
}

pub(crate) enum Command {
    Request {
        peer: PeerId,
        request: wire::Request,
        reply: oneshot::Sender<Result<wire::Response, NetError>>,
    },
    Respond {
        channel: ResponseChannel<wire::Response>,
        response: wire::Response,
    },
    MetaRequest {
        peer: PeerId,
        addr: Option<Multiaddr>,
        body: bytes::Bytes,
        reply: oneshot::Sender<Result<bytes::Bytes, NetError>>,
    },
    MetaRespond {
        channel: ResponseChannel<bytes::Bytes>,
        body: bytes::Bytes,
    },
    Provide {
        key: kad::RecordKey,
    },
    Unprovide {
        key: kad::RecordKey,
    },
    FindProviders {
        key: kad::RecordKey,
        reply: oneshot::Sender<Lookup>,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerInfo>>,
    },
    ListenAddrs {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    Dial {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    Discover {
        reply: oneshot::Sender<()>,
    },
    Allow {
        peers: std::collections::HashSet<PeerId>,
    },
    AllowOne {
        peer: PeerId,
    },
    Shutdown,
}

/// The handle to the network actor. Cheap to clone.
#[derive(Clone)]
pub struct Net {
    tx: mpsc::Sender<Command>,
    peer_id: PeerId,
    /// The node's own key, for what it signs ([`Net::sign`]).
    identity: Keypair,
    pub counters: Arc<NetCounters>,
}

/// Loads the node's ed25519 identity from `path`, creating it (mode 0600) on
/// first start.
pub fn load_or_create_identity(path: &Path) -> Result<Keypair, NetError> {
    let err = |reason: String| NetError::Identity {
        path: path.display().to_string(),
        reason,
    };
    match read_key_file(path) {
        Ok(bytes) if bytes.len() > MAX_KEY_FILE => Err(err(format!(
            "unreadable key: longer than {MAX_KEY_FILE} bytes"
        ))),
        Ok(bytes) => {
            Keypair::from_protobuf_encoding(&bytes).map_err(|e| err(format!("unreadable key: {e}")))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keypair::generate_ed25519();
            let bytes = key.to_protobuf_encoding().map_err(|e| err(e.to_string()))?;
            write_private(path, &bytes).map_err(|e| err(e.to_string()))?;
            Ok(key)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

/// A peer id's key pair from a 32-byte ed25519 secret (a ticket's
/// guest).
pub fn keypair_from_secret(secret: [u8; 32]) -> Keypair {
    let secret = libp2p::identity::ed25519::SecretKey::try_from_bytes(secret)
        .expect("any 32 bytes are an ed25519 secret key");
    Keypair::from(libp2p::identity::ed25519::Keypair::from(secret))
}

/// Whether `signature` over `message` was made by `peer`'s key (an
/// ed25519 peer id carries its public key).
pub fn verify_peer_signature(peer: &PeerId, message: &[u8], signature: &[u8]) -> bool {
    let mh = peer.as_ref();
    if mh.code() != 0 {
        // Not an identity multihash: the key is not in the id.
        return false;
    }
    match libp2p::identity::PublicKey::try_decode_protobuf(mh.digest()) {
        Ok(key) => key.verify(message, signature),
        Err(_) => false,
    }
}

/// A new random ed25519 key pair and its 32-byte secret.
pub fn new_secret_keypair() -> ([u8; 32], Keypair) {
    let secret: [u8; 32] = rand::random();
    (secret, keypair_from_secret(secret))
}

/// Longest identity file read: an ed25519 key takes 68 bytes.
const MAX_KEY_FILE: usize = 4096;

/// The identity file's bytes, at most one past [`MAX_KEY_FILE`].
fn read_key_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_KEY_FILE as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The DHT key of a fragment.
pub fn record_key(id: &FragmentId) -> kad::RecordKey {
    kad::RecordKey::new(&id.to_bytes())
}

/// The 32-byte Kademlia key of a fragment (SHA-256 of its id bytes, as
/// Kademlia computes distances).
pub fn dht_key_of_fragment(id: &FragmentId) -> [u8; 32] {
    to32(kad::KBucketKey::new(record_key(id)).hashed_bytes())
}

/// The 32-byte Kademlia key of a peer.
pub fn dht_key_of_peer(peer: &PeerId) -> [u8; 32] {
    to32(kad::KBucketKey::from(*peer).hashed_bytes())
}

fn to32(b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&b[..32]);
    out
}

pub fn node_id(peer: &PeerId) -> NodeId {
    NodeId(peer.to_bytes())
}

pub fn peer_of(node: &NodeId) -> Option<PeerId> {
    PeerId::from_bytes(&node.0).ok()
}

/// The address other nodes should use for this one: the first listen
/// address that is not loopback, else the first.
pub fn advertised(addrs: &[Multiaddr]) -> Option<Multiaddr> {
    use libp2p::multiaddr::Protocol;
    let loopback = |a: &Multiaddr| {
        a.iter().any(|p| match p {
            Protocol::Ip4(ip) => ip.is_loopback() || ip.is_unspecified(),
            Protocol::Ip6(ip) => ip.is_loopback() || ip.is_unspecified(),
            _ => false,
        })
    };
    addrs
        .iter()
        .find(|a| !loopback(a))
        .or_else(|| addrs.first())
        .cloned()
}

/// The peer id an address ends with (`…/p2p/<peer id>`).
pub fn peer_in(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

/// Appends `/p2p/<peer>` to an address unless it already names a peer.
pub fn with_peer(addr: &Multiaddr, peer: PeerId) -> Multiaddr {
    if addr
        .iter()
        .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
    {
        addr.clone()
    } else {
        addr.clone().with(libp2p::multiaddr::Protocol::P2p(peer))
    }
}

impl Net {
    /// Builds the swarm, starts listening and dialling the bootstrap peers,
    /// and spawns the actor on `tasks`. Returns once every listener has an
    /// address (or `listen_timeout` passed).
    pub async fn start(
        keypair: Keypair,
        cfg: NetConfig,
        tasks: &Tasks,
    ) -> Result<(Net, Inbox), NetError> {
        actor::start(keypair, cfg, tasks).await
    }

    pub fn local_peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// `message` signed with this node's key: checked by
    /// [`verify_peer_signature`] against its peer id. (An ed25519 key
    /// always signs; an empty signature, refused by every check, stands
    /// for a key that could not.)
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.identity.sign(message).unwrap_or_default()
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// Sends `request` to `peer` and waits at most `deadline` for the answer.
    pub async fn request(
        &self,
        peer: PeerId,
        request: wire::Request,
        deadline: Duration,
    ) -> Result<wire::Response, NetError> {
        let fut = self.call(|reply| Command::Request {
            peer,
            request,
            reply,
        });
        match tokio::time::timeout(deadline, fut).await {
            Ok(r) => r?,
            Err(_) => Err(NetError::Timeout(peer, deadline)),
        }
    }

    /// Sends a metadata request (an opaque body) to `peer`, dialling `addr`
    /// if given, and waits at most `deadline` for the answer.
    pub async fn meta_request(
        &self,
        peer: PeerId,
        addr: Option<Multiaddr>,
        body: bytes::Bytes,
        deadline: Duration,
    ) -> Result<bytes::Bytes, NetError> {
        let fut = self.call(|reply| Command::MetaRequest {
            peer,
            addr,
            body,
            reply,
        });
        match tokio::time::timeout(deadline, fut).await {
            Ok(r) => r?,
            Err(_) => Err(NetError::Timeout(peer, deadline)),
        }
    }

    /// Connected peers that are metadata voters.
    pub async fn meta_peers(&self) -> Vec<PeerInfo> {
        self.peers().await.into_iter().filter(|p| p.meta).collect()
    }

    /// Announces in the DHT that this node holds `id` (republished by
    /// Kademlia while held).
    pub async fn provide(&self, id: &FragmentId) {
        let _ = self
            .tx
            .send(Command::Provide {
                key: record_key(id),
            })
            .await;
    }

    pub async fn unprovide(&self, id: &FragmentId) {
        let _ = self
            .tx
            .send(Command::Unprovide {
                key: record_key(id),
            })
            .await;
    }

    /// Peers the DHT says hold `id` (not including this node), within
    /// `deadline`. An empty list when none are found in time.
    pub async fn find_providers(&self, id: &FragmentId, deadline: Duration) -> Vec<PeerId> {
        self.lookup_providers(id, deadline)
            .await
            .map(|l| l.providers)
            .unwrap_or_default()
    }

    /// A provider lookup of `id` with what it cost (requests sent and
    /// answered); None when it did not end within `deadline`.
    pub async fn lookup_providers(&self, id: &FragmentId, deadline: Duration) -> Option<Lookup> {
        let fut = self.call(|reply| Command::FindProviders {
            key: record_key(id),
            reply,
        });
        tokio::time::timeout(deadline, fut).await.ok()?.ok()
    }

    /// Connected, identified peers.
    pub async fn peers(&self) -> Vec<PeerInfo> {
        self.call(|reply| Command::Peers { reply })
            .await
            .unwrap_or_default()
    }

    /// Connected peers that store fragments.
    pub async fn storage_peers(&self) -> Vec<PeerInfo> {
        self.peers()
            .await
            .into_iter()
            .filter(|p| p.storage)
            .collect()
    }

    /// This node's listen addresses, each ending in `/p2p/<peer id>`.
    pub async fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.call(|reply| Command::ListenAddrs { reply })
            .await
            .unwrap_or_default()
    }

    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NetError> {
        self.call(|reply| Command::Dial { addr, reply }).await?
    }

    /// Runs a Kademlia bootstrap (a walk towards our own id that connects us
    /// to more peers) and waits for it, at most `deadline`.
    pub async fn discover(&self, deadline: Duration) {
        let _ =
            tokio::time::timeout(deadline, self.call(|reply| Command::Discover { reply })).await;
    }

    /// Lets `peer` through a private network's gate now (a member just
    /// admitted, a guest just invited), before the gate is next set whole.
    pub async fn allow_one(&self, peer: PeerId) {
        let _ = self.tx.send(Command::AllowOne { peer }).await;
    }

    /// Makes `peers` the only ones a private network's gate lets connect:
    /// connections of any other peer close now. Does nothing on an open
    /// network.
    pub async fn allow(&self, peers: std::collections::HashSet<PeerId>) {
        let _ = self.tx.send(Command::Allow { peers }).await;
    }

    /// Stops the actor: listeners close and connections drop.
    pub async fn shutdown(&self) {
        let _ = self.tx.send(Command::Shutdown).await;
    }
}
