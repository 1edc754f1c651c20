//! File content through a real mount: per-fragment writes against a model
//! file on the local disk, versions sharing unchanged fragments, large
//! files, partial cold reads, and data surviving a killed daemon.

use crate::common;
use common::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::{
    fs,
    io::{Read, Seek, SeekFrom, Write},
    os::unix::fs::FileExt,
    path::Path,
    process::{Command, Stdio},
};

const KIB: usize = 1 << 10;

/// Random writes, truncations, fsyncs and reads on one open file, checked
/// against the same operations on a local file, across fragment
/// boundaries (64 KiB fragments), holes and reopenings.
#[test]
fn t10_random_writes_match_a_local_model() {
    let d = Dirs::new();
    let m = Mount::start(&d, &["--fragment-size", "64K"]);
    let local = tempfile::tempdir().expect("local dir");
    let mut rng = StdRng::seed_from_u64(seed());
    let frag = 64 * KIB as u64;
    let (fp, lp) = (m.path("model"), local.path().join("model"));
    fs::write(&fp, random(5 * frag as usize + 123)).expect("seed fragfs");
    fs::copy(&fp, &lp).expect("seed local");
    for round in 0..12 {
        let open = |p: &Path| {
            fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .expect("open rw")
        };
        let (f, l) = (open(&fp), open(&lp));
        for step in 0..25 {
            let size = l.metadata().expect("local stat").len();
            match rng.random_range(0..10) {
                0..=4 => {
                    // Anywhere near the content, sometimes past its end.
                    let off = rng.random_range(0..size + 3 * frag);
                    let len = *[1, 100, 4096, frag as usize, 3 * frag as usize + 7]
                        .get(rng.random_range(0..5))
                        .expect("len");
                    let data = random(len);
                    f.write_all_at(&data, off).expect("write fragfs");
                    l.write_all_at(&data, off).expect("write local");
                }
                5 => {
                    let to = rng.random_range(0..size + 2 * frag);
                    f.set_len(to).expect("ftruncate fragfs");
                    l.set_len(to).expect("ftruncate local");
                }
                6 => f.sync_all().expect("fsync"),
                _ => {
                    let off = rng.random_range(0..size + 10);
                    let len = rng.random_range(0..2 * frag as usize);
                    let (mut a, mut b) = (vec![0u8; len], vec![0u8; len]);
                    let na = read_at_most(&f, &mut a, off);
                    let nb = read_at_most(&l, &mut b, off);
                    assert!(
                        na == nb && a[..na] == b[..nb],
                        "round {round} step {step}: read {len} at {off} differs"
                    );
                }
            }
            assert_eq!(
                f.metadata().expect("fstat").len(),
                l.metadata().expect("local fstat").len(),
                "round {round} step {step}: size"
            );
        }
        drop((f, l));
        let (a, b) = (
            fs::read(&fp).expect("read back"),
            fs::read(&lp).expect("local"),
        );
        assert!(a == b, "round {round}: content after close differs");
        if round % 4 == 3 {
            // Through `truncate(2)` by path too.
            let to = rng.random_range(0..b.len() as u64 + frag);
            fs::OpenOptions::new()
                .write(true)
                .open(&fp)
                .and_then(|f| f.set_len(to))
                .expect("truncate fragfs");
            fs::OpenOptions::new()
                .write(true)
                .open(&lp)
                .and_then(|f| f.set_len(to))
                .expect("truncate local");
        }
    }
    drop(m);
    // A fresh daemon (cold cache) reads the same bytes.
    let m = Mount::start(&d, &["--fragment-size", "64K"]);
    assert!(
        fs::read(m.path("model")).expect("read after restart") == fs::read(&lp).expect("local"),
        "content after restart differs"
    );
}

fn read_at_most(f: &fs::File, buf: &mut [u8], off: u64) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], off + n as u64).expect("pread") {
            0 => break,
            k => n += k,
        }
    }
    n
}

/// A one-byte change stores one new fragment: the new version keeps the
/// ids of the others (the store grows by about one fragment, not the file).
#[test]
fn t20_a_small_change_stores_only_the_changed_fragment() {
    let d = Dirs::new();
    let m = Mount::start(&d, &["--fragment-size", "64K"]);
    let mut data = random(16 * 64 * KIB);
    fs::write(m.path("big"), &data).expect("write");
    let before = stored(d.data.path());
    assert!(before >= data.len() as u64, "the file is in the store");
    let f = fs::OpenOptions::new()
        .write(true)
        .open(m.path("big"))
        .expect("open for writing");
    f.write_all_at(b"!", 5 * 64 * KIB as u64 + 10)
        .expect("one byte");
    drop(f);
    data[5 * 64 * KIB + 10] = b'!';
    assert!(fs::read(m.path("big")).expect("read") == data, "content");
    let grown = stored(d.data.path()) - before;
    assert!(
        grown < 3 * 64 * KIB as u64,
        "a one-byte change stored {grown} bytes (the file is {} bytes)",
        data.len()
    );
    // The CLI gets the new version by path from the mount's node: its
    // manifest is on the network, and it has no whole-file hash (the file
    // was rewritten in place), so only the fragment ids vouch for it.
    let fragfs = fragfs_bin();
    let out = d.data.path().with_extension("out");
    let st = Command::new(&fragfs)
        .arg("--data")
        .arg(d.data.path())
        .args(["get", "/big"])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .expect("fragfs get");
    assert!(st.success(), "fragfs get /big: {st}");
    let got = fs::read(&out).expect("got");
    let _ = fs::remove_file(&out);
    assert!(got == data, "fragfs get returns the rewritten bytes");
}

/// Editor-style save, append, truncate up and down, a sparse write far out.
#[test]
fn t30_editor_save_append_truncate_and_sparse() {
    let d = Dirs::new();
    let m = Mount::start(&d, &["--fragment-size", "64K"]);
    let doc = m.path("doc.txt");
    fs::write(&doc, b"first draft\n").expect("original");
    // Save: write a temporary file, fsync it, rename it over the original.
    let tmp = m.path(".doc.txt.swp");
    let new = random(200 * KIB);
    {
        let mut f = fs::File::create(&tmp).expect("temp");
        f.write_all(&new).expect("write temp");
        f.sync_all().expect("fsync temp");
    }
    fs::rename(&tmp, &doc).expect("rename over");
    assert!(fs::read(&doc).expect("read saved") == new, "saved bytes");
    assert!(!tmp.exists(), "temp gone");

    // Append.
    let more = random(70 * KIB);
    fs::OpenOptions::new()
        .append(true)
        .open(&doc)
        .and_then(|mut f| f.write_all(&more))
        .expect("append");
    let mut want = new.clone();
    want.extend_from_slice(&more);
    assert!(fs::read(&doc).expect("read appended") == want, "appended");

    // Truncate down into the middle of a fragment, then up again: the
    // cut-off bytes come back as zeros.
    let f = fs::OpenOptions::new().write(true).open(&doc).expect("open");
    f.set_len(100 * KIB as u64 + 3).expect("cut");
    f.set_len(300 * KIB as u64).expect("extend");
    drop(f);
    want.truncate(100 * KIB + 3);
    want.resize(300 * KIB, 0);
    assert!(fs::read(&doc).expect("read truncated") == want, "truncated");

    // A sparse write 1 GiB out: a hole of zeros, then the bytes.
    let far = 1u64 << 30;
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&doc)
        .expect("open");
    f.seek(SeekFrom::Start(far)).expect("seek");
    f.write_all(b"far away").expect("sparse write");
    f.sync_all().expect("fsync");
    drop(f);
    assert_eq!(fs::metadata(&doc).expect("stat").len(), far + 8);
    let mut f = fs::File::open(&doc).expect("open");
    let mut mid = vec![1u8; 64 * KIB];
    f.seek(SeekFrom::Start(far / 2)).expect("seek");
    f.read_exact(&mut mid).expect("read the hole");
    assert!(mid.iter().all(|&b| b == 0), "a hole reads as zeros");
    let mut tail = Vec::new();
    f.seek(SeekFrom::Start(far - 2)).expect("seek");
    f.read_to_end(&mut tail).expect("read the end");
    assert_eq!(tail, b"\0\0far away");
}

/// `cp` of a 200 MiB file in and `cmp` back, after a restart so every
/// byte comes back from the network.
#[test]
fn t40_cp_and_cmp_a_200_mib_file() {
    let d = Dirs::new();
    let src_dir = tempfile::tempdir().expect("src dir");
    let src = src_dir.path().join("big.bin");
    fs::write(&src, random(200 * MIB)).expect("source");
    let m = Mount::start(&d, &["--capacity", "1G"]);
    let st = Command::new("cp")
        .arg(&src)
        .arg(m.path("big.bin"))
        .status()
        .expect("cp");
    assert!(st.success(), "cp: {st}");
    drop(m);
    let m = Mount::start(&d, &["--capacity", "1G"]);
    let out = Command::new("cmp")
        .arg(&src)
        .arg(m.path("big.bin"))
        .output()
        .expect("cmp");
    assert!(
        out.status.success(),
        "cmp: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The first bytes of a cold large file come without fetching the file.
#[test]
fn t50_first_bytes_of_a_cold_file_need_few_fragments() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let data = random(64 * MIB);
    fs::write(m.path("cold"), &data).expect("write");
    drop(m);
    let m = Mount::start(&d, &[]);
    let mut head = vec![0u8; 4096];
    fs::File::open(m.path("cold"))
        .and_then(|mut f| f.read_exact(&mut head))
        .expect("read the first bytes");
    assert_eq!(head, data[..4096]);
    let (_, fetched) = fragments_read(&m.stop());
    assert!(
        (1..=16).contains(&fetched),
        "{fetched} fragments fetched for the first 4 KiB of a 64-fragment file"
    );
}

/// Reads here and there in a cold file of BLAKE3 fragments fetch verified
/// slices, not whole fragments, and return the file's bytes.
#[test]
fn t55_scattered_reads_of_a_cold_file_fetch_slices() {
    let d = Dirs::new();
    let m = Mount::start(&d, &["--hash", "blake3"]);
    let data = random(16 * MIB);
    fs::write(m.path("cold"), &data).expect("write");
    drop(m);
    let m = Mount::start(&d, &["--hash", "blake3"]);
    let f = fs::File::open(m.path("cold")).expect("open");
    let mut rng = StdRng::seed_from_u64(seed());
    for _ in 0..40 {
        let at = rng.random_range(1..data.len() / 4096 - 1) * 4096 + rng.random_range(0..100);
        let mut buf = vec![0u8; 3000];
        f.read_exact_at(&mut buf, at as u64).expect("pread");
        assert!(buf[..] == data[at..at + 3000], "bytes at {at}");
    }
    drop(f);
    let log = m.stop();
    let slices: u64 = log
        .lines()
        .rev()
        .find_map(|l| {
            let before = &l[..l.find(" slice(s) fetched")?];
            before.rsplit(' ').next()?.parse().ok()
        })
        .unwrap_or_else(|| {
            panic!(
                "no slice counter in the log:
{log}"
            )
        });
    let (_, fetched) = fragments_read(&log);
    assert!(slices >= 10, "{slices} slices for 40 scattered reads");
    assert!(
        fetched < 16,
        "{fetched} whole fragments fetched for scattered reads"
    );
}

/// Data fsynced before the daemon is killed with SIGKILL is there after a
/// remount.
#[test]
fn t60_fsynced_data_survives_kill_9_of_the_daemon() {
    let d = Dirs::new();
    let m = Mount::start(&d, &["--fragment-size", "64K"]);
    let data = random(300 * KIB);
    {
        let mut f = fs::File::create(m.path("durable")).expect("create");
        f.write_all(&data).expect("write");
        f.sync_all().expect("fsync");
        // Still open, more written but not synced, when the daemon dies.
        f.write_all(b"maybe").expect("write after fsync");
        m.kill9();
    }
    let m = Mount::start(&d, &["--fragment-size", "64K"]);
    let back = fs::read(m.path("durable")).expect("read after remount");
    assert!(
        back.len() >= data.len() && back[..data.len()] == data[..],
        "fsynced bytes lost ({} bytes back)",
        back.len()
    );
}

/// `ls -l` of a directory needs no lookup per entry: the listing carries
/// the attributes (readdirplus), and they are right.
#[test]
fn t70_a_long_listing_comes_with_attributes() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    fs::create_dir(m.path("dir")).expect("mkdir");
    for i in 0..40 {
        fs::write(m.path(&format!("dir/f{i:02}")), vec![b'x'; i]).expect("write");
    }
    drop(m);
    let m = Mount::start(&d, &[]);
    let out = Command::new("ls")
        .args(["-ln", "--time-style=+"])
        .arg(m.path("dir"))
        .output()
        .expect("ls");
    assert!(out.status.success(), "ls -l failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<(String, u64)> = text
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[f.len() - 1].to_string(), f[4].parse().expect("size"))
        })
        .collect();
    let want: Vec<(String, u64)> = (0..40).map(|i| (format!("f{i:02}"), i as u64)).collect();
    assert_eq!(rows, want, "names and sizes from ls -l");
    let log = m.stop();
    let lookups = log
        .lines()
        .rev()
        .find_map(|l| {
            l.split("lookups: ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("no counters in the log:\n{log}"));
    assert!(
        lookups < 10,
        "{lookups} lookups for a listing of 40 entries with attributes"
    );
}

/// rm -rf of a tree, chown and its setuid clearing, utimens with
/// UTIME_OMIT and UTIME_NOW.
#[test]
fn t80_rm_rf_chown_and_utimens() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);

    fs::create_dir_all(m.path("t/a/b/c")).expect("mkdir -p");
    for (i, dir) in ["t", "t/a", "t/a/b", "t/a/b/c"].iter().enumerate() {
        fs::write(m.path(&format!("{dir}/f{i}")), random(1000 * i)).expect("file");
    }
    std::os::unix::fs::symlink("a", m.path("t/link")).expect("symlink");
    let st = Command::new("rm")
        .arg("-rf")
        .arg(m.path("t"))
        .status()
        .expect("rm");
    assert!(st.success(), "rm -rf: {st}");
    assert!(!m.path("t").exists(), "the tree is gone");
    assert_eq!(fs::read_dir(&m.mnt).expect("root").count(), 0);
    assert_eq!(fs::metadata(&m.mnt).expect("root").nlink(), 2, "root links");

    let f = m.path("owned");
    fs::write(&f, b"x").expect("file");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o4755)).expect("chmod u+s");
    std::os::unix::fs::chown(&f, Some(1234), Some(5678)).expect("chown");
    let md = fs::metadata(&f).expect("stat");
    assert_eq!((md.uid(), md.gid()), (1234, 5678));
    assert_eq!(md.mode() & 0o7777, 0o755, "chown clears setuid");

    // atime omitted, mtime set to a fixed time.
    let before = fs::metadata(&f).expect("stat");
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: 1_000_000_000,
            tv_nsec: 123_456_789,
        },
    ];
    let c = cstr(&f);
    // SAFETY: valid path and two timespecs.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) };
    assert_eq!(rc, 0, "utimensat: {}", std::io::Error::last_os_error());
    let md = fs::metadata(&f).expect("stat");
    assert_eq!((md.mtime(), md.mtime_nsec()), (1_000_000_000, 123_456_789));
    assert_eq!(
        (md.atime(), md.atime_nsec()),
        (before.atime(), before.atime_nsec()),
        "UTIME_OMIT keeps atime"
    );
    // mtime now, atime omitted.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
    ];
    // SAFETY: as above.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) };
    assert_eq!(rc, 0, "utimensat now: {}", std::io::Error::last_os_error());
    let md = fs::metadata(&f).expect("stat");
    assert!(
        md.mtime() >= now && md.mtime() <= now + 60,
        "UTIME_NOW: mtime {} vs now {now}",
        md.mtime()
    );
    assert_eq!(md.atime(), before.atime(), "atime still kept");
}
