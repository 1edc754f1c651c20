//! `fragfs bench-versions`: what a commit costs when it must merge. Three
//! peers on 127.0.0.1 (three metadata voters, 3 replicas), committing through
//! the `Volume` as a mount's close does, fragments stored beforehand:
//!
//! - a plain commit (the base is still the head);
//! - a commit whose base went stale, merged at fragment level (the other
//!   writer changed another fragment);
//! - the same for a small text file changed in the same fragment, merged
//!   line by line (the three contents fetched, verified and merged, the
//!   result stored);
//! - one 16 MiB text file changed on both sides in the same fragment: the
//!   whole merge, and the line merge alone, beside `git merge-file` on the
//!   same three files on the local disk.

use super::bench_meta::{cluster_of, figure, Figure};
use crate::{
    fragment::{FragmentSize, Manifest, NO_FILE_HASH},
    meta::{Caller, Context as Ctx, Ino, Mark, ROOT},
    volume::{Base, Durability, Volume},
};
use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct BenchVersionsArgs {
    /// Commits per measured row.
    #[arg(long, default_value_t = 50)]
    pub commits: usize,
    /// Size of the text file merged on both sides, in MiB.
    #[arg(long, default_value_t = 16)]
    pub text_mib: usize,
}

/// Fragments of the small files.
const FSZ: usize = 64 * 1024;

/// Stores `data` cut into `fsz`-byte fragments; returns its manifest.
async fn store(v: &Volume, data: &[u8], fsz: usize) -> Result<Manifest> {
    let client = v.client();
    let cands = client.placement_candidates().await;
    let data = Bytes::copy_from_slice(data);
    let mut fragments = Vec::new();
    for (i, start) in (0..data.len()).step_by(fsz).enumerate() {
        let piece = data.slice(start..(start + fsz).min(data.len()));
        fragments.push(client.put_fragment(i as u64, piece, &cands).await?);
    }
    Ok(Manifest {
        name: "bench".into(),
        size: data.len() as u64,
        fragment_size: FragmentSize::new(fsz as u32).context("fragment size")?,
        hash_algo: client.config().hash,
        file_sha3: NO_FILE_HASH,
        redundancy: client.config().scheme(),
        fragments,
    })
}

/// A new file `name` whose first version holds `data`; returns it and
/// that version.
async fn file(v: &Volume, name: &str, data: &[u8], fsz: usize) -> Result<(Ino, Base)> {
    let a = v
        .create(ROOT, name.into(), 0o644, Caller::ROOT, Ctx::default())
        .await?;
    let m = store(v, data, fsz).await?;
    let c = v
        .commit(a.ino, None, m, Caller::ROOT, Durability::Visible)
        .await?;
    Ok((
        a.ino,
        Base {
            version: c.version,
            hlc: c.hlc,
        },
    ))
}

/// `data` with byte `at` changed to the `i`th letter.
fn changed(data: &[u8], at: usize, i: usize) -> Vec<u8> {
    let mut d = data.to_vec();
    d[at] = b'a' + (i % 26) as u8;
    d
}

/// Plain commits: each on the head, changing fragment 0. The figure's
/// rate is over the commits' own time (storing is not timed).
async fn plain(v: &Volume, n: usize) -> Result<Figure> {
    let data = vec![b'x'; 4 * FSZ];
    let (ino, mut head) = file(v, "plain", &data, FSZ).await?;
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let m = store(v, &changed(&data, 5, i), FSZ).await?;
        let t = Instant::now();
        let c = v
            .commit(ino, Some(head), m, Caller::ROOT, Durability::Visible)
            .await?;
        lat.push(t.elapsed());
        head = Base {
            version: c.version,
            hlc: c.hlc,
        };
    }
    let spent: Duration = lat.iter().sum();
    Ok(figure(&mut lat, spent))
}

/// Commits on a stale base: another writer committed a change at `theirs_at`
/// first; ours changes `ours_at`. Only ours' commit is timed.
async fn stale(
    v: &Volume,
    name: &str,
    data: &[u8],
    at: (usize, usize),
    n: usize,
) -> Result<Figure> {
    let (ino, mut head) = file(v, name, data, FSZ).await?;
    let mut lat = Vec::with_capacity(n);
    let mut current = data.to_vec();
    for i in 0..n {
        let theirs = store(v, &changed(&current, at.0, i), FSZ).await?;
        let ours_bytes = changed(&current, at.1, i + 1);
        let ours = store(v, &ours_bytes, FSZ).await?;
        v.commit(ino, Some(head), theirs, Caller::ROOT, Durability::Visible)
            .await?;
        let t = Instant::now();
        let c = v
            .commit(ino, Some(head), ours, Caller::ROOT, Durability::Visible)
            .await?;
        lat.push(t.elapsed());
        if !matches!(c.mark, Some(Mark::Merged { .. })) {
            bail!("commit {i} of {name} did not merge: {:?}", c.mark);
        }
        head = Base {
            version: c.version,
            hlc: c.hlc,
        };
        current = v.read_range(&c.manifest, 0, c.manifest.size).await?;
    }
    let spent: Duration = lat.iter().sum();
    Ok(figure(&mut lat, spent))
}

/// A text of at most `mib` MiB (whole lines, numbered).
fn text(mib: usize) -> Vec<u8> {
    let mut t = Vec::with_capacity(mib << 20);
    let mut i = 0;
    while t.len() + 53 <= mib << 20 {
        t.extend_from_slice(
            format!("{i:08} the quick brown fox jumps over the lazy dog\n").as_bytes(),
        );
        i += 1;
    }
    t
}

/// The 16 MiB merge: (whole commit, line merge alone, git merge-file).
async fn big_text(v: &Volume, mib: usize) -> Result<(Duration, Duration, Option<Duration>)> {
    let base = text(mib);
    let line = 53; // bytes per line: position 3 is a digit
    let (theirs, ours) = (
        changed(&base, 100 * line + 3, 0),
        changed(&base, 200 * line + 3, 1),
    );
    let fsz = 1 << 20;
    let (ino, head) = file(v, "big.txt", &base, fsz).await?;
    let (mt, mo) = (store(v, &theirs, fsz).await?, store(v, &ours, fsz).await?);
    v.commit(ino, Some(head), mt, Caller::ROOT, Durability::Visible)
        .await?;
    let t = Instant::now();
    let c = v
        .commit(ino, Some(head), mo, Caller::ROOT, Durability::Visible)
        .await?;
    let whole = t.elapsed();
    if !matches!(c.mark, Some(Mark::Merged { .. })) {
        bail!("the {mib} MiB text did not merge: {:?}", c.mark);
    }
    let t = Instant::now();
    let merged = crate::version::merge_text(&base, &ours, &theirs);
    let lines = t.elapsed();
    if !matches!(merged, crate::version::TextMerge::Clean(_)) {
        bail!("the line merge of the {mib} MiB text failed");
    }
    Ok((whole, lines, git_merge_file(&base, &ours, &theirs)))
}

/// `git merge-file` on the three files on the local disk (None without git).
fn git_merge_file(base: &[u8], ours: &[u8], theirs: &[u8]) -> Option<Duration> {
    let dir = tempfile::tempdir().ok()?;
    let p = |n: &str| dir.path().join(n);
    for (n, d) in [("base", base), ("ours", ours), ("theirs", theirs)] {
        std::fs::write(p(n), d).ok()?;
    }
    let t = Instant::now();
    let out = std::process::Command::new("git")
        .args(["merge-file", "-p"])
        .args([p("ours"), p("base"), p("theirs")])
        .output()
        .ok()?;
    out.status.success().then(|| t.elapsed())
}

pub async fn run(a: BenchVersionsArgs) -> Result<()> {
    if a.commits == 0 || a.text_mib == 0 {
        bail!("--commits and --text-mib must be at least 1");
    }
    let tmp = tempfile::tempdir()?;
    let net = cluster_of(&tmp.path().join("net"), 3).await?;
    let v = net.node(0).volume();
    println!(
        "fragfs bench-versions: 3 peers on 127.0.0.1, 3 metadata voters, {} commits per row, fragments stored beforehand",
        a.commits
    );
    let text_small: Vec<u8> = text(1)[..30 * 1024].to_vec();
    let rows = [
        (
            "plain commit (base is the head)",
            plain(&v, a.commits).await?,
        ),
        (
            "stale base, fragment merge (256 KiB binary)",
            stale(
                &v,
                "frag",
                &vec![b'y'; 4 * FSZ],
                (10, 3 * FSZ + 10),
                a.commits,
            )
            .await?,
        ),
        (
            "stale base, line merge (30 KiB text)",
            stale(&v, "small.txt", &text_small, (3, 53 * 386 + 3), a.commits).await?,
        ),
    ];
    println!();
    println!(
        "{:<46} {:>10} {:>10} {:>10}",
        "commit", "mean ms", "p50 ms", "p99 ms"
    );
    for (name, f) in &rows {
        println!(
            "{name:<46} {:>10.2} {:>10.2} {:>10.2}",
            1e3 / f.ops_per_s,
            f.p50_ms,
            f.p99_ms
        );
    }
    let (whole, lines, git) = big_text(&v, a.text_mib).await?;
    println!();
    println!(
        "{} MiB text, both sides changed one line of the same fragment:",
        a.text_mib
    );
    println!(
        "  commit with the merge (fetch 3, merge, store) {:>9.0} ms",
        whole.as_secs_f64() * 1e3
    );
    println!(
        "  line merge alone (diffy, in memory)          {:>9.0} ms",
        lines.as_secs_f64() * 1e3
    );
    match git {
        Some(g) => println!(
            "  git merge-file on the local disk              {:>9.0} ms",
            g.as_secs_f64() * 1e3
        ),
        None => println!("  git merge-file on the local disk              (git not found)"),
    }
    net.shutdown().await;
    Ok(())
}
