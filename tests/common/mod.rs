//! Helpers shared by the integration tests: real peers on 127.0.0.1 with
//! random ports, each with its own swarm, store and data directory.
#![allow(dead_code)]

use fragfs::{
    client::{Client, ClientConfig},
    fragment::FragmentSize,
    node::{localnet::LocalNet, Node, NodeConfig},
};
use std::{path::Path, time::Duration};

pub const MESH_DEADLINE: Duration = Duration::from_secs(20);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}

#[allow(unused_imports)]
pub use fragfs::testing::random_bytes;

/// Starts `n` storage peers and waits until each sees all the others.
pub async fn mesh(base: &Path, n: usize) -> LocalNet {
    init_tracing();
    let net = LocalNet::start(base, n).await.expect("peers start");
    assert!(
        net.wait_for_mesh(MESH_DEADLINE).await,
        "peers did not find each other"
    );
    net
}

/// Starts `n` storage peers configured by `tweak`, waits until each sees
/// all the others and until peer 0 leads the metadata.
pub async fn mesh_led(base: &Path, n: usize, tweak: fn(&mut NodeConfig)) -> LocalNet {
    init_tracing();
    let net = LocalNet::start_with(base, n, tweak)
        .await
        .expect("peers start");
    assert!(net.wait_for_mesh(MESH_DEADLINE).await);
    let leader = net.node(0).meta().wait_for_leader(Duration::from_secs(10));
    assert!(leader.await.is_some(), "peer 0 leads");
    net
}

/// A light client (no store, no listener) joined to every running peer of
/// `net`, waiting until it sees `expect` storage peers.
pub async fn light_client(net: &LocalNet, dir: &Path, expect: usize) -> Node {
    net.light_client(dir, ClientConfig::default(), expect, MESH_DEADLINE)
        .await
        .expect("light client joins")
}

/// `client` with 64 KiB fragments, so small files have many fragments.
pub fn small_fragments(client: Client) -> Client {
    let cfg = ClientConfig {
        fragment_size: FragmentSize::new(64 * 1024).unwrap(),
        ..client.config().clone()
    };
    client.with_config(cfg)
}

/// A request/response codec that sends its request bytes verbatim, whatever
/// they are: for feeding malformed messages to a node.
#[derive(Clone, Default)]
pub struct RawCodec;

mod raw {
    use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use libp2p::{request_response, StreamProtocol};
    use std::io;

    impl request_response::Codec for super::RawCodec {
        type Protocol = StreamProtocol;
        type Request = Vec<u8>;
        type Response = Vec<u8>;
        async fn read_request<T: AsyncRead + Unpin + Send>(
            &mut self,
            _: &StreamProtocol,
            _: &mut T,
        ) -> io::Result<Vec<u8>> {
            Err(io::Error::other("outbound only"))
        }
        async fn read_response<T: AsyncRead + Unpin + Send>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
        ) -> io::Result<Vec<u8>> {
            let mut v = Vec::new();
            io.take(1 << 20).read_to_end(&mut v).await?;
            if v.is_empty() {
                // The node closed the stream without answering.
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Ok(v)
        }
        async fn write_request<T: AsyncWrite + Unpin + Send>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
            req: Vec<u8>,
        ) -> io::Result<()> {
            io.write_all(&req).await
        }
        async fn write_response<T: AsyncWrite + Unpin + Send>(
            &mut self,
            _: &StreamProtocol,
            _: &mut T,
            _: Vec<u8>,
        ) -> io::Result<()> {
            Err(io::Error::other("outbound only"))
        }
    }
}

/// A bare swarm speaking `protocol` with [`RawCodec`], dialled to `addr`.
pub fn raw_swarm(
    protocol: &'static str,
    addr: libp2p::Multiaddr,
) -> libp2p::Swarm<libp2p::request_response::Behaviour<RawCodec>> {
    use libp2p::{noise, request_response, tcp, yamux, StreamProtocol, SwarmBuilder};
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp transport")
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                RawCodec,
                [(
                    StreamProtocol::new(protocol),
                    request_response::ProtocolSupport::Outbound,
                )],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            )
        })
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(30)))
        .build();
    swarm.dial(addr).expect("dial");
    swarm
}

/// Stores `bytes` (written to `dir/name` first) through `v`'s client and
/// returns their manifest.
#[allow(dead_code)]
pub async fn store(
    v: &fragfs::volume::Volume,
    dir: &Path,
    name: &str,
    bytes: &[u8],
) -> fragfs::fragment::Manifest {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    v.client()
        .put_file(&path, None, fragfs::client::Progress::new())
        .await
        .expect("put")
        .manifest
}
