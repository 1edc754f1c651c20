//! A private network (real peers on 127.0.0.1, TCP and QUIC): a stranger
//! started with only the founder's address gets nothing (no connection
//! lasts, no DHT answer, no fragment, no namespace); a ticket admits one
//! peer once; a revoked member's connections close and its requests are
//! refused.

use crate::common;

use fragfs::{
    client::{ClientConfig, Progress},
    fragment::FragmentId,
    meta::{members::Role, Query},
    net::Multiaddr,
    node::{Node, NodeConfig, NodeError},
    redundancy::Replicas,
    trust::Ticket,
};
use std::{path::Path, time::Duration};

const WAIT: Duration = Duration::from_secs(20);

/// A private network's founder listening on TCP and QUIC.
async fn founder(dir: &Path) -> Node {
    common::init_tracing();
    let mut cfg = NodeConfig::loopback(dir);
    cfg.open = false;
    cfg.meta.voter = true;
    cfg.net.listen = vec![
        "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        "/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap(),
    ];
    let node = Node::start(cfg).await.expect("founder starts");
    assert!(node.meta().wait_for_leader(WAIT).await.is_some());
    let until = tokio::time::Instant::now() + WAIT;
    while node
        .members()
        .await
        .and_then(|m| m.founding().cloned())
        .is_none()
    {
        assert!(
            tokio::time::Instant::now() < until,
            "the network is founded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node
}

/// The founder's address on `proto` ("tcp" or "quic-v1").
async fn addr_on(node: &Node, proto: &str) -> Multiaddr {
    let addrs = node.listen_addrs().await;
    addrs
        .into_iter()
        .find(|a| a.to_string().contains(&format!("/{proto}")))
        .expect("an address on the protocol")
}

/// A storage peer started with `bootstrap` and, maybe, a ticket.
async fn peer(
    dir: &Path,
    bootstrap: Vec<Multiaddr>,
    ticket: Option<&str>,
) -> Result<Node, NodeError> {
    let mut cfg = NodeConfig::loopback(dir);
    cfg.open = false;
    cfg.net.bootstrap = bootstrap;
    cfg.join = ticket.map(|t| Ticket::parse(t, fragfs::meta::Time::now()).expect("a good ticket"));
    Node::start(cfg).await
}

async fn put_sample(node: &Node, dir: &Path) -> (FragmentId, Vec<u8>) {
    let bytes = common::random_bytes(300_000);
    let src = dir.join("sample");
    std::fs::write(&src, &bytes).unwrap();
    let cfg = ClientConfig {
        replicas: Replicas::new(1).unwrap(),
        ..ClientConfig::default()
    };
    let client = node.client().with_config(cfg);
    let put = client
        .put_file(&src, None, Progress::new())
        .await
        .expect("put on the founder");
    (put.id, bytes)
}

/// The file `id` fetched through `node`, or why not.
async fn fetch(node: &Node, id: &FragmentId, dir: &Path) -> Result<Vec<u8>, String> {
    let out = dir.join(format!("out-{}", node.peer_id()));
    let got = tokio::time::timeout(
        Duration::from_secs(15),
        node.client().get_file(id, &out, Progress::new()),
    )
    .await;
    match got {
        Ok(Ok(_)) => std::fs::read(&out).map_err(|e| e.to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

/// Waits until `check` holds, at most [`WAIT`].
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    let until = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(tokio::time::Instant::now() < until, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a stranger can get from the founder over `proto`: nothing.
async fn stranger_gets_nothing(proto: &str) {
    let dir = tempfile::tempdir().unwrap();
    let a = founder(&dir.path().join("a")).await;
    let (id, _) = put_sample(&a, dir.path()).await;
    let addr = addr_on(&a, proto).await;
    let s = peer(&dir.path().join("s"), vec![addr], None)
        .await
        .expect("starts");
    // It dialled; give the connection the time a member's would take.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        s.net().peers().await.is_empty(),
        "no connection lasts ({proto})"
    );
    assert!(
        a.net().peers().await.is_empty(),
        "the founder holds none ({proto})"
    );
    let lookup = s.net().lookup_providers(&id, Duration::from_secs(3)).await;
    assert!(
        lookup.is_none_or(|l| l.providers.is_empty()),
        "no DHT answer ({proto})"
    );
    assert!(
        fetch(&s, &id, dir.path()).await.is_err(),
        "no fragment ({proto})"
    );
    let read = s.meta().read(Query::Stat { path: "/".into() }).await;
    assert!(read.is_err(), "no namespace ({proto})");
    s.shutdown().await;
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_a_stranger_gets_nothing_over_tcp() {
    stranger_gets_nothing("tcp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_a_stranger_gets_nothing_over_quic() {
    stranger_gets_nothing("quic-v1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_a_ticket_admits_one_peer_once_and_revoking_cuts_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let a = founder(&dir.path().join("a")).await;
    let (id, bytes) = put_sample(&a, dir.path()).await;
    let ticket = a
        .invite(Role::Storage, Duration::from_secs(600))
        .await
        .expect("a ticket");

    let b = peer(&dir.path().join("b"), vec![], Some(&ticket))
        .await
        .expect("b joins");
    assert!(
        b.wait_for_storage_peers(1, WAIT).await,
        "b meets the founder"
    );
    let got = fetch(&b, &id, dir.path()).await.expect("a member fetches");
    assert_eq!(got, bytes);
    let listing = b.meta().read(Query::Stat { path: "/".into() }).await;
    assert!(listing.is_ok(), "a member reads the namespace");
    let members = a.members().await.expect("members");
    let entry = members
        .members()
        .get(&b.peer_id().to_bytes())
        .expect("b is a member");
    assert_eq!(entry.role, Role::Storage);
    assert_eq!(entry.invited_by, a.peer_id().to_bytes());

    // The same ticket again: refused, with the reason.
    let again = peer(&dir.path().join("c"), vec![], Some(&ticket)).await;
    match again {
        Err(NodeError::Join(why)) => assert!(why.contains("already used"), "{why}"),
        Err(e) => panic!("a used ticket is refused as used, not {e}"),
        Ok(_) => panic!("a used ticket admitted a second peer"),
    }

    // Revoked: its connection closes and it is refused from then on.
    let (a_id, b_id) = (a.peer_id(), b.peer_id());
    a.revoke(&b_id.to_string()).await.expect("revoke");
    eventually("the founder drops b", || async {
        !a.net().peers().await.iter().any(|p| p.peer_id == b_id)
    })
    .await;
    eventually("b loses the founder", || async {
        !b.net().peers().await.iter().any(|p| p.peer_id == a_id)
    })
    .await;
    let _ = b.net().dial(addr_on(&a, "tcp").await).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(b.net().peers().await.is_empty(), "b cannot connect again");
    assert!(
        fetch(&b, &id, dir.path()).await.is_err(),
        "b fetches nothing more"
    );
    b.shutdown().await;
    a.shutdown().await;
}
