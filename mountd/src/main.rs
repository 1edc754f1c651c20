//! `fragfs-mountd`: starts a fragfs node and mounts its namespace.

use anyhow::{bail, Context, Result};
use clap::Parser;
use fragfs::node::{Node, NodeError};
use fragfs_mountd::{args::MountArgs, reach, report, MountConfig};
use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
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
    #[command(flatten)]
    mount: MountArgs,
}

fn main() -> ExitCode {
    let tuned = fragfs_mountd::malloc::tune();
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => return report::exit_on_clap_error(PROGRAM, &e),
    };
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
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("fragfs-mountd")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{PROGRAM}: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let res = rt.block_on(run(args));
    // Do not wait for threads stuck on a mount still held open elsewhere.
    rt.shutdown_timeout(Duration::from_secs(2));
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{PROGRAM}: error: {}", report::one_line(&e));
            ExitCode::FAILURE
        }
    }
}

const PROGRAM: &str = "fragfs-mountd";

async fn run(a: Args) -> Result<()> {
    let mountpoint = std::fs::canonicalize(&a.mountpoint)
        .with_context(|| format!("mount point {}", a.mountpoint.display()))?;
    if !mountpoint.is_dir() {
        bail!("mount point {} is not a directory", mountpoint.display());
    }
    let cfg = a.mount.node_config(&a.data)?;
    let cache_bytes = a.mount.cache_bytes()?;
    let acting = a.mount.acting()?;

    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;

    let node = match Node::start(cfg).await {
        Ok(n) => n,
        Err(e @ NodeError::AlreadyRunning(_)) => bail!(e),
        Err(e) => return Err(anyhow::Error::new(e).context("cannot start the node")),
    };
    reach::watch_peers(&node, PROGRAM, &a.mount.net.peers);
    // Written once the node holds the data directory, so a second mount on
    // it fails before touching the first one's file.
    let pid_file = match a.mount.pid_file.as_deref().map(PidFile::write).transpose() {
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
    if let Err(e) = log_in(&node, &acting).await {
        node.shutdown().await;
        return Err(e);
    }
    let mcfg = MountConfig {
        allow_other: a.mount.allow_other,
        meta_deadline: a.mount.meta_deadline(),
        data_deadline: a.mount.data_deadline(),
        cache_bytes,
        lock_lease: a.mount.lock_lease(),
        acting,
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

/// Registers the users the mount acts for that the network does not know
/// yet; a name another key holds there is an error.
async fn log_in(node: &Node, acting: &fragfs::trust::Acting) -> Result<()> {
    let volume = node.volume().acting_for(acting.clone());
    match volume.log_in().await {
        Ok(added) => {
            for name in added {
                tracing::info!(user = %name, "registered user");
            }
            Ok(())
        }
        Err(fragfs::volume::VolumeError::Fs(fragfs::meta::FsError::Exists)) => {
            bail!("a user of this mount is registered on the network with another key")
        }
        Err(e) => Err(anyhow::Error::new(e).context("cannot register the mount's users")),
    }
}

/// Waits until the namespace answers (a leader is known, or reachable through
/// the peers), so the first operations on the mount do not fail.
async fn wait_for_namespace(node: &Node, deadline: Duration) -> Result<()> {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let last = match node.volume().ready().await {
            Ok(true) => return Ok(()),
            Ok(false) => "only a possibly stale replica answered".to_string(),
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() >= until {
            bail!("the namespace did not answer within {deadline:?}: {last}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn t10_every_argument_has_help() {
        let cmd = Args::command();
        let missing: Vec<_> = cmd
            .get_arguments()
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .filter(|a| a.get_help().is_none() && a.get_long_help().is_none())
            .map(|a| a.get_id().to_string())
            .collect();
        assert!(missing.is_empty(), "no help text: {missing:?}");
        assert!(cmd.get_arguments().count() > 12);
    }
}
