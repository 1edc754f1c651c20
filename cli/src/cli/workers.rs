//! `fragfs workers`: the node's maintenance workers, and the one-line
//! summary `fragfs status` prints; `fragfs repair`: what repair sees.

use super::{files::ask, JsonArg};
use crate::{
    control::{Event, RepairReport, Request},
    units::{format_bytes, format_duration},
    worker::{WorkerReport, WorkerState},
};
use anyhow::{bail, Result};
use std::path::PathBuf;

pub async fn workers(data: PathBuf, a: JsonArg) -> Result<()> {
    let Event::Workers(rows) = ask(&data, Request::Workers).await? else {
        bail!("unexpected answer from the node")
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no workers (a node without a store runs none)");
        return Ok(());
    }
    println!(
        "{:<12} {:<24} {:>16} {:>6} {:>6}  LAST ERROR",
        "WORKER", "STATE", "PROGRESS", "RUNS", "ERRORS"
    );
    for r in &rows {
        println!(
            "{:<12} {:<24} {:>16} {:>6} {:>6}  {}",
            r.name,
            r.state.to_string(),
            progress(r),
            r.runs,
            r.errors,
            r.last_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// `3/10 fragments`, or `3 fragments` when the total is unknown.
fn progress(r: &WorkerReport) -> String {
    match r.total {
        Some(t) => format!("{}/{t} {}", r.done, r.unit),
        None => format!("{} {}", r.done, r.unit),
    }
}

/// `2 (1 busy, 0 throttled, 1 failing: pins)`.
pub fn summary(rows: &[WorkerReport]) -> String {
    let count = |f: fn(&WorkerState) -> bool| rows.iter().filter(|r| f(&r.state)).count();
    let failing: Vec<&str> = rows
        .iter()
        .filter(|r| matches!(r.state, WorkerState::Failing { .. }))
        .map(|r| r.name.as_str())
        .collect();
    let mut s = format!(
        "{} ({} busy, {} throttled, {} failing",
        rows.len(),
        count(|s| *s == WorkerState::Busy),
        count(|s| *s == WorkerState::Throttled),
        failing.len()
    );
    if !failing.is_empty() {
        s.push_str(": ");
        s.push_str(&failing.join(", "));
    }
    s.push(')');
    s
}

pub async fn repair(data: PathBuf, a: JsonArg) -> Result<()> {
    let Event::Repair(r) = ask(&data, Request::Repair).await? else {
        bail!("unexpected answer from the node")
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    if !r.leader {
        println!("repair runs on the metadata leader; this node does not lead (see `fragfs meta`)");
        return Ok(());
    }
    let limit = match r.rate {
        0 => "no limit".to_string(),
        b => format!("{}/s", format_bytes(b)),
    };
    println!(
        "repair after {} unreachable, at most {limit}",
        format_duration(std::time::Duration::from_secs(r.repair_after_secs))
    );
    println!("{:<54} {:>10}  STATE", "PEER", "UNSEEN");
    for p in &r.peers {
        let state = match (p.gone, p.unseen_secs) {
            (true, _) => "gone",
            (false, 0..=4) => "up",
            (false, _) => "unreachable",
        };
        println!("{:<54} {:>9}s  {state}", p.peer_id, p.unseen_secs);
    }
    println!("{}", short_line(&r));
    println!(
        "restored:  {} cop(ies), {} stored, {} failed, {} version record(s) updated",
        r.restored_copies,
        format_bytes(r.restored_bytes),
        r.failed_copies,
        r.records_updated
    );
    Ok(())
}

/// `short: 3 cop(ies), 1.5 MiB (about 1 s left)`.
pub fn short_line(r: &RepairReport) -> String {
    let mut s = format!(
        "short:     {} cop(ies), {}",
        r.short_copies,
        format_bytes(r.short_bytes)
    );
    if r.short_copies > 0 {
        if let Some(eta) = r.eta_secs {
            s.push_str(&format!(" (about {eta} s left)"));
        }
        if r.unrecoverable > 0 {
            s.push_str(&format!(
                ", {} not recoverable from the holders on record",
                r.unrecoverable
            ));
        }
    }
    s
}
