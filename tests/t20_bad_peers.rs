//! Corrupt copies on disk and lying peers never corrupt a download: bad bytes
//! are detected by hash, discarded, and fetched from another holder; a
//! holder's corrupt copy is quarantined and repaired by its scrubber.

use crate::common;
use common::*;
use fragfs::{
    client::{ClientError, Progress},
    net,
    wire::{Request, Response},
};
use std::{sync::atomic::Ordering, time::Duration};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_flipped_byte_on_disk_is_detected_not_served_and_repaired() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 3).await;
    let data = random_bytes(600_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let put = small_fragments(net.node(0).client())
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();

    // Flip one byte of fragment 4 on the holder the light client asks first
    // (a fetch of fragment i starts at holder i mod #holders).
    let index = 4;
    let frag = &put.manifest.fragments[index];
    let first = &frag.holders[index % frag.holders.len()];
    let bad = (0..3)
        .find(|&i| net::node_id(&net.node(i).peer_id()) == *first)
        .unwrap();
    let store = net.node(bad).store().unwrap().clone();
    let path = store.path_for_test(&frag.id);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    let client = light_client(&net, &tmp.path().join("light"), 3).await;
    let out = tmp.path().join("out.bin");
    let progress = Progress::new();
    client
        .client()
        .get_file(&put.id, &out, progress.clone())
        .await
        .expect("download succeeds from another holder");
    assert_eq!(std::fs::read(&out).unwrap(), data);
    assert!(progress.retries.load(Ordering::Relaxed) >= 1);

    // The bad copy was found, reported and moved aside; the node's
    // scrubber then fetched a good copy from another holder, and that is
    // what it serves.
    assert_eq!(store.counters.corrupt_found.load(Ordering::Relaxed), 1);
    let quarantined: Vec<_> = std::fs::read_dir(store.root().join("corrupt"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(quarantined, vec![bytes.clone()]);
    let mut good = bytes;
    good[1000] ^= 0x01;
    let repaired = async {
        while net.node(bad).scrub_counts().repaired == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), repaired)
        .await
        .expect("the corrupt copy was repaired");
    assert_eq!(std::fs::read(&path).unwrap(), good);
    assert_eq!(net.node(bad).scrub_counts().repaired, 1);
    let answer = client
        .net()
        .request(
            net.node(bad).peer_id(),
            Request::Get { id: frag.id },
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(answer, Response::Data { data: good.into() });
    client.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_lying_peer_never_corrupts_a_download() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 3).await;
    let data = random_bytes(1_000_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let put = small_fragments(net.node(0).client())
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();
    net.node(1).set_lying(true);

    let client = light_client(&net, &tmp.path().join("light"), 3).await;
    let out = tmp.path().join("out.bin");
    let progress = Progress::new();
    client
        .client()
        .get_file(&put.id, &out, progress.clone())
        .await
        .expect("download succeeds");
    assert_eq!(std::fs::read(&out).unwrap(), data);
    assert!(
        progress.corrupt.load(Ordering::Relaxed) >= 1,
        "the liar was asked and caught"
    );
    client.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_when_every_holder_lies_the_get_fails_and_leaves_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 3).await;
    let data = random_bytes(200_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let put = small_fragments(net.node(0).client())
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();
    let client = light_client(&net, &tmp.path().join("light"), 3).await;
    // Fetch the manifest while everyone is honest, then all start lying.
    for i in 0..3 {
        net.node(i).set_lying(true);
    }
    let out = tmp.path().join("out.bin");
    let err = client
        .client()
        .get_file(&put.id, &out, Progress::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("do not match"), "{err}");
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("fragfs-part"))
        .collect();
    assert!(leftovers.is_empty(), "no partial file left behind");
    client.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_a_stalled_holder_is_hedged_around() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 3).await;
    let data = random_bytes(800_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let put = small_fragments(net.node(0).client())
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();
    // Peer 1 holds everything but answers nothing for a minute.
    net.node(1).set_stall(Duration::from_secs(60));
    let client = light_client(&net, &tmp.path().join("light"), 3).await;
    // Attempts may wait 60 s, but each fragment must arrive within 10 s:
    // only asking another holder while the first is silent can make it.
    let cfg = fragfs::client::ClientConfig {
        attempt_timeout: Duration::from_secs(60),
        fragment_deadline: Duration::from_secs(10),
        hedge_after: Duration::from_millis(300),
        ..client.client().config().clone()
    };
    let out = tmp.path().join("out.bin");
    let started = std::time::Instant::now();
    client
        .client()
        .with_config(cfg)
        .get_file(&put.id, &out, Progress::new())
        .await
        .expect("hedged download");
    assert_eq!(std::fs::read(&out).unwrap(), data);
    assert!(started.elapsed() < Duration::from_secs(10));
    net.node(1).set_stall(Duration::ZERO);
    client.shutdown().await;
    net.shutdown().await;
}

/// A verified slice (part of a BLAKE3 fragment with the tree hashes that
/// link it to the id) comes back byte for byte; a liar's slice does not
/// open and the next holder is asked; a copy corrupt on disk is refused by
/// its holder and moved aside; a SHA3 fragment cannot be sliced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_slices_are_verified_and_a_bad_one_is_fetched_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let net = mesh(tmp.path(), 3).await;
    let data = random_bytes(300_000);
    let src = tmp.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let blake3 = {
        let c = small_fragments(net.node(0).client());
        let cfg = fragfs::client::ClientConfig {
            hash: fragfs::fragment::HashAlgo::Blake3,
            ..c.config().clone()
        };
        c.with_config(cfg)
    };
    let put = blake3.put_file(&src, None, Progress::new()).await.unwrap();
    let client = light_client(&net, &tmp.path().join("light"), 3).await;
    let c = client.client();
    let (index, frag) = (2, &put.manifest.fragments[2]);
    let at = index * 64 * 1024;
    for (start, len) in [(0u32, 4096u32), (5000, 3000), (60_000, 10_000)] {
        let got = c
            .fetch_slice(&frag.id, &frag.holders, index, start, len)
            .await
            .expect("a slice");
        let end = (start + len).min(frag.len) as usize;
        assert!(
            got[..] == data[at + start as usize..at + end],
            "{start}+{len}"
        );
    }

    // A liar: its slice does not open, and a fetch asking it first gets
    // the right bytes from another holder.
    let liar = 1;
    net.node(liar).set_lying(true);
    let ask = |peer| {
        c.net().request(
            peer,
            Request::GetSlice {
                id: frag.id,
                start: 8192,
                len: 4096,
            },
            Duration::from_secs(10),
        )
    };
    let Response::Data { data: lie } = ask(net.node(liar).peer_id()).await.unwrap() else {
        panic!("the liar answers with data");
    };
    let root = frag.id.digest();
    assert!(fragfs_hash::slices::open(&lie, root, 8192, 4096).is_err());
    let liar_first: Vec<_> = std::iter::once(net::node_id(&net.node(liar).peer_id()))
        .chain(frag.holders.iter().cloned())
        .collect();
    let got = c
        .fetch_slice(&frag.id, &liar_first, 0, 8192, 4096)
        .await
        .expect("a slice from an honest holder");
    assert!(got[..] == data[at + 8192..at + 8192 + 4096]);
    net.node(liar).set_lying(false);

    // A copy changed on disk after its tree was built: refused, moved aside.
    let bad = 0;
    let store = net.node(bad).store().unwrap().clone();
    assert!(matches!(
        ask(net.node(bad).peer_id()).await.unwrap(),
        Response::Data { .. }
    ));
    let path = store.path_for_test(&frag.id);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8192 + 100] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(
        ask(net.node(bad).peer_id()).await.unwrap(),
        Response::Corrupt
    );
    assert_eq!(store.counters.corrupt_found.load(Ordering::Relaxed), 1);
    let moved: Vec<_> = std::fs::read_dir(store.root().join("corrupt"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(moved, vec![bytes], "the corrupt copy was moved aside");

    // SHA3 ids name no tree: no slice.
    let sha3 = small_fragments(net.node(0).client())
        .put_file(&src, None, Progress::new())
        .await
        .unwrap();
    let f = &sha3.manifest.fragments[0];
    assert!(c.fetch_slice(&f.id, &f.holders, 0, 0, 4096).await.is_err());
    client.shutdown().await;
    net.shutdown().await;
}
