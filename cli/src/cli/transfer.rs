//! `put` and `get`: storing a local file on the network (and recording it
//! at a namespace path) and fetching one back, verified, with a progress
//! bar; through the local node or, with `--peer`, as a light client.

use super::{light, progress, GetArgs, PutArgs};
use crate::{
    control::{self, Event, PutOptions, Request},
    fragment::FragmentSize,
    redundancy::{Redundancy, Replicas},
    units,
};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

fn put_options(a: &PutArgs) -> Result<PutOptions> {
    // `--redundancy replicas:N` is `--replicas N`, and wins over the
    // spec of the destination's directory like any --redundancy.
    let (replicas, redundancy) = match a.redundancy {
        Some(Redundancy::Replicas(r)) => (r, a.redundancy),
        other => (Replicas::new(a.replicas)?, other),
    };
    if let Some(q) = a.quorum {
        crate::redundancy::WriteQuorum::new(q, replicas)?;
    }
    let fs = u32::try_from(a.fragment_size)
        .map_err(|_| anyhow::anyhow!("fragment size is out of range (64 KiB to 16 MiB)"))?;
    FragmentSize::new(fs)?;
    Ok(PutOptions {
        replicas: replicas.into(),
        quorum: a.quorum,
        fragment_size: fs,
        hash: a.hash,
        redundancy,
    })
}

pub async fn put(data: PathBuf, a: PutArgs) -> Result<()> {
    let options = put_options(&a)?;
    let meta = std::fs::metadata(&a.file).with_context(|| format!("{}", a.file.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", a.file.display());
    }
    let path = std::fs::canonicalize(&a.file).with_context(|| format!("{}", a.file.display()))?;
    let dest = a.path.as_deref().map(|d| dest_path(d, &path));
    if !a.join.peers.is_empty() {
        return light::put(&a.join, &path, a.name, &options, dest).await;
    }
    let bar = progress::Bar::new("put", meta.len());
    let req = Request::Put {
        path,
        name: a.name,
        options,
        dest,
    };
    let ev = control::call(&data, &req, |ev| bar.update(ev))
        .await
        .map_err(anyhow::Error::msg)?;
    bar.finish();
    match ev {
        Event::PutDone {
            id,
            size,
            fragments,
            min_copies,
            peers,
            path,
            version,
        } => {
            println!("{id}");
            eprintln!("stored {} in {fragments} fragment(s), {min_copies}+ copies each, on {peers} peer(s)", units::format_bytes(size));
            match (path, version) {
                (Some(p), Some(v)) => eprintln!("recorded as {p}, version {v}"),
                _ => eprintln!(
                    "not recorded in the namespace: the storage nodes collect it after their grace period (give a PATH to keep it)"
                ),
            }
            Ok(())
        }
        Event::Error(e) => bail!(e),
        other => bail!("unexpected answer from the node: {other:?}"),
    }
}

/// The namespace path a put goes to: absolute, and a trailing slash means
/// "keep the file's name".
fn dest_path(d: &str, file: &std::path::Path) -> String {
    let mut p = if d.starts_with('/') {
        d.to_string()
    } else {
        format!("/{d}")
    };
    if p.ends_with('/') {
        p.push_str(
            &file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    p
}

fn absolute_out(out: &std::path::Path) -> Result<PathBuf> {
    let out = if out.is_absolute() {
        out.to_path_buf()
    } else {
        std::env::current_dir()?.join(out)
    };
    if out.is_dir() {
        bail!("{} is a directory; give a file name", out.display());
    }
    match out.parent() {
        Some(p) if p.is_dir() => Ok(out),
        _ => bail!("{}: the directory does not exist", out.display()),
    }
}

pub async fn get(data: PathBuf, a: GetArgs) -> Result<()> {
    if !a.id.starts_with('/') {
        a.id.parse::<crate::fragment::FragmentId>()
            .map_err(|e| anyhow::anyhow!("{}: {e}", a.id))?;
    }
    let out = absolute_out(&a.out)?;
    if !a.join.peers.is_empty() {
        return light::get(&a.join, &a.id, &out).await;
    }
    let bar = progress::Bar::new("get", 0);
    let req = Request::Get {
        id: a.id.clone(),
        out: out.clone(),
    };
    let ev = control::call(&data, &req, |ev| bar.update(ev))
        .await
        .map_err(anyhow::Error::msg)?;
    bar.finish();
    match ev {
        Event::GetDone {
            size,
            fragments,
            peers,
            retries,
        } => {
            eprintln!(
                "fetched {} ({fragments} fragment(s)) from {peers} peer(s), {retries} retries; verified, written to {}",
                units::format_bytes(size),
                out.display()
            );
            Ok(())
        }
        Event::Error(e) => bail!(e),
        other => bail!("unexpected answer from the node: {other:?}"),
    }
}
