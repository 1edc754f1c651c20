//! `fragfs bench-meta`: metadata operations per second on a 1-voter and a
//! 3-voter cluster (real peers on 127.0.0.1), side by side, beside the same
//! operations on the local filesystem in the same run.

use crate::{
    meta::{Caller, Command, Meta, Query, QueryReply, RenameFlags, Time, ROOT},
    node::{localnet::LocalNet, NodeConfig},
};
use anyhow::{bail, Context, Result};
use clap::Args;
use futures::StreamExt;
use std::{
    path::Path,
    time::{Duration, Instant},
};

#[derive(Args, Debug)]
pub struct BenchMetaArgs {
    /// Operations per sequential measurement.
    #[arg(long, default_value_t = 2000)]
    pub ops: usize,
    /// Entries in the directory that is listed.
    #[arg(long, default_value_t = 10_000)]
    pub dir_entries: usize,
}

/// Operations per second and latency percentiles of one measurement.
#[derive(Clone, Copy, Default)]
pub(super) struct Figure {
    pub ops_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub(super) fn figure(lat: &mut [Duration], total: Duration) -> Figure {
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Figure {
        ops_per_s: lat.len() as f64 / total.as_secs_f64(),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    }
}

fn now() -> Time {
    crate::volume::clock::now()
}

async fn timed<F, Fut>(n: usize, mut op: F) -> Result<Figure>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        op(i).await?;
        lat.push(t.elapsed());
    }
    Ok(figure(&mut lat, start.elapsed()))
}

struct Row {
    name: &'static str,
    figs: Vec<Figure>,
}

async fn measure(meta: &Meta, a: &BenchMetaArgs) -> Result<Vec<Figure>> {
    let c = Caller::ROOT;
    let mk = |parent, name: String| Command::Mkdir {
        parent,
        name,
        perm: 0o755,
        caller: c,
        now: now(),
    };
    let bench = match meta.write(mk(ROOT, "bench".into())).await? {
        crate::meta::Reply::Attr(a) => a.ino,
        _ => bail!("unexpected reply"),
    };
    let create = timed(a.ops, |i| async move {
        meta.write(Command::Create {
            parent: bench,
            name: format!("f{i}"),
            perm: 0o644,
            caller: c,
            now: now(),
        })
        .await?;
        Ok(())
    })
    .await?;
    let mkdir = timed(a.ops, |i| async move {
        meta.write(mk(bench, format!("d{i}"))).await?;
        Ok(())
    })
    .await?;
    let stat = timed(a.ops, |i| async move {
        meta.read(Query::Lookup {
            parent: bench,
            name: format!("f{i}"),
        })
        .await?;
        Ok(())
    })
    .await?;
    let rename = timed(a.ops, |i| async move {
        let flags = RenameFlags::default();
        meta.write(Command::Rename {
            parent: bench,
            name: format!("f{i}"),
            new_parent: bench,
            new_name: format!("g{i}"),
            flags,
            now: now(),
        })
        .await?;
        Ok(())
    })
    .await?;
    // 32 creates in flight fill the big directory.
    let big = match meta.write(mk(ROOT, "big".into())).await? {
        crate::meta::Reply::Attr(a) => a.ino,
        _ => bail!("unexpected reply"),
    };
    let start = Instant::now();
    let lat: Vec<Result<Duration>> = futures::stream::iter(0..a.dir_entries)
        .map(|i| async move {
            let t = Instant::now();
            meta.write(Command::Create {
                parent: big,
                name: format!("e{i:06}"),
                perm: 0o644,
                caller: c,
                now: now(),
            })
            .await?;
            Ok(t.elapsed())
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut lat: Vec<Duration> = lat.into_iter().collect::<Result<_>>()?;
    let create32 = figure(&mut lat, start.elapsed());
    let start = Instant::now();
    let lat: Vec<Result<Duration>> = futures::stream::iter(0..a.ops)
        .map(|i| async move {
            let t = Instant::now();
            meta.read(Query::Lookup {
                parent: big,
                name: format!("e{:06}", i % a.dir_entries.max(1)),
            })
            .await?;
            Ok(t.elapsed())
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut lat: Vec<Duration> = lat.into_iter().collect::<Result<_>>()?;
    let stat32 = figure(&mut lat, start.elapsed());
    let readdir = timed(20, |_| async move {
        let r = meta.read(Query::Readdir { ino: big }).await?;
        match r.reply {
            QueryReply::Entries(e) if e.len() == a.dir_entries => Ok(()),
            _ => bail!("readdir returned the wrong entries"),
        }
    })
    .await?;
    Ok(vec![create, mkdir, stat, rename, create32, stat32, readdir])
}

fn measure_local(dir: &Path, a: &BenchMetaArgs) -> Result<Vec<Figure>> {
    let run =
        |n: usize, mut f: Box<dyn FnMut(usize) -> std::io::Result<()> + '_>| -> Result<Figure> {
            let mut lat = Vec::with_capacity(n);
            let start = Instant::now();
            for i in 0..n {
                let t = Instant::now();
                f(i)?;
                lat.push(t.elapsed());
            }
            Ok(figure(&mut lat, start.elapsed()))
        };
    let b = dir.join("bench");
    std::fs::create_dir_all(&b)?;
    let big = dir.join("big");
    std::fs::create_dir_all(&big)?;
    let create = run(
        a.ops,
        Box::new(|i| std::fs::File::create(b.join(format!("f{i}"))).map(|_| ())),
    )?;
    let mkdir = run(
        a.ops,
        Box::new(|i| std::fs::create_dir(b.join(format!("d{i}")))),
    )?;
    let stat = run(
        a.ops,
        Box::new(|i| std::fs::metadata(b.join(format!("f{i}"))).map(|_| ())),
    )?;
    let rename = run(
        a.ops,
        Box::new(|i| std::fs::rename(b.join(format!("f{i}")), b.join(format!("g{i}")))),
    )?;
    let create_big = run(
        a.dir_entries,
        Box::new(|i| std::fs::File::create(big.join(format!("e{i:06}"))).map(|_| ())),
    )?;
    let stat_big = run(
        a.ops,
        Box::new(|i| {
            std::fs::metadata(big.join(format!("e{:06}", i % a.dir_entries.max(1)))).map(|_| ())
        }),
    )?;
    let readdir = run(
        20,
        Box::new(|_| std::fs::read_dir(&big)?.try_for_each(|e| e.map(|_| ()))),
    )?;
    Ok(vec![
        create, mkdir, stat, rename, create_big, stat_big, readdir,
    ])
}

fn voter(cfg: &mut NodeConfig) {
    cfg.meta.voter = true;
}

/// `n` peers on 127.0.0.1, every one a metadata voter.
pub(super) async fn cluster_of(base: &Path, n: usize) -> Result<LocalNet> {
    let net = LocalNet::start_with(base, n, voter).await?;
    if !net.wait_for_mesh(Duration::from_secs(15)).await {
        bail!("peers did not find each other");
    }
    net.node(0)
        .meta()
        .wait_for_leader(Duration::from_secs(10))
        .await
        .context("no leader")?;
    for i in 1..n {
        let addr = net.node(i).listen_addrs().await[0].clone();
        net.node(0).meta().add_voter(&addr).await?;
    }
    Ok(net)
}

pub async fn run(a: BenchMetaArgs) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    println!(
        "fragfs bench-meta: {} sequential ops per row, a {}-entry directory; voters on 127.0.0.1; linearizable reads",
        a.ops, a.dir_entries
    );
    let local = measure_local(&tmp.path().join("local"), &a)?;
    let one = cluster_of(&tmp.path().join("one"), 1).await?;
    let f1 = measure(one.node(0).meta(), &a).await?;
    one.shutdown().await;
    let three = cluster_of(&tmp.path().join("three"), 3).await?;
    let f3 = measure(three.node(0).meta(), &a).await?;
    three.shutdown().await;
    let names = [
        "create",
        "mkdir",
        "stat (lookup)",
        "rename",
        "create, 32 in flight",
        "stat, 32 in flight (local: 1)",
        "readdir of the big directory",
    ];
    let rows: Vec<Row> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Row {
            name: n,
            figs: vec![local[i], f1[i], f3[i]],
        })
        .collect();
    println!();
    println!(
        "{:<30} {:>26} {:>26} {:>26}",
        "", "local disk (ext4)", "fragfs, 1 voter", "fragfs, 3 voters"
    );
    println!(
        "{:<30} {:>26} {:>26} {:>26}",
        "operation", "ops/s  p50/p99 ms", "ops/s  p50/p99 ms", "ops/s  p50/p99 ms"
    );
    for r in rows {
        let cell =
            |f: &Figure| format!("{:>9.0}  {:>6.3}/{:<7.3}", f.ops_per_s, f.p50_ms, f.p99_ms);
        println!(
            "{:<30} {:>26} {:>26} {:>26}",
            r.name,
            cell(&r.figs[0]),
            cell(&r.figs[1]),
            cell(&r.figs[2])
        );
    }
    Ok(())
}
