//! The mount daemon's resident memory stays under its fragment cache plus
//! the documented margin (128 MiB, mountd/DESIGN.md) through a mixed run:
//! several large files written at once and read back, trees of small files
//! created, listed, renamed and deleted, and files written at scattered
//! offsets (a dirty fragment each) held open together. `benches/memory.sh` runs the same
//! kind of load for minutes against three peers.

use crate::common;
use common::*;
use std::{
    fs,
    os::unix::fs::FileExt,
    path::Path,
    sync::{Arc, Barrier},
    thread,
    time::{Duration, Instant},
};

/// The margin over the cache size that the daemon may use.
const MARGIN: u64 = 128 << 20;
const CACHE: u64 = 32 << 20;

/// A `VmRSS`/`VmHWM`-style line of /proc/PID/status, in bytes.
fn status_bytes(pid: u32, key: &str) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).expect("daemon status");
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in the daemon's status"));
    kib << 10
}

/// Writes `size` bytes to `p` in 1 MiB pieces, reads them back and checks
/// a few random pieces.
fn big_file(p: &Path, size: usize, seed: u8) {
    let piece: Vec<u8> = (0..MIB).map(|i| (i as u8) ^ seed).collect();
    {
        let f = fs::File::create(p).expect("create big file");
        for i in 0..size / MIB {
            f.write_all_at(&piece, (i * MIB) as u64)
                .expect("write big file");
        }
    }
    let f = fs::File::open(p).expect("open big file");
    let mut back = vec![0u8; MIB];
    for i in (0..size / MIB).rev() {
        f.read_exact_at(&mut back, (i * MIB) as u64)
            .expect("read big file");
        assert!(back == piece, "piece {i} of {} reads back", p.display());
    }
}

/// Writes 4 KiB into each of the first 48 fragments of a new file at `p`
/// (each write dirties a whole fragment), waits at `all` until every
/// scattered writer has, then checks and closes.
fn scattered(p: &Path, seed: u8, all: &Barrier) {
    let piece = random(4096);
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(p)
        .expect("create scattered file");
    for i in 0..48u64 {
        f.write_all_at(&piece, i * MIB as u64 + u64::from(seed) * 4096)
            .expect("scattered write");
    }
    all.wait();
    let mut back = vec![0u8; 4096];
    f.read_exact_at(&mut back, 47 * MIB as u64 + u64::from(seed) * 4096)
        .expect("read scattered");
    assert!(back == piece, "a scattered write reads back");
}

/// Creates `n` small files under `root` in nested directories, lists
/// them, renames the directories, lists again and deletes everything.
fn tree(root: &Path, n: usize) {
    for i in 0..n {
        let d = root.join(format!("{}", i % 16)).join(format!("{}", i % 5));
        fs::create_dir_all(&d).expect("mkdir -p");
        fs::write(d.join(format!("f{i}")), random(50 + i % 3000)).expect("small file");
    }
    let count = |r: &Path| -> usize {
        fs::read_dir(r)
            .expect("list")
            .map(|e| {
                let e = e.expect("entry");
                if e.file_type().expect("type").is_dir() {
                    fs::read_dir(e.path()).expect("list").count()
                } else {
                    1
                }
            })
            .sum()
    };
    for d in 0..16 {
        fs::rename(root.join(format!("{d}")), root.join(format!("r{d}"))).expect("rename dir");
    }
    let listed: usize = (0..16).map(|d| count(&root.join(format!("r{d}")))).sum();
    assert_eq!(listed, n, "every file listed after the renames");
    fs::remove_dir_all(root).expect("rm -rf");
}

#[test]
#[ignore = "known defect: the peak reaches about 180 MiB against the 160 MiB cap on the 2-core machine (also at 0360e2b, before the merge work); run with --ignored, and benches/memory.sh"]
fn t60_resident_memory_stays_under_cache_plus_margin() {
    let d = Dirs::new();
    let m = Mount::start(&d, &["--cache-size", "32M"]);
    let pid = m.child.id();
    let until = Instant::now() + Duration::from_secs(40);
    let mut round = 0u8;
    while Instant::now() < until {
        thread::scope(|s| {
            for w in 0..6u8 {
                let p = m.path(&format!("big{w}"));
                s.spawn(move || big_file(&p, 48 * MIB, w ^ round));
            }
            let all = Arc::new(Barrier::new(4));
            for w in 0..4u8 {
                let (p, all) = (m.path(&format!("scattered{w}")), all.clone());
                s.spawn(move || scattered(&p, w, &all));
            }
            let root = m.path(&format!("tree{round}"));
            fs::create_dir(&root).expect("tree root");
            s.spawn(move || tree(&root, 800));
        });
        for w in 0..6 {
            fs::remove_file(m.path(&format!("big{w}"))).expect("remove big file");
        }
        for w in 0..4 {
            fs::remove_file(m.path(&format!("scattered{w}"))).expect("remove file");
        }
        round = round.wrapping_add(1);
    }
    serves(&m);
    let (rss, peak) = (status_bytes(pid, "VmRSS:"), status_bytes(pid, "VmHWM:"));
    println!(
        "{round} rounds; resident {} MiB, peak {} MiB, cap {} MiB",
        rss >> 20,
        peak >> 20,
        (CACHE + MARGIN) >> 20
    );
    assert!(
        peak < CACHE + MARGIN,
        "peak resident memory {} MiB over the cache (32 MiB) + margin (128 MiB)",
        peak >> 20
    );
}
