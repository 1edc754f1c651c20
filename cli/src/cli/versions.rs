//! `history`, `revert`, `policy` and `conflicts`: a file's versions, going
//! back to one, its merge policy and the log of conflicts, overrides and
//! resurrections.

use super::{
    files::{ask, short_peer, stale_note},
    ns_path::namespace_path,
};
use crate::{
    control::{Event, Request},
    units,
    volume::{InfoVersion, PolicySource},
};
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The file: a namespace path, or a path inside a mounted fragfs.
    pub path: String,
    /// Print JSON instead of one version a line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RevertArgs {
    /// The file: a namespace path, or a path inside a mounted fragfs.
    pub path: String,
    /// The version whose content becomes the new head (`3` or `v3`).
    #[arg(value_parser = parse_version)]
    pub version: u64,
}

#[derive(Args, Debug)]
pub struct PolicyArgs {
    /// The file or directory: a namespace path, or a path inside a mounted
    /// fragfs.
    pub path: String,
    /// Set the policy: `merge` (three-way merge, a conflict copy when that
    /// fails) or `lww` (the last writer wins). Without it, print the
    /// effective policy and where it comes from.
    #[arg(value_parser = ["merge", "lww"])]
    pub value: Option<String>,
}

#[derive(Args, Debug)]
pub struct ConflictsArgs {
    /// Only events at or under this path (a namespace path, or a path
    /// inside a mounted fragfs); everywhere without it.
    pub path: Option<String>,
    /// Show at most the last N events.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A version number: `3` or `v3`, from 1.
fn parse_version(s: &str) -> Result<u64, String> {
    let digits = s.strip_prefix('v').unwrap_or(s);
    match digits.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{s:?} is not a version number (1, 2, … or v1, v2, …)"
        )),
    }
}

/// Slots as ranges: `0-3,7`.
fn slot_ranges(slots: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < slots.len() {
        let mut j = i;
        while j + 1 < slots.len() && slots[j + 1] == slots[j] + 1 {
            j += 1;
        }
        out.push(match i == j {
            true => slots[i].to_string(),
            false => format!("{}-{}", slots[i], slots[j]),
        });
        i = j + 1;
    }
    out.join(",")
}

/// Who wrote a version: the signing user when there is one, and always
/// the local uid and the node (`alice (uid 1000 on 12D3…)`).
pub fn by(user: Option<&str>, uid: u32, peer: &str) -> String {
    match user {
        Some(u) => format!("{u} (uid {uid} on {})", short_peer(peer)),
        None => format!("uid {uid} on {}", short_peer(peer)),
    }
}

/// One version as a line of `history` and `info`.
pub fn version_line(v: &InfoVersion) -> String {
    let parents = match (v.parent, v.based_on) {
        (None, _) => "first".to_string(),
        (Some(p), Some(b)) if b != p => format!("parent v{p}, based on v{b}"),
        (Some(p), _) => format!("parent v{p}"),
    };
    let changed = match v.changed.is_empty() {
        true => "no fragment changed".to_string(),
        false => format!("changed #{}", slot_ranges(&v.changed)),
    };
    let mut line = format!(
        "v{:<4} {}  {:>10}  by {}  {parents}  {changed}",
        v.id,
        v.time,
        units::format_bytes(v.size),
        by(v.signer.as_deref(), v.author_uid, &v.author_peer),
    );
    if let Some(m) = &v.mark {
        line.push_str("  ");
        line.push_str(m);
    }
    line
}

pub async fn history(data: PathBuf, a: HistoryArgs) -> Result<()> {
    let path = namespace_path(&a.path);
    let Event::History(r) = ask(&data, Request::History { path }).await? else {
        bail!("unexpected answer")
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    if r.versions.is_empty() {
        eprintln!("{} has no version yet", r.path);
    }
    for v in &r.versions {
        println!("{}", version_line(v));
    }
    stale_note(r.stale);
    Ok(())
}

pub async fn revert(data: PathBuf, a: RevertArgs) -> Result<()> {
    let req = Request::Revert {
        path: namespace_path(&a.path),
        version: a.version,
    };
    let Event::Reverted { path, version } = ask(&data, req).await? else {
        bail!("unexpected answer")
    };
    println!("{version}");
    eprintln!(
        "{path}: version {version} holds the content of v{}",
        a.version
    );
    Ok(())
}

pub async fn policy(data: PathBuf, a: PolicyArgs) -> Result<()> {
    let req = Request::Policy {
        path: namespace_path(&a.path),
        set: a.value,
    };
    let Event::Policy(r) = ask(&data, req).await? else {
        bail!("unexpected answer")
    };
    let from = match &r.source {
        PolicySource::Itself => "set on this path".to_string(),
        PolicySource::Directory { path } => format!("inherited from {path}"),
        PolicySource::Default => "the default".to_string(),
    };
    println!("{}: {} ({from})", r.path, r.policy);
    if let Some(bad) = &r.invalid {
        eprintln!("note: the attribute holds {bad:?}, which names no policy; the default applies");
    }
    stale_note(r.stale);
    Ok(())
}

pub async fn conflicts(data: PathBuf, a: ConflictsArgs) -> Result<()> {
    let req = Request::Conflicts {
        path: a.path.as_deref().map(namespace_path),
        limit: a.limit,
    };
    let Event::Conflicts { rows, stale } = ask(&data, req).await? else {
        bail!("unexpected answer")
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        stale_note(stale);
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!("no conflicts, overrides or resurrections recorded");
    } else {
        println!(
            "{:<20}  {:<12} {:>5}  {:<10}  PATH",
            "TIME", "KIND", "VER", "AUTHOR"
        );
    }
    for r in &rows {
        let detail = match (&r.copy, r.other) {
            (Some(copy), Some(with)) => format!("  (with v{with}; other side kept as {copy})"),
            (None, Some(other)) if r.kind == "override" => format!("  (overrode v{other})"),
            (None, Some(other)) => format!("  (v{other})"),
            _ => String::new(),
        };
        let author = r.author.rsplit(' ').next().unwrap_or(&r.author);
        println!(
            "{:<20}  {:<12} {:>5}  {:<10}  {}{detail}",
            r.time,
            r.kind,
            format!("v{}", r.version),
            short_peer(author),
            r.path
        );
    }
    stale_note(stale);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_version_numbers() {
        assert_eq!(parse_version("3"), Ok(3));
        assert_eq!(parse_version("v12"), Ok(12));
        assert!(parse_version("0").is_err());
        assert!(parse_version("v").is_err());
        assert!(parse_version("-1").is_err());
    }

    #[test]
    fn t10_slot_ranges() {
        assert_eq!(slot_ranges(&[]), "");
        assert_eq!(slot_ranges(&[4]), "4");
        assert_eq!(slot_ranges(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
    }
}
