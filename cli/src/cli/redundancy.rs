//! `redundancy`: a file's or directory's redundancy spec
//! (`user.fragfs.redundancy`), where it comes from and what it costs, or
//! setting it.

use super::{
    files::{ask, stale_note},
    ns_path::namespace_path,
};
use crate::{
    control::{Event, Request},
    lifecycle::RedundancySpec,
    volume::RedundancySource,
};
use anyhow::{anyhow, bail, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct RedundancyArgs {
    /// The file or directory: a namespace path, or a path inside a mounted
    /// fragfs.
    pub path: String,
    /// Set the spec: `replicas:N` (N full copies) or `rs:K+M` (Reed–Solomon,
    /// K data and M parity shards, each on a distinct peer). Files written
    /// from now on follow it; existing ones keep their scheme. Without it,
    /// print the effective spec, where it comes from and its overhead.
    pub spec: Option<String>,
    /// Print JSON instead of one line.
    #[arg(long)]
    pub json: bool,
}

pub async fn redundancy(data: PathBuf, a: RedundancyArgs) -> Result<()> {
    if let Some(s) = &a.spec {
        RedundancySpec::parse(s.as_bytes())?;
    }
    let req = Request::Redundancy {
        path: namespace_path(&a.path),
        set: a.spec,
    };
    let Event::Redundancy(r) = ask(&data, req).await? else {
        bail!("unexpected answer")
    };
    let spec = RedundancySpec::parse(r.spec.as_bytes())
        .map_err(|e| anyhow!("the node answered an unreadable spec: {e}"))?;
    if a.json {
        let mut v = serde_json::to_value(&r)?;
        v["overhead"] = serde_json::json!(spec.overhead());
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let from = match &r.source {
            RedundancySource::Itself => "set on this path".to_string(),
            RedundancySource::Directory { path } => format!("inherited from {path}"),
            RedundancySource::Default => "the default".to_string(),
        };
        println!(
            "{}: {} ({from}), {} bytes stored per data byte",
            r.path,
            r.spec,
            overhead(spec.overhead())
        );
    }
    if let Some(bad) = &r.invalid {
        eprintln!(
            "note: the attribute holds {bad:?}, which is no redundancy spec; the default applies"
        );
    }
    stale_note(r.stale);
    Ok(())
}

/// An overhead as people read it: `3`, `1.5`, `1.67`.
fn overhead(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn overheads_read_short() {
        assert_eq!(super::overhead(3.0), "3");
        assert_eq!(super::overhead(1.5), "1.5");
        assert_eq!(super::overhead(5.0 / 3.0), "1.67");
    }
}
