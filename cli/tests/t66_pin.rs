//! `fragfs pin`, `unpin` and `pins` through real node processes on
//! 127.0.0.1: a pinned file's fragments are fetched to the pinning node,
//! a new version brings exactly its changed fragment, unpinning stops
//! that, and pins survive a restart.

use crate::common;
use common::{
    cli::{assert_one_line_error, fragfs, start_node, stderr, wait_until, NodeProc},
    random_bytes,
};
use fragfs::{
    fragment::{FragmentId, HashAlgo},
    net::{self, PeerId},
};
use serde_json::Value;
use std::{path::Path, process::Output, time::Duration};

/// The fragment size the test puts with (`--fragment-size 64K`).
const FRAG: usize = 64 * 1024;
const PATH: &str = "/docs/f.bin";

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("JSON")
}

fn pin_fetched(node: &NodeProc) -> u64 {
    json(&fragfs(&["status", "--json"], &node.data))["pin_fetched_fragments"]
        .as_u64()
        .expect("pin_fetched_fragments")
}

fn peer_id(node: &NodeProc) -> PeerId {
    node.addr.rsplit('/').next().unwrap().parse().unwrap()
}

fn storage_peers(node: &NodeProc) -> usize {
    let o = fragfs(&["peers", "--json"], &node.data);
    if !o.status.success() {
        return 0;
    }
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|p| p["storage"] == true)
        .count()
}

fn wait_for_peers(node: &NodeProc, n: usize) {
    assert!(
        wait_until(Duration::from_secs(30), || storage_peers(node) >= n),
        "node did not see {n} storage peers"
    );
}

/// The head's fragment ids (hex), in file order.
fn head_fragments(node: &NodeProc) -> Vec<String> {
    let info = json(&fragfs(&["info", PATH, "--json"], &node.data));
    info["fragments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// Whether `node`'s store holds fragment `id` (`store/DESIGN.md`).
fn holds(node: &NodeProc, id: &str) -> bool {
    node.data
        .join("store/fragments")
        .join(&id[4..6])
        .join(id)
        .is_file()
}

/// Whether a put with 2 replicas places `fragment` on `node` among `peers`
/// (the 2 peers closest to its id in Kademlia's XOR metric).
fn placed_on(fragment: &[u8], peers: &[PeerId], node: PeerId) -> bool {
    let target = net::dht_key_of_fragment(&FragmentId::of(HashAlgo::Sha3_256, fragment));
    let mut ranked: Vec<([u8; 32], PeerId)> = peers
        .iter()
        .map(|p| {
            let key = net::dht_key_of_peer(p);
            (std::array::from_fn(|i| key[i] ^ target[i]), *p)
        })
        .collect();
    ranked.sort();
    ranked.iter().take(2).any(|(_, p)| *p == node)
}

/// `data` with fragment `index` changed so that a put does not place the
/// new fragment on `avoid`: the pinning node can only get it by fetching.
fn change_fragment(data: &[u8], index: usize, peers: &[PeerId], avoid: PeerId) -> Vec<u8> {
    let range = index * FRAG..(index + 1) * FRAG;
    for k in 1..=255u8 {
        let mut out = data.to_vec();
        out[range.start] ^= k;
        if !placed_on(&out[range.clone()], peers, avoid) {
            return out;
        }
    }
    panic!("no change of one byte keeps the fragment off the node")
}

/// Stores `data` at PATH through `node` with 2 replicas and 64 KiB
/// fragments.
fn put(node: &NodeProc, dir: &Path, data: &[u8]) {
    let src = dir.join("src.bin");
    std::fs::write(&src, data).unwrap();
    let o = fragfs(
        &[
            "put",
            src.to_str().unwrap(),
            PATH,
            "--replicas",
            "2",
            "--fragment-size",
            "64K",
        ],
        &node.data,
    );
    assert!(o.status.success(), "put: {}", stderr(&o));
}

#[test]
fn t10_a_pinned_file_follows_its_versions_until_unpinned() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &[]);
    let b = start_node(&tmp.path().join("b"), &["--peer", &a.addr]);
    wait_for_peers(&a, 1);
    let v1 = random_bytes(3 * FRAG);
    put(&a, tmp.path(), &v1);

    // Node c joins after the put: it holds none of the file.
    let mut c = start_node(&tmp.path().join("c"), &["--peer", &a.addr]);
    wait_for_peers(&c, 2);
    wait_for_peers(&a, 2);
    let peers = [peer_id(&a), peer_id(&b), peer_id(&c)];
    let frags = head_fragments(&c);
    assert_eq!(frags.len(), 3);
    assert!(frags.iter().all(|f| !holds(&c, f)));

    let o = fragfs(&["pin", PATH], &c.data);
    assert!(o.status.success(), "pin: {}", stderr(&o));
    assert!(frags.iter().all(|f| holds(&c, f)), "every fragment fetched");
    assert_eq!(pin_fetched(&c), 3);
    let pins = json(&fragfs(&["pins", "--json"], &c.data));
    assert_eq!(pins["pins"][0]["path"], PATH);
    assert_eq!(pins["pins"][0]["held"], 3);
    assert_eq!(pins["pin_fetched_fragments"], 3);

    // A new version changing fragment 1 brings exactly that fragment.
    let v2 = change_fragment(&v1, 1, &peers, peers[2]);
    put(&a, tmp.path(), &v2);
    let frags2 = head_fragments(&c);
    assert_eq!(
        (frags2[0] == frags[0], frags2[1] == frags[1]),
        (true, false)
    );
    assert!(
        wait_until(Duration::from_secs(30), || pin_fetched(&c) >= 4),
        "the new fragment was not fetched"
    );
    assert!(holds(&c, &frags2[1]));
    assert_eq!(pin_fetched(&c), 4, "only the changed fragment");

    // Unpinned: a later version is not fetched. Nothing can be awaited for
    // a fetch that must not happen: give the watcher a few seconds.
    let o = fragfs(&["unpin", PATH], &c.data);
    assert!(o.status.success(), "unpin: {}", stderr(&o));
    let v3 = change_fragment(&v2, 2, &peers, peers[2]);
    put(&a, tmp.path(), &v3);
    let frags3 = head_fragments(&c);
    assert!(!wait_until(Duration::from_secs(3), || pin_fetched(&c) != 4));
    assert!(!holds(&c, &frags3[2]));
    assert_one_line_error(&fragfs(&["unpin", PATH], &c.data), "is not pinned");

    // Pinned again, then restarted: the pin is still there and follows
    // the next version.
    let o = fragfs(&["pin", "/docs"], &c.data);
    assert!(o.status.success(), "pin a directory: {}", stderr(&o));
    assert!(holds(&c, &frags3[2]));
    assert_eq!(pin_fetched(&c), 5);
    assert!(c.proc.terminate(), "node c stops");
    drop(c);
    c = start_node(&tmp.path().join("c"), &["--peer", &a.addr]);
    wait_for_peers(&c, 2);
    wait_for_peers(&a, 2);
    let pins = json(&fragfs(&["pin", "--list", "--json"], &c.data));
    assert_eq!(pins["pins"].as_array().unwrap().len(), 1, "{pins}");
    assert_eq!(pins["pins"][0]["path"], PATH);
    let v4 = change_fragment(&v3, 0, &peers, peers[2]);
    put(&a, tmp.path(), &v4);
    let frags4 = head_fragments(&c);
    assert!(
        wait_until(Duration::from_secs(30), || holds(&c, &frags4[0])),
        "the pin was not followed after a restart"
    );
    assert!(wait_until(Duration::from_secs(10), || pin_fetched(&c) == 1));
}

#[test]
fn t20_bad_pins_give_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_node(&tmp.path().join("a"), &[]);
    assert_one_line_error(&fragfs(&["pin", "/nothing"], &a.data), "/nothing");
    assert!(fragfs(&["mkdir", "/empty"], &a.data).status.success());
    assert_one_line_error(&fragfs(&["pin", "/empty"], &a.data), "no regular file");
    assert_one_line_error(&fragfs(&["unpin", "/empty"], &a.data), "is not pinned");
    let o = fragfs(&["pin"], &a.data);
    assert!(!o.status.success());
}
