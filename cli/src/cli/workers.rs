//! `fragfs workers`: the node's maintenance workers, and the one-line
//! summary `fragfs status` prints.

use super::{files::ask, JsonArg};
use crate::{
    control::{Event, Request},
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
