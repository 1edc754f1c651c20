//! `fragfs demo`: the whole core on one machine. Three storage peers on
//! 127.0.0.1, a sample file stored with three replicas, fetched back by a
//! light client over the network, then fetched again with one peer stopped.

use crate::{client::Progress, fragment::FileHasher, node::localnet::LocalNet, units};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::{
    path::Path,
    time::{Duration, Instant},
};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Size of the sample file.
    #[arg(long, default_value = "8M", value_parser = units::parse_bytes)]
    pub size: u64,
}

fn sha3_of(path: &Path) -> Result<String> {
    let data = std::fs::read(path)?;
    let mut h = FileHasher::new();
    h.update(&data);
    Ok(hex::encode(h.finish()))
}

fn short(p: &crate::net::PeerId) -> String {
    let s = p.to_string();
    format!("…{}", &s[s.len() - 6..])
}

pub async fn run(a: DemoArgs) -> Result<()> {
    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    println!(
        "== starting 3 peers on 127.0.0.1 (data under {})",
        tmp.path().display()
    );
    let mut net = LocalNet::start(tmp.path(), 3).await?;
    if !net.wait_for_mesh(Duration::from_secs(15)).await {
        bail!("the peers did not find each other within 15 s");
    }
    for i in 0..3 {
        let n = net.node(i);
        println!(
            "   peer {i}: {}  {}",
            n.peer_id(),
            n.listen_addrs()
                .await
                .first()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
    }

    let sample = tmp.path().join("sample.bin");
    let data: Vec<u8> = (0..a.size).map(|_| rand::random::<u8>()).collect();
    std::fs::write(&sample, &data)?;
    println!(
        "== sample file: {} of random bytes, SHA3-256 {}",
        units::format_bytes(a.size),
        sha3_of(&sample)?
    );

    let t = Instant::now();
    let put = net
        .node(0)
        .client()
        .put_file(&sample, None, Progress::new())
        .await?;
    println!(
        "== stored through peer 0 in {:?}; file id (manifest id):\n   {}",
        t.elapsed(),
        put.id
    );
    let names: Vec<(crate::redundancy::NodeId, usize)> = (0..3)
        .map(|i| (crate::net::node_id(&net.node(i).peer_id()), i))
        .collect();
    for (i, f) in put.manifest.fragments.iter().enumerate().take(8) {
        let holders: Vec<String> = f
            .holders
            .iter()
            .map(|h| {
                names
                    .iter()
                    .find(|(n, _)| n == h)
                    .map(|(_, i)| format!("peer {i}"))
                    .unwrap_or_else(|| "?".into())
            })
            .collect();
        println!(
            "   fragment {i:>3} {} {:>9}  on {}",
            f.id.short(),
            units::format_bytes(f.len as u64),
            holders.join(", ")
        );
    }
    if put.manifest.fragments.len() > 8 {
        println!("   … {} fragments in all", put.manifest.fragments.len());
    }

    let client = net
        .light_client(
            &tmp.path().join("client"),
            Default::default(),
            3,
            Duration::from_secs(10),
        )
        .await?;
    let out = tmp.path().join("fetched.bin");
    let t = Instant::now();
    let got = client
        .client()
        .get_file(&put.id, &out, Progress::new())
        .await?;
    let same = std::fs::read(&out)? == data;
    println!(
        "== fetched by a light client over the network in {:?} from {} peer(s): {}",
        t.elapsed(),
        got.peers,
        if same {
            "bytes identical"
        } else {
            "BYTES DIFFER"
        }
    );
    if !same {
        bail!("fetched bytes differ from the sample");
    }

    let stopped = net.node(1).peer_id();
    net.stop(1).await;
    println!("== stopped peer 1 ({})", short(&stopped));
    let out2 = tmp.path().join("fetched-again.bin");
    let t = Instant::now();
    let got = client
        .client()
        .get_file(&put.id, &out2, Progress::new())
        .await?;
    let same = std::fs::read(&out2)? == data;
    println!(
        "== fetched again with peer 1 down in {:?} ({} retries): {}",
        t.elapsed(),
        got.retries,
        if same {
            "bytes identical"
        } else {
            "BYTES DIFFER"
        }
    );
    client.shutdown().await;
    net.shutdown().await;
    if !same {
        bail!("fetched bytes differ from the sample");
    }
    println!("== done; all peers stopped");
    Ok(())
}
