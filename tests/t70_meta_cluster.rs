//! The metadata service on real peers: a one-member cluster by default,
//! voters added over libp2p, writes forwarded to the leader from any node,
//! linearizable reads, a clear error when no quorum is reachable, and the
//! change feed heard on voters and non-voters.

use crate::common;
use common::*;
use fragfs::{
    meta::{Caller, Command, FsError, MetaError, Notice, Query, QueryReply, Reply, Time, ROOT},
    node::{localnet::LocalNet, NodeConfig},
};
use std::time::Duration;

fn voter(cfg: &mut NodeConfig) {
    cfg.meta.voter = true;
    cfg.meta.write_timeout = Duration::from_secs(3);
}

fn mkdir(parent: u64, name: &str) -> Command {
    Command::Mkdir {
        parent,
        name: name.into(),
        perm: 0o755,
        caller: Caller::ROOT,
        now: Time { secs: 1, nanos: 0 },
    }
}

/// Starts `n` voters; peer 0 initialises the cluster and adds the others.
pub async fn meta_cluster(base: &std::path::Path, n: usize) -> LocalNet {
    init_tracing();
    let net = LocalNet::start_with(base, n, voter)
        .await
        .expect("peers start");
    assert!(net.wait_for_mesh(MESH_DEADLINE).await);
    assert!(
        net.node(0)
            .meta()
            .wait_for_leader(Duration::from_secs(10))
            .await
            .is_some(),
        "peer 0 leads its own cluster"
    );
    for i in 1..n {
        let addr = net.node(i).listen_addrs().await[0].clone();
        net.node(0)
            .meta()
            .add_voter(&addr)
            .await
            .unwrap_or_else(|e| panic!("add voter {i}: {e}"));
    }
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_three_voters_replicate_and_forward() {
    let tmp = tempfile::tempdir().unwrap();
    let net = meta_cluster(tmp.path(), 3).await;
    let st = net.node(0).meta().status();
    assert_eq!(st.voters.len(), 3, "{st:?}");

    // Writes through every node, including followers.
    for i in 0..3 {
        let r = net
            .node(i)
            .meta()
            .write(mkdir(ROOT, &format!("d{i}")))
            .await
            .expect("write");
        assert!(matches!(r, Reply::Attr(_)));
    }
    // The namespace answers with its own errors through the leader.
    let e = net
        .node(1)
        .meta()
        .write(mkdir(ROOT, "d0"))
        .await
        .unwrap_err();
    assert!(matches!(e, MetaError::Fs(FsError::Exists)), "{e}");

    // A linearizable read on any node sees every write.
    for i in 0..3 {
        let a = net
            .node(i)
            .meta()
            .read(Query::List { path: "/".into() })
            .await
            .unwrap();
        assert!(!a.stale);
        let QueryReply::Listing(rows) = a.reply else {
            panic!()
        };
        let names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["d0", "d1", "d2"], "through node {i}");
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_writes_fail_fast_without_quorum_and_reads_are_marked_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = meta_cluster(tmp.path(), 3).await;
    net.node(2)
        .meta()
        .write(mkdir(ROOT, "before"))
        .await
        .unwrap();
    // The write is committed once a majority has it; wait until node 2's
    // own replica has applied it too before its peers go away.
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while net
        .node(2)
        .meta()
        .local_namespace()
        .unwrap()
        .resolve("/before")
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < until,
            "node 2 never applied the write"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    net.stop(0).await;
    net.stop(1).await;
    let started = std::time::Instant::now();
    let e = net
        .node(2)
        .meta()
        .write(mkdir(ROOT, "after"))
        .await
        .unwrap_err();
    assert!(matches!(e, MetaError::NoQuorum(_)), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed within its deadline"
    );
    let a = net
        .node(2)
        .meta()
        .read(Query::Stat {
            path: "/before".into(),
        })
        .await
        .unwrap();
    assert!(a.stale, "answered from the local replica, marked stale");
    assert!(matches!(a.reply, QueryReply::Attr(_)));
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_malformed_metadata_messages_are_refused_and_the_voter_keeps_going() {
    use futures::StreamExt;
    use libp2p::{request_response, swarm::SwarmEvent};
    let tmp = tempfile::tempdir().unwrap();
    let net = meta_cluster(tmp.path(), 1).await;
    let addr = net.node(0).listen_addrs().await[0].clone();
    let mut swarm = raw_swarm(fragfs::net::META_PROTOCOL, addr);
    let peer = net.node(0).peer_id();
    // Framed garbage (version 1, undecodable body), a framed unknown
    // version, a change poll with a bad `since`, and a frame announcing 4 GiB.
    let msgs = [
        vec![0u8, 0, 0, 5, 1, 0xff, 0xff, 0xff, 0xff],
        vec![0, 0, 0, 3, 9, 1, 2],
        vec![0, 0, 0, 3, 1, 7, 2],
        u32::MAX.to_be_bytes().to_vec(),
    ];
    let mut answered = 0;
    let mut failed = 0;
    for m in &msgs {
        swarm.behaviour_mut().send_request(&peer, m.clone());
    }
    while answered + failed < msgs.len() {
        match tokio::time::timeout(Duration::from_secs(20), swarm.select_next_some())
            .await
            .expect("an outcome per message")
        {
            SwarmEvent::Behaviour(request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            }) => {
                // A decodable frame with a bad body is answered "malformed".
                let r: fragfs::meta::rpc::MetaResponse =
                    fragfs::meta::rpc::decode(&response[4..]).unwrap();
                assert!(
                    matches!(r, fragfs::meta::rpc::MetaResponse::Malformed(_)),
                    "{r:?}"
                );
                answered += 1;
            }
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure { .. }) => failed += 1,
            _ => {}
        }
    }
    assert_eq!(
        answered, 3,
        "three well-framed bodies were answered as malformed"
    );
    assert_eq!(failed, 1, "the oversize frame was refused");
    net.node(0)
        .meta()
        .write(mkdir(ROOT, "still-works"))
        .await
        .unwrap();
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_a_voter_restarted_on_a_new_port_catches_up() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = meta_cluster(tmp.path(), 3).await;
    net.node(0).meta().write(mkdir(ROOT, "one")).await.unwrap();
    let old = net.node(2).listen_addrs().await[0].clone();
    net.restart(2).await.unwrap();
    let new = net.node(2).listen_addrs().await[0].clone();
    assert_ne!(old, new, "a new random port");
    net.node(0).meta().write(mkdir(ROOT, "two")).await.unwrap();
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let names: Vec<String> = net
            .node(2)
            .meta()
            .local_namespace()
            .unwrap()
            .walk()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        if names == ["/one", "/two"] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "restarted voter did not catch up: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    net.shutdown().await;
}

/// The next notice on `rx` that says what changed, within 10 s.
async fn next_change(
    rx: &mut tokio::sync::broadcast::Receiver<Notice>,
) -> (u64, fragfs::meta::Changes) {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Ok(Notice::Changed { index, changes })) => return (index, (*changes).clone()),
            Ok(Ok(Notice::Reset { .. })) => {}
            Ok(Err(e)) => panic!("change feed: {e}"),
            Err(_) => panic!("no change heard within 10 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t30_voters_and_non_voters_hear_what_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let net = meta_cluster(tmp.path(), 3).await;
    let light = light_client(&net, &tmp.path().join("light"), 3).await;
    assert!(!light.meta().is_voter());
    let mut on_voter = net.node(2).meta().subscribe_changes();
    let mut on_light = light.meta().subscribe_changes();
    // A non-voter's feed starts with a reset where it found the log.
    let first = tokio::time::timeout(Duration::from_secs(10), on_light.recv())
        .await
        .expect("the non-voter reached a voter")
        .unwrap();
    assert!(matches!(first, Notice::Reset { .. }), "{first:?}");

    let Reply::Attr(d) = light.meta().write(mkdir(ROOT, "seen")).await.unwrap() else {
        panic!("mkdir answers attributes")
    };
    let (i_voter, c_voter) = next_change(&mut on_voter).await;
    let (i_light, c_light) = next_change(&mut on_light).await;
    assert_eq!(i_voter, i_light, "one log index everywhere");
    assert_eq!(c_voter, c_light);
    assert_eq!(c_voter.inodes, [ROOT, d.ino].into_iter().collect());
    assert_eq!(
        c_voter.entries,
        [(ROOT, "seen".to_string())].into_iter().collect()
    );

    // A failed command changes nothing: the next notice is the next change.
    net.node(0)
        .meta()
        .write(mkdir(ROOT, "seen"))
        .await
        .unwrap_err();
    net.node(0)
        .meta()
        .write(mkdir(d.ino, "inner"))
        .await
        .unwrap();
    for rx in [&mut on_voter, &mut on_light] {
        let (i, c) = next_change(rx).await;
        assert!(i > i_voter);
        assert!(c.entries.contains(&(d.ino, "inner".to_string())), "{c:?}");
    }
    assert!(light.shutdown().await, "the non-voter stops cleanly");
    net.shutdown().await;
}
