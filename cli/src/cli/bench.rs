//! `fragfs bench`: put and get throughput of one file across 4 local peers
//! with 3 replicas and across 7 with Reed–Solomon `rs:4+2`, the bytes the
//! stores hold per data byte for each, and how fast repair restores the
//! copies of a stopped peer on the spare one (`bench_repair`), beside the
//! raw fragment-hash speed and a plain local file copy of the same size,
//! in the same run.
//!
//! The file is written and read by a light client, so every fragment crosses
//! the network (loopback TCP, noise, yamux) to three peers on put and from
//! the peers on get; every copy is hashed by the peer that stores it, and
//! every fetched fragment and the whole file are verified on get.

use super::bench_repair;
use crate::{
    client::{ClientConfig, Progress},
    fragment::{FileHasher, HashAlgo},
    node::localnet::LocalNet,
    redundancy::Redundancy,
    units,
};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::{
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// File size.
    #[arg(long, default_value = "256M", value_parser = units::parse_bytes)]
    pub size: u64,
    /// Fragment hash of the fragfs runs: sha3-256, blake3, or both.
    #[arg(long, default_value = "both")]
    pub hash: String,
    /// Directory for the data (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

fn row(what: &str, bytes: u64, d: Duration, base: Option<f64>) -> f64 {
    let v = mbps(bytes, d);
    match base {
        Some(b) => println!(
            "{what:<44} {v:>9.1} MB/s  {:>6.2}x local copy  ({:.2} s)",
            v / b,
            d.as_secs_f64()
        ),
        None => println!(
            "{what:<44} {v:>9.1} MB/s                   ({:.2} s)",
            d.as_secs_f64()
        ),
    }
    v
}

fn local_copy(src: &Path, dst: &Path) -> Result<Duration> {
    let t = Instant::now();
    std::fs::copy(src, dst)?;
    std::fs::File::open(dst)?.sync_all()?;
    Ok(t.elapsed())
}

pub async fn run(a: BenchArgs) -> Result<()> {
    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let base = a.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&base)?;
    let algos: Vec<HashAlgo> = match a.hash.as_str() {
        "both" => vec![HashAlgo::Sha3_256, HashAlgo::Blake3],
        other => vec![other.parse().map_err(anyhow::Error::msg)?],
    };
    let size = a.size;
    println!(
        "fragfs bench: {} file, 1 MiB fragments, peers on 127.0.0.1: 4 for 3 replicas, 7 for rs:4+2 (one spare for repair)",
        units::format_bytes(size)
    );
    println!(
        "(cores: {})",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    let src = base.join("bench-src.bin");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&src)?);
        let mut buf = vec![0u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            rand::fill(&mut buf[..]);
            let n = left.min(buf.len() as u64) as usize;
            f.write_all(&buf[..n])?;
            left -= n as u64;
        }
        f.flush()?;
    }
    let data = std::fs::read(&src)?;

    let copy = local_copy(&src, &base.join("bench-copy.bin"))?;
    let base_mbps = row("local file copy (cp + fsync, warm cache)", size, copy, None);
    std::fs::remove_file(base.join("bench-copy.bin"))?;
    for algo in [HashAlgo::Sha3_256, HashAlgo::Blake3] {
        let t = Instant::now();
        let mut h = FileHasher::new();
        if algo == HashAlgo::Sha3_256 {
            h.update(&data);
        } else {
            std::hint::black_box(fragfs_hash::blake3(&data));
        }
        std::hint::black_box(h.finish());
        row(
            &format!("raw {} hash, one core", algo.name()),
            size,
            t.elapsed(),
            Some(base_mbps),
        );
    }
    drop(data);

    for algo in algos {
        let cfg = ClientConfig {
            hash: algo,
            ..ClientConfig::default()
        };
        let label = format!("{} ids, R=3", algo.name());
        network_run(
            &base.join(format!("net-{}", algo.name())),
            &src,
            3,
            cfg,
            &label,
            base_mbps,
        )
        .await?;
    }
    // Reed–Solomon rs:4+2: 6 shards on 6 peers, 1.5 bytes stored per byte.
    let cfg = ClientConfig {
        redundancy: Redundancy::reed_solomon(4, 2)?,
        ..ClientConfig::default()
    };
    network_run(
        &base.join("net-rs"),
        &src,
        6,
        cfg,
        "sha3-256 ids, rs:4+2",
        base_mbps,
    )
    .await?;
    let _ = std::fs::remove_file(&src);
    Ok(())
}

/// Puts and gets `src` through a light client on `peers` fresh local
/// peers with `cfg`, printing both rates and the bytes stored per byte.
async fn network_run(
    dir: &Path,
    src: &Path,
    peers: usize,
    cfg: ClientConfig,
    label: &str,
    base_mbps: f64,
) -> Result<()> {
    let size = std::fs::metadata(src)?.len();
    // One spare peer for repair to restore the stopped one's copies on.
    let peers = peers + 1;
    let mut net = LocalNet::start_with(dir, peers, bench_repair::quick_repair).await?;
    if !net.wait_for_mesh(Duration::from_secs(15)).await {
        bail!("the peers did not find each other");
    }
    let client = net
        .light_client(&dir.join("client"), cfg, peers, Duration::from_secs(15))
        .await?;
    let t = Instant::now();
    let put = client.client().put_file(src, None, Progress::new()).await?;
    row(
        &format!("fragfs put, {label}"),
        size,
        t.elapsed(),
        Some(base_mbps),
    );
    let stored: u64 = (0..peers)
        .filter_map(|i| net.node(i).store().map(|s| s.usage().used))
        .sum();
    let out = dir.join("bench-out.bin");
    let t = Instant::now();
    client
        .client()
        .get_file(&put.id, &out, Progress::new())
        .await?;
    row(
        &format!("fragfs get, {label}, verified"),
        size,
        t.elapsed(),
        Some(base_mbps),
    );
    println!(
        "{:<44} {:>9.3} bytes stored per data byte",
        format!("store use, {label}"),
        stored as f64 / size.max(1) as f64
    );
    if std::fs::read(&out)? != std::fs::read(src)? {
        bail!("fetched bytes differ from the source");
    }
    let (restored, secs) = bench_repair::measure(&mut net, put.manifest).await?;
    row(
        &format!("repair after a peer loss, {label}"),
        restored,
        Duration::from_secs_f64(secs),
        Some(base_mbps),
    );
    client.shutdown().await;
    net.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
