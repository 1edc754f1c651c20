//! `pin`, `unpin`, `pins` and `sync`: files kept whole on the local node,
//! and checking what the network holds.

use super::JsonArg;
use crate::control::{Event, PinsReport, Request};
use crate::units;
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PinArgs {
    /// The file or directory to pin: a namespace path, or a path inside a
    /// mounted fragfs.
    #[arg(required_unless_present = "list")]
    pub path: Option<String>,
    /// List the pins instead.
    #[arg(long, conflicts_with = "path")]
    pub list: bool,
    /// With --list, print JSON.
    #[arg(long, requires = "list")]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The directory (or file) to sync.
    #[arg(default_value = "/")]
    pub path: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

use super::{files::ask, ns_path::namespace_path as abs};

pub async fn pin(data: PathBuf, a: PinArgs) -> Result<()> {
    let path = match (&a.path, a.list) {
        (_, true) => return pins(data, JsonArg { json: a.json }).await,
        (Some(p), false) => abs(p),
        (None, false) => bail!("give the PATH to pin, or --list"),
    };
    match ask(&data, Request::Pin { path }).await? {
        Event::Done(msg) => {
            println!("{msg}");
            Ok(())
        }
        other => bail!("unexpected answer from the node: {other:?}"),
    }
}

pub async fn unpin(data: PathBuf, path: String) -> Result<()> {
    match ask(&data, Request::Unpin { path: abs(&path) }).await? {
        Event::Done(msg) => {
            println!("{msg}");
            Ok(())
        }
        other => bail!("unexpected answer from the node: {other:?}"),
    }
}

pub async fn pins(data: PathBuf, a: JsonArg) -> Result<()> {
    let Event::Pins(r) = ask(&data, Request::Pins).await? else {
        bail!("unexpected answer from the node")
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&pins_json(&r))?);
        return Ok(());
    }
    println!("{:>8} {:>9}  PATH", "INODE", "HELD");
    for p in &r.pins {
        println!(
            "{:>8} {:>9}  {}",
            p.ino,
            format!("{}/{}", p.held, p.fragments),
            p.path
        );
    }
    println!(
        "{} pin(s); {} fragment(s) fetched for pins since the node started",
        r.pins.len(),
        r.fetched_fragments
    );
    Ok(())
}

fn pins_json(r: &PinsReport) -> serde_json::Value {
    serde_json::json!({
        "pins": r.pins.iter().map(|p| serde_json::json!({
            "ino": p.ino, "path": p.path, "fragments": p.fragments, "held": p.held,
        })).collect::<Vec<_>>(),
        "pin_fetched_fragments": r.fetched_fragments,
    })
}

pub async fn sync(data: PathBuf, a: SyncArgs) -> Result<()> {
    let path = abs(&a.path);
    let Event::Synced(r) = ask(&data, Request::Sync { path: path.clone() }).await? else {
        bail!("unexpected answer from the node")
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        for p in &r.problems {
            println!("problem: {p}");
        }
        println!(
            "sync {path}: {} file(s), {} verified, {} hash(es) recorded, {} problem(s)",
            r.files,
            units::format_bytes(r.bytes_verified),
            r.hashes_recorded,
            r.problems.len()
        );
    }
    if r.unverified > 0 {
        bail!("{} file(s) could not be verified", r.unverified);
    }
    Ok(())
}
