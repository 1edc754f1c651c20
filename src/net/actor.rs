//! The network actor: owns the `Swarm`, `select!`s over swarm events and
//! handle commands, and keeps pending requests and queries keyed by their
//! ids. Nothing here blocks; no lock is taken.

use super::*;
use crate::wire::{Request, Response};
use futures::StreamExt;
use libp2p::{
    core::transport::ListenerId,
    identify, kad, mdns, noise,
    request_response::{self, OutboundRequestId, ProtocolSupport},
    swarm::{behaviour::toggle::Toggle, NetworkBehaviour, SwarmEvent},
    tcp, yamux, StreamProtocol, Swarm, SwarmBuilder,
};
use std::{
    collections::{HashMap, HashSet},
    sync::atomic::Ordering,
    time::Instant,
};

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    /// First: a denied connection reaches no other behaviour.
    gate: super::gate::Gate,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    identify: identify::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
    frag: request_response::Behaviour<FragmentCodec>,
    meta: request_response::Behaviour<BytesCodec>,
}

#[derive(Default)]
struct PeerState {
    addrs: Vec<Multiaddr>,
    agent: String,
    storage: bool,
    meta: bool,
    identified: bool,
}

/// Listeners still to report an address, and who waits for them.
type Ready = (HashSet<ListenerId>, oneshot::Sender<Result<(), NetError>>);

struct Actor {
    swarm: Swarm<Behaviour>,
    rx: mpsc::Receiver<Command>,
    /// Cloned into each [`Reply`] so answers come back through the actor.
    tx: mpsc::Sender<Command>,
    inbound: mpsc::Sender<Inbound>,
    meta_inbound: mpsc::Sender<MetaInbound>,
    meta_pending: HashMap<OutboundRequestId, oneshot::Sender<Result<bytes::Bytes, NetError>>>,
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<Response, NetError>>>,
    providers: HashMap<kad::QueryId, (HashSet<PeerId>, oneshot::Sender<super::Lookup>)>,
    discovers: HashMap<kad::QueryId, oneshot::Sender<()>>,
    peers: HashMap<PeerId, PeerState>,
    listen: Vec<Multiaddr>,
    ready: Option<Ready>,
    counters: Arc<NetCounters>,
    request_timeout: Duration,
    last_bootstrap: Option<Instant>,
    /// The next walk of a young node's early schedule ([`EARLY_WALKS`]).
    early_walk: usize,
}

/// When a node walks the DHT again after it starts, whoever it met: a peer
/// that joined a moment before us may not yet have been in our bootstrap
/// peer's table when we first asked, and nothing else would tell us of it
/// before Kademlia's periodic walk (minutes later).
const EARLY_WALKS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
];

fn build_swarm(
    keypair: Keypair,
    cfg: &NetConfig,
    counters: Arc<NetCounters>,
) -> Result<Swarm<Behaviour>, NetError> {
    let build = |e: &dyn std::fmt::Display| NetError::Build(e.to_string());
    let mdns_on = cfg.mdns;
    let serve = cfg.serve;
    let meta_on = cfg.meta;
    let request_timeout = cfg.request_timeout;
    let parallelism = cfg.lookup_parallelism;
    let gate = cfg.gate.clone();
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| build(&e))?
        .with_quic()
        .with_behaviour(|key| {
            let peer_id = key.public().to_peer_id();
            let mut kcfg = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
            kcfg.set_query_timeout(Duration::from_secs(30));
            kcfg.set_parallelism(parallelism);
            // Held fragments are re-announced every hour and their records
            // live four hours: a peer that vanishes stops being named soon.
            kcfg.set_provider_publication_interval(Some(Duration::from_secs(3600)));
            kcfg.set_provider_record_ttl(Some(Duration::from_secs(4 * 3600)));
            let store = kad::store::MemoryStore::with_config(
                peer_id,
                kad::store::MemoryStoreConfig {
                    max_records: 65_536,
                    max_value_bytes: 65 * 1024,
                    max_providers_per_key: 32,
                    max_provided_keys: 10_000_000,
                },
            );
            let mut kad = kad::Behaviour::with_config(peer_id, store, kcfg);
            kad.set_mode(Some(if serve {
                kad::Mode::Server
            } else {
                kad::Mode::Client
            }));
            let identify = identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL.to_string(), key.public())
                    .with_agent_version(format!("fragfs/{}", env!("CARGO_PKG_VERSION"))),
            );
            let mdns = if mdns_on {
                Some(mdns::tokio::Behaviour::new(
                    mdns::Config::default(),
                    peer_id,
                )?)
            } else {
                None
            };
            let support = if serve {
                ProtocolSupport::Full
            } else {
                ProtocolSupport::Outbound
            };
            let frag = request_response::Behaviour::with_codec(
                FragmentCodec::new(counters.clone()),
                [(StreamProtocol::new(FRAGMENT_PROTOCOL), support)],
                request_response::Config::default()
                    .with_request_timeout(request_timeout)
                    .with_max_concurrent_streams(256),
            );
            let meta_support = if meta_on {
                ProtocolSupport::Full
            } else {
                ProtocolSupport::Outbound
            };
            let meta = request_response::Behaviour::with_codec(
                BytesCodec::new(counters.clone()),
                [(StreamProtocol::new(META_PROTOCOL), meta_support)],
                request_response::Config::default()
                    .with_request_timeout(request_timeout)
                    .with_max_concurrent_streams(256),
            );
            Ok(Behaviour {
                gate: super::gate::build(gate.as_deref()),
                kad,
                identify,
                mdns: Toggle::from(mdns),
                frag,
                meta,
            })
        })
        .map_err(|e| build(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(cfg.idle_timeout))
        .build();
    Ok(swarm)
}

fn strip_peer(addr: &Multiaddr) -> (Multiaddr, Option<PeerId>) {
    let mut out = Multiaddr::empty();
    let mut peer = None;
    for p in addr.iter() {
        match p {
            libp2p::multiaddr::Protocol::P2p(id) => peer = Some(id),
            other => out.push(other),
        }
    }
    (out, peer)
}

pub(super) async fn start(
    keypair: Keypair,
    cfg: NetConfig,
    tasks: &Tasks,
) -> Result<(Net, Inbox), NetError> {
    let peer_id = keypair.public().to_peer_id();
    let identity = keypair.clone();
    let counters = Arc::new(NetCounters::default());
    let mut swarm = build_swarm(keypair, &cfg, counters.clone())?;
    let mut waiting = HashSet::new();
    for addr in &cfg.listen {
        let id = swarm
            .listen_on(addr.clone())
            .map_err(|e| NetError::Listen(addr.clone(), e.to_string()))?;
        waiting.insert(id);
    }
    for addr in &cfg.bootstrap {
        let (bare, peer) = strip_peer(addr);
        if let Some(peer) = peer {
            swarm.behaviour_mut().kad.add_address(&peer, bare);
        }
        if let Err(e) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, error = %e, "cannot dial bootstrap peer");
        }
    }
    let (tx, rx) = mpsc::channel(1024);
    let (inbound_tx, inbound_rx) = mpsc::channel(256);
    let (meta_tx, meta_rx) = mpsc::channel(256);
    let (ready_tx, ready_rx) = oneshot::channel();
    let ready = if waiting.is_empty() {
        let _ = ready_tx.send(Ok(()));
        None
    } else {
        Some((waiting, ready_tx))
    };
    let actor = Actor {
        swarm,
        rx,
        tx: tx.clone(),
        inbound: inbound_tx,
        meta_inbound: meta_tx,
        meta_pending: HashMap::new(),
        pending: HashMap::new(),
        providers: HashMap::new(),
        discovers: HashMap::new(),
        peers: HashMap::new(),
        listen: Vec::new(),
        ready,
        counters: counters.clone(),
        request_timeout: cfg.request_timeout,
        last_bootstrap: None,
        early_walk: 0,
    };
    tasks.spawn("net-actor", actor.run());
    match tokio::time::timeout(cfg.listen_timeout, ready_rx).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => return Err(e),
        Ok(Err(_)) => return Err(NetError::Stopped),
        Err(_) => tracing::warn!(
            "listeners did not report an address within {:?}",
            cfg.listen_timeout
        ),
    }
    Ok((
        Net {
            tx,
            peer_id,
            identity,
            counters,
        },
        Inbox {
            fragments: inbound_rx,
            meta: meta_rx,
        },
    ))
}

/// What a failed outbound request means to the caller.
fn outbound_error(
    peer: PeerId,
    error: request_response::OutboundFailure,
    timeout: Duration,
) -> NetError {
    use request_response::OutboundFailure;
    match error {
        OutboundFailure::Timeout => NetError::Timeout(peer, timeout),
        OutboundFailure::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            NetError::Protocol(peer, e.to_string())
        }
        other => NetError::Unreachable(peer, other.to_string()),
    }
}

impl Actor {
    async fn run(mut self) {
        let started = tokio::time::Instant::now();
        let walk = tokio::time::sleep(EARLY_WALKS[0]);
        tokio::pin!(walk);
        loop {
            tokio::select! {
                cmd = self.rx.recv() => match cmd {
                    None | Some(Command::Shutdown) => break,
                    Some(cmd) => self.on_command(cmd),
                },
                event = self.swarm.select_next_some() => self.on_event(event),
                () = &mut walk, if self.early_walk < EARLY_WALKS.len() => {
                    self.walk_again();
                    if let Some(next) = EARLY_WALKS.get(self.early_walk) {
                        walk.as_mut().reset(started + *next);
                    }
                }
            }
        }
        tracing::debug!("network actor stopped");
    }

    /// One walk of the early schedule, when the node knows a DHT peer.
    fn walk_again(&mut self) {
        self.early_walk += 1;
        if self.swarm.behaviour_mut().kad.bootstrap().is_ok() {
            self.last_bootstrap = Some(Instant::now());
        }
    }

    fn on_command(&mut self, cmd: Command) {
        let b = self.swarm.behaviour_mut();
        match cmd {
            Command::Request {
                peer,
                request,
                reply,
            } => {
                self.counters.requests_out.fetch_add(1, Ordering::Relaxed);
                let id = b.frag.send_request(&peer, request);
                self.pending.insert(id, reply);
            }
            Command::Respond { channel, response } => {
                if b.frag.send_response(channel, response).is_err() {
                    tracing::debug!("response not sent: the asking peer went away");
                }
            }
            Command::MetaRequest {
                peer,
                addr,
                body,
                reply,
            } => {
                if let Some(a) = addr {
                    let (bare, _) = strip_peer(&a);
                    self.swarm.add_peer_address(peer, bare);
                }
                let id = self.swarm.behaviour_mut().meta.send_request(&peer, body);
                self.meta_pending.insert(id, reply);
            }
            Command::MetaRespond { channel, body } => {
                if b.meta.send_response(channel, body).is_err() {
                    tracing::debug!("metadata response not sent: the asking peer went away");
                }
            }
            Command::Provide { key } => {
                if let Err(e) = b.kad.start_providing(key) {
                    tracing::warn!(error = %e, "cannot announce fragment");
                }
            }
            Command::Unprovide { key } => b.kad.stop_providing(&key),
            Command::FindProviders { key, reply } => {
                let id = b.kad.get_providers(key);
                self.providers.insert(id, (HashSet::new(), reply));
            }
            Command::Peers { reply } => {
                let list = self
                    .peers
                    .iter()
                    .filter(|(_, s)| s.identified)
                    .map(|(p, s)| PeerInfo {
                        peer_id: *p,
                        addrs: s.addrs.clone(),
                        agent: s.agent.clone(),
                        storage: s.storage,
                        meta: s.meta,
                    })
                    .collect();
                let _ = reply.send(list);
            }
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.listen.clone());
            }
            Command::Dial { addr, reply } => {
                let (bare, peer) = strip_peer(&addr);
                if let Some(peer) = peer {
                    self.swarm.behaviour_mut().kad.add_address(&peer, bare);
                }
                let r = self
                    .swarm
                    .dial(addr.clone())
                    .map_err(|e| NetError::Address(addr.to_string(), e.to_string()));
                let _ = reply.send(r);
            }
            Command::Discover { reply } => match b.kad.bootstrap() {
                Ok(id) => {
                    self.last_bootstrap = Some(Instant::now());
                    self.discovers.insert(id, reply);
                }
                Err(_) => {
                    let _ = reply.send(());
                }
            },
            Command::Allow { peers } => {
                let cut = super::gate::set(&mut b.gate, &peers);
                if cut > 0 {
                    tracing::info!(peers = cut, "peers no longer allowed: connections closed");
                }
            }
            Command::AllowOne { peer } => {
                if let Some(gate) = b.gate.as_mut() {
                    gate.allow_peer(peer);
                }
            }
            Command::Shutdown => {}
        }
    }

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                let full = with_peer(&address, *self.swarm.local_peer_id());
                tracing::info!(address = %full, "listening");
                self.listen.push(full);
                if let Some((waiting, _)) = &mut self.ready {
                    waiting.remove(&listener_id);
                    if waiting.is_empty() {
                        if let Some((_, tx)) = self.ready.take() {
                            let _ = tx.send(Ok(()));
                        }
                    }
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let full = with_peer(&address, *self.swarm.local_peer_id());
                self.listen.retain(|a| a != &full);
            }
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => {
                tracing::warn!(?addresses, ?reason, "listener closed");
                if let (Err(e), Some((_, tx))) = (reason, self.ready.take()) {
                    let addr = addresses.first().cloned().unwrap_or_else(Multiaddr::empty);
                    let _ = tx.send(Err(NetError::Listen(addr, e.to_string())));
                }
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                self.peers.entry(peer_id).or_default();
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } => {
                tracing::debug!(%peer_id, ?cause, "disconnected");
                self.peers.remove(&peer_id);
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => {
                tracing::debug!(%send_back_addr, %error, "incoming connection failed");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(?peer_id, %error, "outgoing connection failed");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(e)) => self.on_identify(e),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(e)) => self.on_mdns(e),
            SwarmEvent::Behaviour(BehaviourEvent::Kad(e)) => self.on_kad(e),
            SwarmEvent::Behaviour(BehaviourEvent::Frag(e)) => self.on_frag(e),
            SwarmEvent::Behaviour(BehaviourEvent::Meta(e)) => self.on_meta(e),
            _ => {}
        }
    }

    fn on_identify(&mut self, event: identify::Event) {
        let identify::Event::Received { peer_id, info, .. } = event else {
            return;
        };
        let kad_proto = StreamProtocol::new(KAD_PROTOCOL);
        let frag_proto = StreamProtocol::new(FRAGMENT_PROTOCOL);
        let serves_kad = info.protocols.contains(&kad_proto);
        let storage = info.protocols.contains(&frag_proto);
        let meta = info.protocols.contains(&StreamProtocol::new(META_PROTOCOL));
        for addr in &info.listen_addrs {
            self.swarm.add_peer_address(peer_id, addr.clone());
            if serves_kad {
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer_id, addr.clone());
            }
        }
        let state = self.peers.entry(peer_id).or_default();
        let newly = !state.identified;
        state.identified = true;
        state.storage = storage;
        state.meta = meta;
        state.agent = info.agent_version;
        state.addrs = info.listen_addrs;
        if newly && serves_kad {
            tracing::info!(%peer_id, storage, "peer identified");
            // A new DHT peer: walk the DHT again (at most every 2 s) so we
            // learn the rest of the network through it.
            let due = self
                .last_bootstrap
                .is_none_or(|t| t.elapsed() > Duration::from_secs(2));
            if due && self.swarm.behaviour_mut().kad.bootstrap().is_ok() {
                self.last_bootstrap = Some(Instant::now());
            }
        }
    }

    fn on_mdns(&mut self, event: mdns::Event) {
        if let mdns::Event::Discovered(found) = event {
            for (peer, addr) in found {
                if self.swarm.is_connected(&peer) {
                    continue;
                }
                tracing::debug!(%peer, %addr, "found on the local network");
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, addr.clone());
                let _ = self.swarm.dial(addr);
            }
        }
    }

    fn on_kad(&mut self, event: kad::Event) {
        let kad::Event::OutboundQueryProgressed {
            id,
            result,
            step,
            stats,
        } = event
        else {
            return;
        };
        match result {
            kad::QueryResult::GetProviders(r) => {
                let mut finish = step.last;
                if let Some((found, _)) = self.providers.get_mut(&id) {
                    match r {
                        Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) => {
                            found.extend(providers);
                            // The first answer is enough to start fetching.
                            finish |= !found.is_empty();
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::debug!(error = %e, "provider lookup failed");
                            finish = true;
                        }
                    }
                }
                if finish {
                    if let Some((found, reply)) = self.providers.remove(&id) {
                        let _ = reply.send(super::Lookup {
                            providers: found.into_iter().collect(),
                            requests: stats.num_requests(),
                            elapsed: stats.duration().unwrap_or_default(),
                        });
                    }
                    if let Some(mut q) = self.swarm.behaviour_mut().kad.query_mut(&id) {
                        q.finish();
                    }
                }
            }
            kad::QueryResult::Bootstrap(_) if step.last => {
                if let Some(reply) = self.discovers.remove(&id) {
                    let _ = reply.send(());
                }
            }
            kad::QueryResult::StartProviding(Err(e))
            | kad::QueryResult::RepublishProvider(Err(e)) => {
                tracing::debug!(error = %e, "announcing a fragment reached fewer peers than hoped");
            }
            _ => {}
        }
    }

    fn on_meta(&mut self, event: request_response::Event<bytes::Bytes, bytes::Bytes>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let inbound = MetaInbound {
                    peer,
                    body: request,
                    reply: MetaReply {
                        channel,
                        tx: self.tx.clone(),
                    },
                };
                if let Err(e) = self.meta_inbound.try_send(inbound) {
                    tracing::warn!(%peer, "metadata request dropped: {e}");
                }
            }
            Event::Message {
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(tx) = self.meta_pending.remove(&request_id) {
                    let _ = tx.send(Ok(response));
                }
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                let err = outbound_error(peer, error, self.request_timeout);
                if let Some(tx) = self.meta_pending.remove(&request_id) {
                    let _ = tx.send(Err(err));
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound metadata request failed")
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn on_frag(&mut self, event: request_response::Event<Request, Response>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                self.counters.requests_in.fetch_add(1, Ordering::Relaxed);
                let inbound = Inbound {
                    peer,
                    request,
                    reply: Reply {
                        channel,
                        tx: self.tx.clone(),
                    },
                };
                if let Err(e) = self.inbound.try_send(inbound) {
                    let inbound = match e {
                        mpsc::error::TrySendError::Full(i)
                        | mpsc::error::TrySendError::Closed(i) => i,
                    };
                    let busy = Response::Failed {
                        reason: "node busy or stopping".into(),
                    };
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .frag
                        .send_response(inbound.reply.channel, busy);
                }
            }
            Event::Message {
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(tx) = self.pending.remove(&request_id) {
                    let _ = tx.send(Ok(response));
                }
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                self.counters.failures_out.fetch_add(1, Ordering::Relaxed);
                let err = outbound_error(peer, error, self.request_timeout);
                if let Some(tx) = self.pending.remove(&request_id) {
                    let _ = tx.send(Err(err));
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                // Decoding failures are counted by the codec.
                tracing::debug!(%peer, %error, "inbound request failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }
}
