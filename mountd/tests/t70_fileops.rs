//! Content operations of ordinary tools through a real mount, checked
//! against a local file: a huge truncate or write is `EFBIG` and the mount
//! keeps serving; `fallocate`'s modes; `SEEK_DATA`/`SEEK_HOLE`; and
//! `copy_file_range`, which shares stored fragments when the ranges line
//! up and copies bytes otherwise.

use crate::common;
use common::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::{
    fs,
    os::unix::{fs::FileExt, io::AsRawFd},
    path::Path,
};

const FRAG: u64 = 64 << 10;
const MOUNT: &[&str] = &["--fragment-size", "64K"];

/// The value of a libc call that returns -1 on failure, or its errno.
fn check(rc: i64) -> Result<i64, i32> {
    match rc {
        0.. => Ok(rc),
        _ => Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)),
    }
}

fn errno_of(r: std::io::Result<()>) -> Result<(), i32> {
    r.map_err(|e| e.raw_os_error().unwrap_or(0))
}

fn fallocate(f: &fs::File, mode: i32, off: u64, len: u64) -> Result<(), i32> {
    // SAFETY: fallocate(2) on an open descriptor with plain integers.
    let rc = unsafe { libc::fallocate(f.as_raw_fd(), mode, off as i64, len as i64) };
    check(rc.into()).map(drop)
}

fn seek(f: &fs::File, off: u64, whence: i32) -> Result<u64, i32> {
    // SAFETY: lseek(2) on an open descriptor with plain integers.
    check(unsafe { libc::lseek(f.as_raw_fd(), off as i64, whence) }).map(|o| o as u64)
}

/// One `copy_file_range(2)` call; the bytes it copied.
fn copy_range(
    src: &fs::File,
    off_in: u64,
    dst: &fs::File,
    off_out: u64,
    len: u64,
) -> Result<u64, i32> {
    let (mut i, mut o) = (off_in as i64, off_out as i64);
    // SAFETY: copy_file_range(2) on open descriptors with valid out-pointers.
    let n = unsafe {
        libc::copy_file_range(
            src.as_raw_fd(),
            &mut i,
            dst.as_raw_fd(),
            &mut o,
            len as usize,
            0,
        )
    };
    check(n as i64).map(|n| n as u64)
}

/// Copies up to `len` bytes as `cp` does: calls until done or at the
/// source's end. Returns the bytes copied.
fn copy_all(src: &fs::File, off_in: u64, dst: &fs::File, off_out: u64, len: u64) -> u64 {
    let mut done = 0;
    while done < len {
        match copy_range(src, off_in + done, dst, off_out + done, len - done) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) => panic!("copy_file_range at {}: errno {e}", off_in + done),
        }
    }
    done
}

/// Everything `f` holds now, read through `f`.
fn read_all(f: &fs::File) -> Vec<u8> {
    let mut v = vec![0u8; f.metadata().expect("fstat").len() as usize];
    f.read_exact_at(&mut v, 0).expect("read all");
    v
}

/// Resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS");
    kib << 10
}

/// A truncate to ~1 PB (by path and by handle), a write near `i64::MAX`
/// and a fallocate past the largest size are `EFBIG`; the largest size
/// (65536 fragments) works sparsely; the daemon lives on and serves.
#[test]
fn t10_huge_sizes_are_efbig_and_the_mount_keeps_serving() {
    let d = Dirs::new();
    let mut m = Mount::start(&d, MOUNT);
    let p = m.path("f");
    let data = random(3 * FRAG as usize + 5);
    fs::write(&p, &data).expect("write");
    let huge: u64 = 999_999_999_999_999;
    let c = cstr(&p);
    // SAFETY: truncate(2) on a valid path.
    let rc = unsafe { libc::truncate(c.as_ptr(), huge as i64) };
    assert_eq!(check(rc.into()), Err(libc::EFBIG), "truncate by path");
    let f = open_rw(&p);
    assert_eq!(errno_of(f.set_len(huge)), Err(libc::EFBIG), "ftruncate");
    let near_max = i64::MAX as u64 - 1;
    assert_eq!(
        errno_of(f.write_at(b"x", near_max).map(drop)),
        Err(libc::EFBIG),
        "write near i64::MAX"
    );
    assert_eq!(fallocate(&f, 0, huge, 1), Err(libc::EFBIG), "fallocate");
    // What one manifest describes: 65536 fragments (3 replicas).
    let max = 65536 * FRAG;
    assert_eq!(errno_of(f.set_len(max + 1)), Err(libc::EFBIG), "max + 1");
    f.set_len(max).expect("truncate to the largest size");
    assert_eq!(f.metadata().expect("fstat").len(), max);
    drop(f);
    let f = fs::File::open(&p).expect("open read-only");
    assert_eq!(f.metadata().expect("fstat").len(), max, "size after close");
    let mut tail = [1u8; 10];
    f.read_exact_at(&mut tail, max - 10).expect("read the end");
    assert_eq!(tail, [0u8; 10], "the grown part reads as zeros");
    let mut head = vec![0u8; data.len()];
    f.read_exact_at(&mut head, 0).expect("read the start");
    assert!(head == data, "the old content is intact");
    assert!(
        matches!(m.child.try_wait(), Ok(None)),
        "fragfs-mountd is alive"
    );
    let resident = rss(m.child.id());
    assert!(resident < 512 << 20, "mount RSS {resident} bytes");
    fs::write(m.path("g"), b"still serving").expect("write another file");
    assert_eq!(fs::read(m.path("g")).expect("read back"), b"still serving");
}

/// Each supported `fallocate` mode leaves the same size and bytes as on a
/// local file, on an open handle and after close and a restart; other
/// modes are `EOPNOTSUPP`.
#[test]
fn t20_fallocate_modes_match_a_local_file() {
    let d = Dirs::new();
    let m = Mount::start(&d, MOUNT);
    let local = tempfile::tempdir().expect("local dir");
    let (fp, lp) = (m.path("alloc"), local.path().join("alloc"));
    let data = random(5 * FRAG as usize + 1000);
    fs::write(&fp, &data).expect("write fragfs");
    fs::write(&lp, &data).expect("write local");
    let (f, l) = (open_rw(&fp), open_rw(&lp));
    let keep = libc::FALLOC_FL_KEEP_SIZE;
    let punch = libc::FALLOC_FL_PUNCH_HOLE | keep;
    let zero = libc::FALLOC_FL_ZERO_RANGE;
    let steps: [(&str, i32, u64, u64); 11] = [
        ("allocate past the end", 0, 5 * FRAG + 2000, 70_000),
        ("allocate inside", 0, 10, 100),
        ("keep size past the end", keep, 7 * FRAG, 5000),
        ("punch part, whole, part", punch, FRAG + 10, 2 * FRAG),
        ("punch a whole fragment", punch, 4 * FRAG, FRAG),
        ("punch across the end", punch, 6 * FRAG, 2 * FRAG),
        ("zero inside a fragment", zero, 100, 5000),
        ("zero one and a half", zero, 2 * FRAG, FRAG + FRAG / 2),
        ("zero past the end", zero, 7 * FRAG, 1000),
        ("zero past the end, keep size", zero | keep, 8 * FRAG, 1000),
        ("zero from the start", zero, 0, FRAG),
    ];
    for (what, mode, off, len) in steps {
        fallocate(&l, mode, off, len).unwrap_or_else(|e| panic!("{what}: local errno {e}"));
        fallocate(&f, mode, off, len).unwrap_or_else(|e| panic!("{what}: fragfs errno {e}"));
        let (fl, ll) = (f.metadata().expect("fstat"), l.metadata().expect("fstat"));
        assert_eq!(fl.len(), ll.len(), "{what}: size");
        assert!(read_all(&f) == read_all(&l), "{what}: content differs");
    }
    let unsupported = [
        ("collapse range", libc::FALLOC_FL_COLLAPSE_RANGE),
        ("insert range", libc::FALLOC_FL_INSERT_RANGE),
        ("punch without keep size", libc::FALLOC_FL_PUNCH_HOLE),
        ("punch and zero", punch | zero),
    ];
    for (what, mode) in unsupported {
        assert_eq!(
            fallocate(&f, mode, 0, FRAG),
            Err(libc::EOPNOTSUPP),
            "{what}"
        );
    }
    drop((f, l));
    let want = fs::read(&lp).expect("local");
    assert!(fs::read(&fp).expect("read") == want, "content after close");
    drop(m);
    let m = Mount::start(&d, MOUNT);
    assert!(
        fs::read(m.path("alloc")).expect("read after restart") == want,
        "content after restart"
    );
}

/// `SEEK_DATA`/`SEEK_HOLE` see whole-fragment holes (never written,
/// written as zeros, punched) on a handle open for writing, after fsync,
/// on a read-only handle and after a restart; the end is a hole; at or
/// past the end is `ENXIO`.
#[test]
fn t30_seek_data_and_hole_find_whole_fragment_holes() {
    let d = Dirs::new();
    let m = Mount::start(&d, MOUNT);
    let p = m.path("sparse");
    let f = open_rw(&p);
    // data | hole | hole | data | zeros | short data
    f.write_all_at(&random(FRAG as usize), 0)
        .expect("fragment 0");
    f.write_all_at(&random(FRAG as usize), 3 * FRAG)
        .expect("fragment 3");
    f.write_all_at(&vec![0u8; FRAG as usize], 4 * FRAG)
        .expect("fragment 4");
    f.write_all_at(&random(1000), 5 * FRAG).expect("fragment 5");
    let size = 5 * FRAG + 1000;
    let (data, hole) = (libc::SEEK_DATA, libc::SEEK_HOLE);
    let cases = [
        (0, data, Ok(0)),
        (10, data, Ok(10)),
        (0, hole, Ok(FRAG)),
        (FRAG, data, Ok(3 * FRAG)),
        (FRAG + 5, data, Ok(3 * FRAG)),
        (FRAG + 5, hole, Ok(FRAG + 5)),
        (3 * FRAG, hole, Ok(4 * FRAG)),
        (4 * FRAG + 1, data, Ok(5 * FRAG)),
        (5 * FRAG, hole, Ok(size)),
        (size - 1, data, Ok(size - 1)),
        (size, data, Err(libc::ENXIO)),
        (size, hole, Err(libc::ENXIO)),
    ];
    let expect = |f: &fs::File, when: &str| {
        for (off, whence, want) in cases {
            let name = if whence == data {
                "SEEK_DATA"
            } else {
                "SEEK_HOLE"
            };
            assert_eq!(seek(f, off, whence), want, "{when}: lseek({off}, {name})");
        }
    };
    expect(&f, "open for writing");
    f.sync_all().expect("fsync");
    expect(&f, "after fsync");
    drop(f);
    expect(&fs::File::open(&p).expect("open"), "read-only");
    drop(m);
    let m = Mount::start(&d, MOUNT);
    let p = m.path("sparse");
    expect(&fs::File::open(&p).expect("open"), "after restart");
    let f = open_rw(&p);
    let punch = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
    fallocate(&f, punch, 0, FRAG).expect("punch fragment 0");
    assert_eq!(seek(&f, 0, data), Ok(3 * FRAG), "punched, open");
    drop(f);
    let f = fs::File::open(&p).expect("open");
    assert_eq!(seek(&f, 0, data), Ok(3 * FRAG), "punched, closed");
    assert_eq!(seek(&f, 0, hole), Ok(0), "punched: a hole at 0");
    let f = open_rw(&p);
    f.set_len(3 * FRAG).expect("cut to the holes");
    assert_eq!(seek(&f, 0, data), Err(libc::ENXIO), "all holes");
    assert_eq!(seek(&f, 0, hole), Ok(0), "all holes");
}

/// A copy whose offsets are fragment-aligned (here the whole file, with a
/// hole and a short tail) shares the source's fragments: the mount reads
/// none and the store grows by the manifest only; the copy reads back
/// equal and keeps the hole.
#[test]
fn t40_copy_file_range_shares_aligned_fragments() {
    let d = Dirs::new();
    let m = Mount::start(&d, MOUNT);
    let mut model = random(5 * FRAG as usize + 777);
    model[2 * FRAG as usize..3 * FRAG as usize].fill(0);
    {
        let f = open_rw(&m.path("src"));
        f.write_all_at(&model[..2 * FRAG as usize], 0)
            .expect("write the head");
        f.write_all_at(&model[3 * FRAG as usize..], 3 * FRAG)
            .expect("write after the hole");
    }
    // A fresh daemon: its counters count only what the copy reads.
    drop(m);
    let m = Mount::start(&d, MOUNT);
    let before = stored(d.data.path());
    let len = model.len() as u64;
    {
        let src = fs::File::open(m.path("src")).expect("open source");
        let dst = open_rw(&m.path("dst"));
        assert_eq!(copy_all(&src, 0, &dst, 0, len + 100), len, "copied");
    }
    let (cached, fetched) = fragments_read(&m.stop());
    assert_eq!((cached, fetched), (0, 0), "fragments read by the copy");
    let grown = stored(d.data.path()) - before;
    assert!(grown < FRAG / 4, "the copy stored {grown} bytes");
    let m = Mount::start(&d, MOUNT);
    let dst = fs::File::open(m.path("dst")).expect("open the copy");
    assert!(read_all(&dst) == model, "the copy's content");
    assert_eq!(seek(&dst, 2 * FRAG, libc::SEEK_DATA), Ok(3 * FRAG), "hole");
}

/// Copies at any offsets (unaligned, aligned over a longer destination,
/// growing it, short at the source's end), from a handle with unsaved
/// writes, leave the same bytes as on a local file.
#[test]
fn t50_copy_file_range_copies_bytes_like_a_local_file() {
    let d = Dirs::new();
    let m = Mount::start(&d, MOUNT);
    let local = tempfile::tempdir().expect("local dir");
    let (src, dst) = (random(3 * FRAG as usize + 500), random(4 * FRAG as usize));
    let open = |dir: &Path| {
        fs::write(dir.join("src"), &src).expect("write source");
        fs::write(dir.join("dst"), &dst).expect("write destination");
        let s = open_rw(&dir.join("src"));
        // Not saved yet when the copies read it.
        s.write_all_at(b"unsaved bytes", 2 * FRAG - 5)
            .expect("write the source");
        (s, open_rw(&dir.join("dst")))
    };
    let (fs_, fd) = open(&m.mnt);
    let (ls, ld) = open(local.path());
    let cases = [
        ("unaligned", 1000, 5, 2 * FRAG),
        ("aligned, destination longer", 0, FRAG, FRAG),
        ("aligned tail into the middle", 3 * FRAG, 0, FRAG),
        ("growing the destination", FRAG, 3 * FRAG + 100, FRAG + 400),
        ("short at the source's end", 3 * FRAG + 400, 0, 1000),
        ("from the source's end", 3 * FRAG + 500, 0, 10),
    ];
    for (what, off_in, off_out, len) in cases {
        let n = copy_all(&fs_, off_in, &fd, off_out, len);
        assert_eq!(
            n,
            copy_all(&ls, off_in, &ld, off_out, len),
            "{what}: copied"
        );
        assert_eq!(
            fd.metadata().expect("fstat").len(),
            ld.metadata().expect("fstat").len(),
            "{what}: size"
        );
        assert!(read_all(&fd) == read_all(&ld), "{what}: content differs");
    }
    drop((fs_, fd, ls, ld));
    for name in ["src", "dst"] {
        assert!(
            fs::read(m.path(name)).expect("read")
                == fs::read(local.path().join(name)).expect("local"),
            "{name} after close"
        );
    }
}

/// Every byte before the answer of `SEEK_DATA` at `off` is zero in
/// `model` (all of them to the end when there is no data).
fn check_seek_data(f: &fs::File, model: &[u8], off: u64, when: &str) {
    let size = model.len() as u64;
    match seek(f, off, libc::SEEK_DATA) {
        Ok(d) => {
            assert!(
                d >= off && d < size,
                "{when}: SEEK_DATA({off}) = {d}, size {size}"
            );
            let zeros = &model[off as usize..d as usize];
            assert!(
                zeros.iter().all(|&b| b == 0),
                "{when}: data before SEEK_DATA({off}) = {d}"
            );
        }
        Err(libc::ENXIO) => {
            let rest = model.get(off as usize..).unwrap_or_default();
            assert!(
                rest.iter().all(|&b| b == 0),
                "{when}: ENXIO at {off} before data"
            );
        }
        Err(e) => panic!("{when}: SEEK_DATA({off}): errno {e}"),
    }
}

/// Random writes, fallocates, copies (from another file and within the
/// file), truncations and fsyncs on one open file, checked after each
/// step against the same calls on a local file; `SEEK_DATA` never skips
/// a non-zero byte.
#[test]
fn t60_random_range_operations_match_a_local_file() {
    let d = Dirs::new();
    let m = Mount::start(&d, MOUNT);
    let local = tempfile::tempdir().expect("local dir");
    let mut rng = StdRng::seed_from_u64(seed());
    let other = random(4 * FRAG as usize + 300);
    fs::write(m.path("other"), &other).expect("write other");
    fs::write(local.path().join("other"), &other).expect("write local other");
    let (fp, lp) = (m.path("model"), local.path().join("model"));
    let (f, l) = (open_rw(&fp), open_rw(&lp));
    let (fo, lo) = (
        open_rw(&m.path("other")),
        open_rw(&local.path().join("other")),
    );
    let keep = libc::FALLOC_FL_KEEP_SIZE;
    let modes = [
        0,
        keep,
        libc::FALLOC_FL_PUNCH_HOLE | keep,
        libc::FALLOC_FL_ZERO_RANGE,
    ];
    let lens = [1, 1000, FRAG - 1, FRAG, FRAG + 1, 3 * FRAG];
    for step in 0..150 {
        let size = l.metadata().expect("fstat").len();
        // Offsets near fragment boundaries half of the time.
        let mut off = || match rng.random_bool(0.5) {
            true => rng.random_range(0..(size + 2 * FRAG) / FRAG) * FRAG,
            false => rng.random_range(0..size + 2 * FRAG),
        };
        let (a, b) = (off(), off());
        let len = lens[rng.random_range(0..lens.len())];
        let what = match rng.random_range(0..10) {
            0..=2 => {
                let data = random(len as usize);
                f.write_all_at(&data, a).expect("write fragfs");
                l.write_all_at(&data, a).expect("write local");
                format!("write {len} at {a}")
            }
            3..=5 => {
                let mode = modes[rng.random_range(0..modes.len())];
                fallocate(&l, mode, a, len).expect("local fallocate");
                fallocate(&f, mode, a, len).expect("fragfs fallocate");
                format!("fallocate {mode:#x} {len} at {a}")
            }
            6 => {
                let from = a % (other.len() as u64 + 10);
                let n = copy_all(&fo, from, &f, b, len);
                assert_eq!(n, copy_all(&lo, from, &l, b, len), "step {step}: copied");
                format!("copy {len} from other {from} to {b}")
            }
            7 if size > 0 => {
                let (from, to) = (a % size, b);
                let n = if from + len <= to || to + len <= from {
                    copy_all(&l, from, &l, to, len)
                } else {
                    0
                };
                if n > 0 {
                    assert_eq!(
                        copy_all(&f, from, &f, to, n),
                        n,
                        "step {step}: copied within"
                    );
                }
                format!("copy {n} within from {from} to {to}")
            }
            8 => {
                let to = rng.random_range(0..size + 2 * FRAG);
                f.set_len(to).expect("ftruncate fragfs");
                l.set_len(to).expect("ftruncate local");
                format!("truncate to {to}")
            }
            _ => {
                f.sync_all().expect("fsync");
                "fsync".into()
            }
        };
        let when = format!("step {step} ({what})");
        let model = read_all(&l);
        assert_eq!(
            f.metadata().expect("fstat").len(),
            model.len() as u64,
            "{when}: size"
        );
        assert!(read_all(&f) == model, "{when}: content differs");
        check_seek_data(&f, &model, a.min(model.len() as u64), &when);
    }
    drop((f, l));
    let model = fs::read(&lp).expect("local");
    assert!(fs::read(&fp).expect("read") == model, "content after close");
    let f = fs::File::open(&fp).expect("open read-only");
    for off in (0..model.len() as u64).step_by(FRAG as usize / 2) {
        check_seek_data(&f, &model, off, "read-only");
    }
}
