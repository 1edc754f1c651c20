//! `--peer`: the CLI joins the network itself as a light client (no store,
//! no listener) for one command, so `put` and `get` work from any machine
//! that can reach one peer.

use super::{progress::Bar, JoinArgs};
use crate::{
    client::{ClientConfig, Progress},
    control::PutOptions,
    fragment::{FragmentId, FragmentSize},
    node::{Node, NodeConfig},
    redundancy::{Replicas, WriteQuorum},
    units,
};
use anyhow::{bail, Context, Result};
use std::{future::Future, path::Path, sync::Arc, time::Duration};

async fn join(join: &JoinArgs, client: ClientConfig) -> Result<(Node, tempfile::TempDir)> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mut cfg = NodeConfig::new(dir.path());
    cfg.storage = false;
    cfg.control = false;
    cfg.net.listen = Vec::new();
    cfg.net.mdns = false;
    cfg.net.bootstrap = join.peers.clone();
    cfg.client = client;
    let node = Node::start(cfg).await.context("cannot join the network")?;
    if !node
        .wait_for_storage_peers(1, Duration::from_secs(10))
        .await
    {
        node.shutdown().await;
        bail!(
            "cannot reach any storage peer through {}",
            join.peers
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok((node, dir))
}

async fn with_bar<T>(
    what: &'static str,
    progress: Arc<Progress>,
    fut: impl Future<Output = T>,
) -> T {
    let bar = Bar::new(what, progress.total());
    tokio::pin!(fut);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let out = loop {
        tokio::select! {
            r = &mut fut => break r,
            _ = tick.tick() => bar.set(progress.done(), progress.total(), progress.peer_count() as u32),
        }
    };
    bar.finish();
    out
}

pub async fn put(
    j: &JoinArgs,
    path: &Path,
    name: Option<String>,
    o: &PutOptions,
    dest: Option<String>,
) -> Result<()> {
    let replicas = Replicas::new(o.replicas)?;
    let cfg = ClientConfig {
        replicas,
        redundancy: o
            .redundancy
            .unwrap_or(crate::redundancy::Redundancy::Replicas(replicas)),
        quorum: o
            .quorum
            .map(|q| WriteQuorum::new(q, replicas))
            .transpose()?,
        fragment_size: FragmentSize::new(o.fragment_size)?,
        hash: o.hash,
        ..ClientConfig::default()
    };
    let (node, _dir) = join(j, cfg).await?;
    let progress = Progress::new();
    let client = node.client();
    let r = with_bar(
        "put",
        progress.clone(),
        client.put_file(path, name, progress.clone()),
    )
    .await;
    let committed = match (&r, &dest) {
        (Ok(r), Some(d)) => Some(
            node.volume()
                .commit_at_path(d, r.manifest.clone())
                .await
                .map(|c| c.version),
        ),
        _ => None,
    };
    node.shutdown().await;
    let r = r?;
    println!("{}", r.id);
    if let (Some(c), Some(d)) = (committed, dest) {
        let v = c.with_context(|| format!("stored as {} but not recorded at {d}", r.id))?;
        eprintln!("recorded as {d}, version {v}");
    }
    eprintln!(
        "stored {} in {} fragment(s), {}+ copies each, on {} peer(s)",
        units::format_bytes(r.manifest.size),
        r.manifest.fragments.len(),
        r.min_copies,
        progress.peer_count()
    );
    Ok(())
}

pub async fn get(j: &JoinArgs, id: &str, out: &Path) -> Result<()> {
    let (node, _dir) = join(j, ClientConfig::default()).await?;
    let id: FragmentId = if id.starts_with('/') {
        match node.volume().head_id(id).await {
            Ok(i) => i,
            Err(e) => {
                node.shutdown().await;
                bail!("{id}: {e}");
            }
        }
    } else {
        id.parse().map_err(|e| anyhow::anyhow!("{id}: {e}"))?
    };
    let id = &id;
    let progress = Progress::new();
    let client = node.client();
    let r = with_bar(
        "get",
        progress.clone(),
        client.get_file(id, out, progress.clone()),
    )
    .await;
    node.shutdown().await;
    let r = r?;
    eprintln!(
        "fetched {} ({} fragment(s)) from {} peer(s), {} retries; verified, written to {}",
        units::format_bytes(r.manifest.size),
        r.manifest.fragments.len(),
        r.peers,
        r.retries,
        out.display()
    );
    Ok(())
}
