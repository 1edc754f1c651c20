//! `fragfs-mountd`: starts a fragfs node and mounts its namespace.

use anyhow::{bail, Context, Result};
use clap::Parser;
use fragfs::{
    meta::{Query, ROOT},
    net::Multiaddr,
    node::{Node, NodeConfig},
    redundancy::Replicas,
};
use fragfs_mountd::MountConfig;
use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    time::Duration,
};

/// Mount the fragfs namespace at MOUNTPOINT, served by a node embedded in
/// this process.
#[derive(Parser, Debug)]
#[command(name = "fragfs-mountd", version)]
struct Args {
    /// The node's data directory (identity, fragment store, metadata).
    #[arg(long, env = "FRAGFS_DATA", value_name = "DIR")]
    data: PathBuf,
    /// Where to mount.
    mountpoint: PathBuf,
    /// Address to listen on (repeatable). Default: TCP and QUIC on all
    /// interfaces, random ports.
    #[arg(long = "listen", value_name = "MULTIADDR")]
    listen: Vec<Multiaddr>,
    /// A peer to join through (repeatable).
    #[arg(long = "peer", value_name = "MULTIADDR")]
    peers: Vec<Multiaddr>,
    /// No LAN discovery.
    #[arg(long)]
    no_mdns: bool,
    /// Copies of each fragment written. Default: 1 when started alone
    /// (without --peer), else 3.
    #[arg(long)]
    replicas: Option<u8>,
    /// Most bytes of fragments this node keeps, e.g. 500G.
    #[arg(long, default_value = "100G", value_parser = fragfs::units::parse_bytes)]
    capacity: u64,
    /// Fragment size of files written through the mount, 64K to 16M (a file
    /// rewritten in place keeps its own).
    #[arg(long, default_value = "1M", value_parser = fragfs::units::parse_bytes)]
    fragment_size: u64,
    /// Fragment hash of files written through the mount: sha3-256 or
    /// blake3 (faster).
    #[arg(long, default_value = "sha3-256")]
    hash: fragfs::fragment::HashAlgo,
    /// Keep no fragments on this node: a client of the storage peers.
    #[arg(long)]
    no_store: bool,
    /// Seconds a namespace operation may take before it fails with EIO.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    meta_timeout: u64,
    /// Seconds an operation moving file content (read, write, flush,
    /// fsync, close) may take before it fails with EIO.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    data_timeout: u64,
    /// Let every user use the mount (allow_other); permissions are checked
    /// by the kernel against the files' modes.
    #[arg(long)]
    allow_other: bool,
    /// Most bytes of file fragments kept in memory for reads, e.g. 1G.
    #[arg(long, default_value = "512M", value_parser = fragfs::units::parse_bytes)]
    cache_size: u64,
    /// Seconds this mount's file locks outlive it if it dies without
    /// unmounting (its lease, renewed every quarter of it).
    #[arg(long, default_value_t = 20, value_name = "SECS")]
    lock_lease: u64,
    /// Write this process's id to FILE once the node runs; removed at exit.
    #[arg(long, value_name = "FILE")]
    pid_file: Option<PathBuf>,
}

fn main() -> Result<()> {
    let tuned = fragfs_mountd::malloc::tune();
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(
                    "warn,fragfs_mountd=info,fragfs=info,openraft=warn,fuser=error",
                )
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if !tuned {
        tracing::debug!("allocator settings unavailable; large buffers may stay resident");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("fragfs-mountd")
        .build()?;
    let res = rt.block_on(run(args));
    // Do not wait for threads stuck on a mount still held open elsewhere.
    rt.shutdown_timeout(Duration::from_secs(2));
    res
}

async fn run(a: Args) -> Result<()> {
    let mountpoint = std::fs::canonicalize(&a.mountpoint)
        .with_context(|| format!("mount point {}", a.mountpoint.display()))?;
    if !mountpoint.is_dir() {
        bail!("mount point {} is not a directory", mountpoint.display());
    }
    let mut cfg = NodeConfig::new(&a.data);
    if !a.listen.is_empty() {
        cfg.net.listen = a.listen;
    }
    cfg.net.bootstrap = a.peers.clone();
    cfg.net.mdns = !a.no_mdns;
    cfg.capacity = a.capacity;
    cfg.storage = !a.no_store;
    if a.meta_timeout == 0 || a.data_timeout == 0 {
        bail!("timeouts must be at least 1 second");
    }
    if a.lock_lease == 0 || a.lock_lease > fragfs::meta::MAX_LEASE_MS / 1000 {
        bail!(
            "--lock-lease must be 1 to {} seconds",
            fragfs::meta::MAX_LEASE_MS / 1000
        );
    }
    cfg.meta.voter = a.peers.is_empty();
    let replicas = a.replicas.unwrap_or(if a.peers.is_empty() { 1 } else { 3 });
    cfg.client.replicas = Replicas::new(replicas)?;
    let fsz = u32::try_from(a.fragment_size)
        .map_err(|_| anyhow::anyhow!("fragment size is out of range (64 KiB to 16 MiB)"))?;
    cfg.client.fragment_size = fragfs::fragment::FragmentSize::new(fsz)?;
    cfg.client.hash = a.hash;
    let cache_bytes = usize::try_from(a.cache_size)
        .map_err(|_| anyhow::anyhow!("--cache-size {} is too large", a.cache_size))?;

    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;

    let node = Node::start(cfg).await.context("cannot start the node")?;
    // Written once the node holds the data directory, so a second mount on
    // it fails before touching the first one's file.
    let pid_file = match a.pid_file.as_deref().map(PidFile::write).transpose() {
        Ok(p) => p,
        Err(e) => {
            node.shutdown().await;
            return Err(e);
        }
    };
    if let Err(e) = wait_for_namespace(&node, Duration::from_secs(30)).await {
        node.shutdown().await;
        return Err(e);
    }
    let mcfg = MountConfig {
        allow_other: a.allow_other,
        meta_deadline: Duration::from_secs(a.meta_timeout),
        data_deadline: Duration::from_secs(a.data_timeout),
        cache_bytes,
        lock_lease: Duration::from_secs(a.lock_lease),
        ..MountConfig::default()
    };
    let mounted =
        match fragfs_mountd::mount(&node, tokio::runtime::Handle::current(), &mountpoint, mcfg) {
            Ok(s) => s,
            Err(e) => {
                node.shutdown().await;
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot mount at {}", mountpoint.display())));
            }
        };
    println!("peer id: {}", node.peer_id());
    for addr in node.listen_addrs().await {
        println!("listening on {addr}");
    }
    println!("mounted at {}", mountpoint.display());

    // Until a signal, or until someone else unmounted us.
    let mut check = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = int.recv() => break,
            _ = term.recv() => break,
            _ = check.tick() => if !mounted.is_alive() {
                tracing::info!("the mount went away");
                break;
            },
        }
    }
    tracing::info!(mountpoint = %mountpoint.display(), "unmounting");
    if let Err(e) = mounted.unmount(Duration::from_secs(5)).await {
        tracing::warn!(error = %e, "unmount");
    }
    if !node.shutdown().await {
        tracing::warn!("some node tasks did not stop in time");
    }
    drop(pid_file);
    tracing::info!("stopped");
    Ok(())
}

/// A file holding this process's id, removed when dropped if it still
/// holds it.
struct PidFile(PathBuf);

impl PidFile {
    fn write(path: &Path) -> Result<PidFile> {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write the pid file {}", path.display()))?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.0)
            .is_ok_and(|s| s.trim() == std::process::id().to_string());
        if ours {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Waits until the namespace answers (a leader is known, or reachable through
/// the peers), so the first operations on the mount do not fail.
async fn wait_for_namespace(node: &Node, deadline: Duration) -> Result<()> {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let last = match node.meta().read(Query::Getattr { ino: ROOT }).await {
            Ok(a) if !a.stale => return Ok(()),
            Ok(_) => "only a possibly stale replica answered".to_string(),
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() >= until {
            bail!("the namespace did not answer within {deadline:?}: {last}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
