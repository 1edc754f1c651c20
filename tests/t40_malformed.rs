//! Malformed, oversize and unexpected messages sent to a node are rejected
//! and logged; the node keeps serving.

use crate::common;
use common::*;
use fragfs::{
    client::Progress,
    fragment::{FragmentId, HashAlgo},
    net::FRAGMENT_PROTOCOL,
    wire,
};
use futures::StreamExt;
use libp2p::{request_response, swarm::SwarmEvent};
use std::{collections::HashMap, sync::atomic::Ordering, time::Duration};

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_malformed_and_oversize_messages_do_not_crash_a_node() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 3).await;
    let target = net.node(0);
    let addr = target.listen_addrs().await[0].clone();

    // Plain TCP garbage at the listener first.
    let tcp_addr = addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
        _ => None,
    });
    if let Some(port) = tcp_addr {
        use tokio::io::AsyncWriteExt as _;
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let _ = s.write_all(&[0xffu8; 4096]).await;
        drop(s);
    }

    let mut swarm = raw_swarm(FRAGMENT_PROTOCOL, addr);
    let peer = target.peer_id();

    let id = FragmentId::of(HashAlgo::Sha3_256, b"the real bytes");
    let mut short_put = wire::Request::Put {
        id,
        data: bytes::Bytes::from_static(b"abc"),
    }
    .to_frame()
    .unwrap();
    short_put.pop(); // header says 3 bytes of payload, 2 follow
    let len = short_put.len() as u32 - 4;
    short_put[..4].copy_from_slice(&len.to_be_bytes());
    let mut bad_msgs: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"hello, this is not a frame".to_vec()),
        ("oversize prefix", u32::MAX.to_be_bytes().to_vec()),
        (
            "just over the limit",
            ((wire::MAX_FRAME + 1) as u32).to_be_bytes().to_vec(),
        ),
        ("unknown version", frame(&[9, 0, 0])),
        ("bad header", frame(&[wire::WIRE_VERSION, 0xee, 0xff, 0xff])),
        ("payload shorter than announced", short_put),
        ("truncated frame", {
            let mut f = 100u32.to_be_bytes().to_vec();
            f.extend_from_slice(&[1, 0]);
            f
        }),
        ("empty frame", 0u32.to_be_bytes().to_vec()),
    ];
    let too_many: Vec<FragmentId> = (0..wire::MAX_HAS_IDS as u32 + 1)
        .map(|i| FragmentId::of(HashAlgo::Blake3, &i.to_be_bytes()))
        .collect();
    bad_msgs.push((
        "has-query over the limit",
        wire::Request::Has { ids: too_many }.to_frame().unwrap(),
    ));
    // Well-formed but wrong: bytes that do not hash to the id.
    let wrong_put = wire::Request::Put {
        id,
        data: bytes::Bytes::from_static(b"other bytes"),
    }
    .to_frame()
    .unwrap();

    let mut pending = HashMap::new();
    for (name, msg) in &bad_msgs {
        pending.insert(
            swarm.behaviour_mut().send_request(&peer, msg.clone()),
            *name,
        );
    }
    let wrong_id = swarm.behaviour_mut().send_request(&peer, wrong_put);
    let mut wrong_answer = None;
    let mut failed = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(pending.is_empty() && wrong_answer.is_some()) {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .expect("answers within the deadline");
        match ev {
            SwarmEvent::Behaviour(request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            }) => {
                if request_id == wrong_id {
                    wrong_answer = Some(response);
                } else {
                    panic!(
                        "malformed request {:?} got an answer",
                        pending.get(&request_id)
                    );
                }
            }
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                request_id, ..
            }) => {
                if let Some(name) = pending.remove(&request_id) {
                    failed.push(name);
                }
                assert_ne!(
                    request_id, wrong_id,
                    "a well-formed request must be answered"
                );
            }
            _ => {}
        }
    }
    assert_eq!(failed.len(), bad_msgs.len());
    let answer = wire::Response::from_body(wire::body_of(&wrong_answer.unwrap()).unwrap()).unwrap();
    assert!(
        matches!(answer, wire::Response::Rejected { ref reason } if reason.contains("do not hash")),
        "{answer:?}"
    );
    assert!(!target.store().unwrap().has(&id));

    // The node logged and counted them, and still works.
    let counted = || target.net().counters.malformed_in.load(Ordering::Relaxed);
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while counted() < bad_msgs.len() as u64 && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        counted(),
        bad_msgs.len() as u64,
        "each malformed request was rejected and counted"
    );
    let data = random_bytes(300_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let put = target
        .client()
        .put_file(&src, None, Progress::new())
        .await
        .expect("node still stores");
    let out = tmp.path().join("out.bin");
    net.node(1)
        .client()
        .get_file(&put.id, &out, Progress::new())
        .await
        .expect("node still serves");
    assert_eq!(std::fs::read(&out).unwrap(), data);
    net.shutdown().await;
}

/// An identity file of a lying size (a sparse terabyte) is refused with a
/// one-line error, without being read into memory.
#[test]
fn t40_an_oversized_identity_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("identity.key");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(1 << 40)
        .unwrap();
    let e = fragfs::net::load_or_create_identity(&path)
        .map(|_| ())
        .expect_err("an oversized key file is refused");
    let text = e.to_string();
    assert!(text.contains("longer than 4096 bytes"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
}
