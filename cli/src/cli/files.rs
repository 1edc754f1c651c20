//! `ls`, `info`, `search` and `meta`: the namespace as tables (or JSON).
//! `ls` and `info` take namespace paths or paths inside a mounted fragfs.

use super::{
    ns_path::namespace_path, versions::version_line, JsonArg, LsArgs, MetaCommand, PathArg,
    SearchArgs, TreeArgs,
};
use crate::{
    control::{self, Event, Request},
    units,
};
use anyhow::{bail, Result};
use std::path::PathBuf;

pub(super) async fn ask(data: &std::path::Path, req: Request) -> Result<Event> {
    let ev = control::call(data, &req, |_| {})
        .await
        .map_err(anyhow::Error::msg)?;
    if let Event::Error(e) = ev {
        bail!(e);
    }
    Ok(ev)
}

fn abs(p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

pub(super) fn stale_note(stale: bool) {
    if stale {
        eprintln!("note: no metadata leader could confirm this answer; it comes from a local replica and may be stale");
    }
}

pub(super) fn short_peer(p: &str) -> String {
    if p.len() > 10 {
        format!("…{}", &p[p.len() - 8..])
    } else {
        p.to_string()
    }
}

pub async fn ls(data: PathBuf, a: LsArgs) -> Result<()> {
    let Event::Listing { rows, stale } = ask(
        &data,
        Request::Ls {
            path: namespace_path(&a.path),
        },
    )
    .await?
    else {
        bail!("unexpected answer")
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "entries": rows, "stale": stale }))?
        );
        return Ok(());
    }
    println!(
        "{:<10} {:>10} {:>4} {:<16} {:>5}  NAME",
        "MODE", "SIZE", "VER", "STATUS", "PEERS"
    );
    for r in rows {
        let kind = match r.kind.as_str() {
            "dir" => 'd',
            "symlink" => 'l',
            "fifo" => 'p',
            "socket" => 's',
            "chardev" => 'c',
            "blockdev" => 'b',
            _ => '-',
        };
        println!(
            "{kind}{:04o}      {:>10} {:>4} {:<16} {:>5}  {}",
            r.perm,
            units::format_bytes(r.size),
            r.versions,
            r.status,
            r.peers,
            r.name
        );
    }
    stale_note(stale);
    Ok(())
}

pub async fn info(data: PathBuf, a: PathArg) -> Result<()> {
    let Event::Info(r) = ask(
        &data,
        Request::Info {
            path: namespace_path(&a.path),
        },
    )
    .await?
    else {
        bail!("unexpected answer")
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("path:       {}", r.path);
    println!(
        "kind:       {}  mode {:04o}  uid {}  gid {}  links {}",
        r.kind, r.perm, r.uid, r.gid, r.nlink
    );
    println!(
        "size:       {} ({} bytes)",
        units::format_bytes(r.size),
        r.size
    );
    if !r.fragments.is_empty() || !r.versions.is_empty() {
        println!("status:     {}", r.status);
        println!(
            "fragments:  {} × {} ({}, {})",
            r.fragments.len(),
            units::format_bytes(r.fragment_size as u64),
            r.hash,
            r.redundancy
        );
    }
    for f in &r.fragments {
        let holders: Vec<String> = f
            .holders
            .iter()
            .map(|(p, up)| format!("{}{}", short_peer(p), if *up { "" } else { " (down)" }))
            .collect();
        println!(
            "  #{:<5} {}… {:>9}  v{} by {}  held by {}",
            f.index,
            &f.id[4..16],
            units::format_bytes(f.len as u64),
            f.owner_version,
            super::versions::by(f.owner_user.as_deref(), f.owner_uid, &f.owner),
            holders.join(", ")
        );
    }
    if !r.versions.is_empty() {
        println!("versions:");
    }
    for v in r.versions.iter().rev() {
        println!("  {}", version_line(v));
    }
    stale_note(r.stale);
    Ok(())
}

pub async fn search(data: PathBuf, a: SearchArgs) -> Result<()> {
    let Event::Found { rows, stale } = ask(
        &data,
        Request::Search {
            text: a.text.clone(),
        },
    )
    .await?
    else {
        bail!("unexpected answer")
    };
    if a.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(p, k, s)| serde_json::json!({"path": p, "kind": k, "size": s}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "found": v, "stale": stale }))?
        );
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!("nothing matches '{}'", a.text);
    }
    for (p, k, s) in rows {
        println!("{:<8} {:>10}  {p}", k, units::format_bytes(s));
    }
    stale_note(stale);
    Ok(())
}

pub async fn meta(data: PathBuf, c: MetaCommand) -> Result<()> {
    match c {
        MetaCommand::Status(JsonArg { json }) => {
            let Event::MetaStatus(s) = ask(&data, Request::MetaStatus).await? else {
                bail!("unexpected answer")
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
                return Ok(());
            }
            println!(
                "node id:  {}{}",
                s.node_id,
                if s.voter {
                    " (voter)"
                } else {
                    " (not a voter)"
                }
            );
            if s.voter {
                println!("state:    {}  term {}", s.state, s.term);
                println!(
                    "leader:   {}",
                    s.leader.map_or("none".to_string(), |l| l.to_string())
                );
                println!(
                    "log:      applied {}  last {}  snapshot {}",
                    s.last_applied.map_or("-".into(), |v| v.to_string()),
                    s.last_log.map_or("-".into(), |v| v.to_string()),
                    s.snapshot.map_or("-".into(), |v| v.to_string())
                );
                println!("inodes:   {}", s.inodes);
                for (id, addr) in &s.voters {
                    println!(
                        "voter     {id:<20} {addr}{}",
                        if Some(*id) == s.leader {
                            "  (leader)"
                        } else {
                            ""
                        }
                    );
                }
                for (id, addr) in &s.learners {
                    println!("learner   {id:<20} {addr}");
                }
            }
            Ok(())
        }
        MetaCommand::Add { addr } => {
            let Event::Done(m) = ask(&data, Request::MetaAdd { addr }).await? else {
                bail!("unexpected answer")
            };
            println!("{m}");
            Ok(())
        }
        MetaCommand::Remove { node_id } => {
            let Event::Done(m) = ask(&data, Request::MetaRemove { node_id }).await? else {
                bail!("unexpected answer")
            };
            println!("{m}");
            Ok(())
        }
    }
}

pub async fn mkdir(data: PathBuf, paths: Vec<String>) -> Result<()> {
    if paths.is_empty() {
        bail!("give at least one path");
    }
    let paths = paths.iter().map(|p| abs(p)).collect();
    let Event::Done(_) = ask(&data, Request::Mkdir { paths }).await? else {
        bail!("unexpected answer")
    };
    Ok(())
}

pub async fn tree(data: PathBuf, a: TreeArgs) -> Result<()> {
    let Event::Tree { rows, stale } = ask(&data, Request::Tree { local: a.local }).await? else {
        bail!("unexpected answer")
    };
    if a.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(p, k, s)| serde_json::json!({"path": p, "kind": k, "size": s}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "paths": v, "stale": stale }))?
        );
        return Ok(());
    }
    for (p, k, s) in rows {
        println!("{:<8} {:>10}  {p}", k, units::format_bytes(s));
    }
    if !a.local {
        stale_note(stale);
    }
    Ok(())
}
