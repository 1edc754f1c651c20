//! `fragfs bench-scale`: a network of many peers in one process (each a
//! full node with its own swarm, store and data directory, talking libp2p
//! over loopback TCP), measuring what only scale shows:
//!
//! - the hops of DHT provider lookups: every peer looks up fragments it
//!   does not hold, with a lookup parallelism of 1 so that each request a
//!   lookup sends is one hop; printed beside log2(N);
//! - repair without any command: after `--kill-percent` of the peers stop
//!   for good, the time until every copy of every file is back on running
//!   peers (the namespace's records naming them, each holding what it is
//!   said to) and the bytes moved;
//! - memory per peer: the process's resident memory grown by starting the
//!   peers, divided by their number (run it with `--peers 10` and
//!   `--peers 50` to see it stay flat; `benches/scale.sh` does).

use crate::{
    client::Progress,
    fragment::{FragmentSize, Manifest},
    lifecycle::RedundancySpec,
    node::{localnet::LocalNet, NodeConfig},
    units,
    volume::Volume,
};
use anyhow::{bail, Context, Result};
use clap::Args;
use rand::{
    seq::{IndexedRandom, SliceRandom},
    Rng,
};
use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
    time::{Duration, Instant},
};

#[derive(Args, Debug)]
pub struct BenchScaleArgs {
    /// Peers in the network.
    #[arg(long, default_value_t = 50)]
    pub peers: usize,
    /// Files stored.
    #[arg(long, default_value_t = 20)]
    pub files: usize,
    /// Size of each file (64 KiB fragments).
    #[arg(long, default_value = "1M", value_parser = units::parse_bytes)]
    pub file_size: u64,
    /// Redundancy of the files: replicas:N or rs:K+M.
    #[arg(long, default_value = "replicas:3")]
    pub redundancy: String,
    /// Provider lookups measured.
    #[arg(long, default_value_t = 200)]
    pub lookups: usize,
    /// Share of the peers stopped for good, in percent (0: no repair run).
    #[arg(long, default_value_t = 10)]
    pub kill_percent: usize,
    /// How long a peer must be unreachable before it is repaired.
    #[arg(long, default_value = "5s")]
    pub repair_after: String,
    /// Directory for the peers' data (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// What every peer's configuration gets (a `LocalNet` tweak is a plain
/// function).
static REPAIR_AFTER: OnceLock<Duration> = OnceLock::new();

fn tweak(cfg: &mut NodeConfig) {
    cfg.meta.voter = cfg.net.bootstrap.is_empty();
    cfg.repair.after = *REPAIR_AFTER.get().unwrap_or(&Duration::from_secs(5));
    cfg.client.fragment_size = FragmentSize::new(65_536).expect("valid");
    cfg.net.lookup_parallelism = std::num::NonZeroUsize::MIN;
}

pub async fn run(a: BenchScaleArgs) -> Result<()> {
    if a.peers < 4 {
        bail!("--peers must be at least 4");
    }
    if a.kill_percent > 50 {
        bail!("--kill-percent must be at most 50 (the rest must hold every copy)");
    }
    let spec = RedundancySpec::parse(a.redundancy.as_bytes())
        .map_err(|e| anyhow::anyhow!("--redundancy: {e}"))?;
    let after = crate::node::parse_repair_after(&a.repair_after).map_err(anyhow::Error::msg)?;
    let _ = REPAIR_AFTER.set(after);
    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let base = a.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    println!(
        "fragfs bench-scale: {} peers on 127.0.0.1 in one process, {} files of {} as {spec}",
        a.peers,
        a.files,
        units::format_bytes(a.file_size)
    );
    let rss0 = rss_bytes();
    let mut net = start(&base, a.peers).await?;
    let files = store_files(&net, &base, &a, spec).await?;
    lookups(&net, &files, a.lookups).await?;
    let grown = rss_bytes().saturating_sub(rss0);
    println!(
        "memory after storing and looking up: {} resident for {} peers, {} per peer",
        units::format_bytes(grown),
        a.peers,
        units::format_bytes(grown / a.peers as u64)
    );
    if a.kill_percent > 0 {
        repair(&mut net, &files, a.kill_percent, after).await?;
    }
    net.shutdown().await;
    Ok(())
}

async fn start(base: &Path, n: usize) -> Result<LocalNet> {
    let rss0 = rss_bytes();
    let t = Instant::now();
    let net = LocalNet::start_with(&base.join("net"), n, tweak).await?;
    let leader = net.node(0).meta().wait_for_leader(Duration::from_secs(30));
    if leader.await.is_none() {
        bail!("no metadata leader within 30 s");
    }
    // Every peer sees enough storage peers to place on.
    let want = (n - 1).min(8);
    for i in 0..n {
        if !net
            .node(i)
            .wait_for_storage_peers(want, Duration::from_secs(60))
            .await
        {
            bail!("peer {i} sees fewer than {want} storage peers after 60 s");
        }
    }
    let grown = rss_bytes().saturating_sub(rss0);
    let mut connected = Vec::new();
    for i in 0..n {
        connected.push(net.node(i).net().storage_peers().await.len());
    }
    connected.sort_unstable();
    println!("started in {:.1} s", t.elapsed().as_secs_f64());
    println!(
        "connections per peer: min {}, median {}, max {}",
        connected[0],
        connected[n / 2],
        connected[n - 1]
    );
    println!(
        "memory: {} resident for {n} peers, {} per peer",
        units::format_bytes(grown),
        units::format_bytes(grown / n as u64)
    );
    Ok(net)
}

/// One stored file: its path, its bytes.
pub(super) struct Stored {
    pub path: String,
    pub data: Vec<u8>,
}

async fn store_files(
    net: &LocalNet,
    base: &Path,
    a: &BenchScaleArgs,
    spec: RedundancySpec,
) -> Result<Vec<Stored>> {
    let v = net.node(0).volume();
    v.mkdir_p("/scale").await?;
    v.set_redundancy("/scale", spec).await?;
    let scheme = spec.redundancy().map_err(anyhow::Error::msg)?;
    let client = v.client().with_config(v.client().config().writing(scheme));
    let local = base.join("file.in");
    let mut out = Vec::new();
    let t = Instant::now();
    for i in 0..a.files {
        let mut data = vec![0u8; a.file_size as usize];
        rand::rng().fill(&mut data[..]);
        std::fs::write(&local, &data)?;
        let r = client.put_file(&local, None, Progress::new()).await?;
        let path = format!("/scale/f{i:04}");
        v.commit_at_path(&path, r.manifest).await?;
        out.push(Stored { path, data });
    }
    let bytes = a.files as u64 * a.file_size;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "stored {} in {secs:.1} s ({:.1} MB/s)",
        units::format_bytes(bytes),
        bytes as f64 / (1 << 20) as f64 / secs
    );
    Ok(out)
}

async fn head(v: &Volume, path: &str) -> Result<Manifest> {
    let (_, versions) = v.history(path).await?;
    Ok(versions.last().context("no version")?.manifest.clone())
}

/// Lookups of fragments by peers that hold no copy of them.
async fn lookups(net: &LocalNet, files: &[Stored], count: usize) -> Result<()> {
    let v = net.node(0).volume();
    let mut entries = Vec::new();
    for f in files {
        entries.extend(head(&v, &f.path).await?.fragments);
    }
    let mut rng = rand::rng();
    let mut hops = Vec::new();
    let mut times = Vec::new();
    let (mut empty, mut timed_out) = (0, 0);
    let ids: Vec<_> = (0..net.len()).map(|i| net.node(i).peer_id()).collect();
    for _ in 0..count {
        let e = entries.choose(&mut rng).context("no fragments")?;
        let holders: Vec<_> = e.holders.iter().filter_map(crate::net::peer_of).collect();
        let askers: Vec<usize> = (0..net.len())
            .filter(|&i| !holders.contains(&ids[i]))
            .collect();
        let &i = askers.choose(&mut rng).context("every peer holds it")?;
        match net
            .node(i)
            .net()
            .lookup_providers(&e.id, Duration::from_secs(30))
            .await
        {
            Some(l) if l.providers.is_empty() => empty += 1,
            Some(l) => {
                hops.push(l.requests);
                times.push(l.elapsed);
            }
            None => timed_out += 1,
        }
    }
    hops.sort_unstable();
    if hops.is_empty() {
        bail!("no lookup found a provider ({empty} empty, {timed_out} timed out)");
    }
    let pct = |p: usize| hops[(hops.len() - 1) * p / 100];
    let mean = hops.iter().map(|&h| h as f64).sum::<f64>() / hops.len() as f64;
    let mut histogram = std::collections::BTreeMap::new();
    for h in &hops {
        *histogram.entry(*h).or_insert(0usize) += 1;
    }
    println!(
        "provider lookups: {} found, {empty} found none, {timed_out} timed out",
        hops.len()
    );
    println!(
        "hops per lookup: mean {mean:.2}, p50 {}, p90 {}, max {}; log2({}) = {:.2}",
        pct(50),
        pct(90),
        pct(100),
        net.len(),
        (net.len() as f64).log2()
    );
    let shown: Vec<String> = histogram.iter().map(|(h, n)| format!("{h}:{n}")).collect();
    println!("hops histogram (hops:lookups): {}", shown.join(" "));
    times.sort_unstable();
    let ms = |p: usize| times[(times.len() - 1) * p / 100].as_secs_f64() * 1000.0;
    println!(
        "lookup time: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms(50),
        ms(90),
        ms(100)
    );
    Ok(())
}

/// Stops `percent` of the peers (never peer 0, the metadata leader) and
/// waits until every file is fully placed again, without any command.
async fn repair(
    net: &mut LocalNet,
    files: &[Stored],
    percent: usize,
    after: Duration,
) -> Result<()> {
    let n = net.len();
    let kill = (n * percent).div_ceil(100).max(1);
    let mut victims: Vec<usize> = (1..n).collect();
    victims.shuffle(&mut rand::rng());
    victims.truncate(kill);
    let used_before = used(net);
    let t = Instant::now();
    for &i in &victims {
        net.stop(i).await;
    }
    println!(
        "stopped {kill} peers ({percent}%), repair after {:.0} s",
        after.as_secs_f64()
    );
    let deadline = t + Duration::from_secs(900);
    loop {
        let short = short_files(net, files).await?;
        if short == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("{short} files still short after 900 s");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let took = t.elapsed();
    let r = net.node(0).repair_report();
    let now: u64 = used(net).iter().map(|(_, u)| u).sum();
    let gained = now.saturating_sub(survivors_before(used_before, &victims));
    println!(
        "full redundancy again {:.1} s after the stop ({:.1} s after the repair delay)",
        took.as_secs_f64(),
        took.saturating_sub(after).as_secs_f64()
    );
    println!(
        "repair moved {} in {} copies ({} stored on surviving peers); {} records updated",
        units::format_bytes(r.restored_bytes),
        r.restored_copies,
        units::format_bytes(gained),
        r.records_updated
    );
    verify_reads(net, files).await
}

/// Bytes held by every running peer's store, per peer index.
fn used(net: &LocalNet) -> Vec<(usize, u64)> {
    (0..net.len())
        .filter(|&i| net.is_running(i))
        .filter_map(|i| net.node(i).store().map(|s| (i, s.usage().used)))
        .collect()
}

fn survivors_before(before: Vec<(usize, u64)>, victims: &[usize]) -> u64 {
    before
        .into_iter()
        .filter(|(i, _)| !victims.contains(i))
        .map(|(_, u)| u)
        .sum()
}

async fn short_files(net: &LocalNet, files: &[Stored]) -> Result<usize> {
    let v = net.node(0).volume();
    let mut short = 0;
    for f in files {
        if net.fully_placed(&head(&v, &f.path).await?).is_err() {
            short += 1;
        }
    }
    Ok(short)
}

/// Every file read back from a peer that did not write it, byte for byte.
async fn verify_reads(net: &LocalNet, files: &[Stored]) -> Result<()> {
    let reader = (1..net.len())
        .find(|&i| net.is_running(i))
        .context("a reader")?;
    let v = net.node(reader).volume();
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("read.out");
    for f in files {
        let id = v.head_id(&f.path).await?;
        v.client().get_file(&id, &out, Progress::new()).await?;
        if std::fs::read(&out)? != f.data {
            bail!("{} reads back different bytes", f.path);
        }
    }
    println!("every file reads back byte for byte from peer {reader}");
    Ok(())
}

/// The process's resident memory in bytes (`VmRSS`), 0 when unknown.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
