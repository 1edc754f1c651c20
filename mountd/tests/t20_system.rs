//! The mount as the system uses it: the `mount.fragfs` helper run as
//! mount(8) runs it and through a real `mount -t fragfs`; unmounting with
//! umount(8), `fusermount3 -u` and SIGTERM, each ending the daemon with
//! exit code 0; POSIX name limits; `statfs` over several storage nodes
//! that are real `fragfs node` processes on 127.0.0.1.

use crate::common;
use common::*;
use fragfs::testing::NodeProc;
use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

const HELPER: &str = env!("CARGO_BIN_EXE_mount-fragfs");
/// Where mount(8) looks for the helper of type `fragfs`.
const SBIN_HELPER: &str = "/sbin/mount.fragfs";
/// How long a daemon has to exit once its mount is gone or it got SIGTERM.
const EXIT_DEADLINE: Duration = Duration::from_secs(20);

/// Options every test mount takes: loopback only, no LAN discovery.
const LOOPBACK: &str = "listen=/ip4/127.0.0.1/tcp/0,no_mdns";

/// A data directory and a mount point, and once mounted, the daemon.
/// Fields drop in order: the daemon (stopped, mount detached) before the
/// directories.
struct Setup {
    daemon: Option<Daemon>,
    mnt: PathBuf,
    _mnt_dir: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        become_subreaper();
        let mnt_dir = tempfile::tempdir().expect("mount point");
        let mnt = mnt_dir
            .path()
            .canonicalize()
            .expect("canonical mount point");
        Setup {
            daemon: None,
            mnt,
            _mnt_dir: mnt_dir,
            data: tempfile::tempdir().expect("data dir"),
        }
    }

    fn data_opt(&self) -> String {
        format!("data={}", self.data.path().display())
    }

    /// Runs the helper with mount(8)'s argument order.
    fn helper(&self, source: &str, opts: &str) -> Output {
        Command::new(HELPER)
            .arg(source)
            .arg(&self.mnt)
            .args(["-n", "-o", opts])
            .output()
            .expect("run mount.fragfs")
    }

    /// Mounts with the helper and takes charge of the daemon it left.
    fn mount_with_helper(&mut self, source: &str, extra: &str) {
        let opts = format!("rw,{},{LOOPBACK},{extra}", self.data_opt());
        let out = self.helper(source, &opts);
        assert!(
            out.status.success(),
            "mount.fragfs {opts}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.adopt();
    }

    /// Checks the mount is up (the helper returns only then) and adopts
    /// the daemon named in the pid file.
    fn adopt(&mut self) {
        assert!(
            is_mounted(&self.mnt),
            "mounted when the helper returns: {}",
            self.log()
        );
        self.daemon = Some(Daemon::from_pid_file(
            &self.data.path().join("mountd.pid"),
            &self.mnt,
        ));
    }

    fn daemon(&mut self) -> &mut Daemon {
        self.daemon.as_mut().expect("mounted")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.mnt.join(rel)
    }

    fn log(&self) -> String {
        fs::read_to_string(self.data.path().join("mountd.log")).unwrap_or_default()
    }

    /// Writes a file and reads identical bytes back.
    fn round_trip(&self, name: &str, size: usize) {
        let data = random(size);
        fs::write(self.path(name), &data).expect("write through the mount");
        let back = fs::read(self.path(name)).expect("read through the mount");
        assert!(back == data, "{name}: bytes differ");
    }

    /// Waits for the daemon to exit by itself; checks it exited 0, left
    /// no mount behind, and removed its pid file.
    fn expect_clean_exit(&mut self, after: &str) {
        let code = self.daemon().wait_exit(EXIT_DEADLINE);
        assert_eq!(code, Some(0), "daemon exit after {after}: {}", self.log());
        assert!(!is_mounted(&self.mnt), "unmounted after {after}");
        assert!(
            !self.data.path().join("mountd.pid").exists(),
            "pid file removed after {after}"
        );
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn t10_helper_mounts_and_umount_ends_the_daemon() {
    let mut s = Setup::new();
    s.mount_with_helper(
        "local",
        "_netdev,nofail,noauto,x-systemd.automount,capacity=64M",
    );
    for size in [0, 1, MIB, 3 * MIB + 5] {
        s.round_trip(&format!("f{size}"), size);
    }
    run(Command::new("umount").arg(&s.mnt));
    s.expect_clean_exit("umount");
}

#[test]
fn t10_fusermount3_unmount_ends_the_daemon() {
    if Command::new("fusermount3").arg("-V").output().is_err() {
        eprintln!("skipped: fusermount3 is not installed (apt-get install fuse3)");
        return;
    }
    let mut s = Setup::new();
    s.mount_with_helper("local", "cache_size=64M");
    s.round_trip("f", MIB + 1);
    run(Command::new("fusermount3").arg("-u").arg(&s.mnt));
    s.expect_clean_exit("fusermount3 -u");
}

/// `/sbin/mount.fragfs` for the length of a test: a link to the built
/// helper, made only if none is installed, and removed by the guard.
struct SbinHelper {
    made: bool,
}

impl SbinHelper {
    fn install() -> SbinHelper {
        let path = Path::new(SBIN_HELPER);
        if path.symlink_metadata().is_ok() {
            eprintln!("note: {SBIN_HELPER} exists and is used as it is");
            return SbinHelper { made: false };
        }
        std::os::unix::fs::symlink(HELPER, path)
            .unwrap_or_else(|e| panic!("cannot link {SBIN_HELPER}: {e}"));
        SbinHelper { made: true }
    }
}

impl Drop for SbinHelper {
    fn drop(&mut self) {
        let ours = fs::read_link(SBIN_HELPER).is_ok_and(|t| t == Path::new(HELPER));
        if self.made && ours {
            let _ = fs::remove_file(SBIN_HELPER);
        }
    }
}

#[test]
fn t20_mount_t_fragfs_through_mount8() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mount(8) of a new type and {SBIN_HELPER} need root");
        return;
    }
    let _helper = SbinHelper::install();
    let mut s = Setup::new();
    let opts = format!("{},{LOOPBACK},replicas=1", s.data_opt());
    run(Command::new("mount")
        .args(["-t", "fragfs", "local"])
        .arg(&s.mnt)
        .args(["-o", &opts]));
    s.adopt();
    s.round_trip("through-mount8", 2 * MIB + 7);
    let mounts = fragfs_mountd::mountinfo::mounts_on(&s.mnt);
    assert!(mounts.last().is_some_and(|m| m.is_fragfs()), "{mounts:?}");
    run(Command::new("umount").arg(&s.mnt));
    s.expect_clean_exit("umount");
}

#[test]
fn t30_sigterm_unmounts_and_exits_0() {
    let mut s = Setup::new();
    s.mount_with_helper("local", "");
    s.round_trip("before-sigterm", 1000);
    s.daemon().signal(libc::SIGTERM);
    s.expect_clean_exit("SIGTERM");
}

#[test]
fn t40_names_over_255_bytes_are_enametoolong() {
    let mut s = Setup::new();
    s.mount_with_helper("local", "");
    let longest = "n".repeat(255);
    let too_long = "n".repeat(256);
    let errno = |r: std::io::Result<()>| r.err().and_then(|e| e.raw_os_error());

    fs::write(s.path(&longest), b"ok").expect("a 255-byte name is fine");
    assert_eq!(
        errno(fs::File::create(s.path(&too_long)).map(|_| ())),
        Some(libc::ENAMETOOLONG),
        "create"
    );
    assert_eq!(
        errno(fs::create_dir(s.path(&too_long))),
        Some(libc::ENAMETOOLONG),
        "mkdir"
    );
    assert_eq!(
        errno(fs::rename(s.path(&longest), s.path(&too_long))),
        Some(libc::ENAMETOOLONG),
        "rename target"
    );
    // Far longer than 255 bytes (and than FUSE's own limit of 1024).
    assert_eq!(
        errno(fs::create_dir(s.path(&"m".repeat(600)))),
        Some(libc::ENAMETOOLONG),
        "mkdir of 600 bytes"
    );
    assert_eq!(fs::read(s.path(&longest)).expect("still there"), b"ok");
}

#[test]
fn t50_bad_options_are_refused_in_one_line() {
    let s = Setup::new();
    for (opts, want) in [
        ("rw,frobnicate", "unknown option 'frobnicate'"),
        ("replicas=0", "option replicas"),
        ("ro", "read-only"),
    ] {
        let out = s.helper("local", &format!("{},{opts}", s.data_opt()));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{opts}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.starts_with("mount.fragfs: ") && err.contains(want),
            "{err}"
        );
        assert!(!is_mounted(&s.mnt));
    }
    assert!(
        !s.data.path().join("mountd.log").exists(),
        "nothing was started"
    );
    let out = s.helper("nowhere", &s.data_opt());
    assert_eq!(out.status.code(), Some(1), "a bad source");
}

#[test]
fn t50_a_failing_daemon_fails_the_mount_with_its_error() {
    let mut s = Setup::new();
    s.mount_with_helper("local", "");
    // A second mount on the same data directory: the daemon refuses it.
    let other = tempfile::tempdir().expect("second mount point");
    let out = Command::new(HELPER)
        .arg("local")
        .arg(other.path())
        .args(["-o", &format!("{},{LOOPBACK}", s.data_opt())])
        .output()
        .expect("run mount.fragfs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(32), "mount failure: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("already running"), "{err}");
    assert!(!is_mounted(other.path()));
    // The first mount is untouched, its pid file too.
    s.round_trip("still-here", 10);
    let pid = fs::read_to_string(s.data.path().join("mountd.pid")).expect("pid file");
    assert_eq!(pid.trim(), s.daemon().pid.to_string());
}

/// A `fragfs node` of `capacity` on a data directory of its own.
fn node(bin: &Path, capacity: &str, peer: Option<&str>) -> NodeProc {
    let mut extra = vec!["--capacity", capacity];
    if let Some(p) = peer {
        extra.extend(["--peer", p]);
    }
    NodeProc::start_temp(bin, &extra)
}

/// statfs counts every reachable store: the three nodes' capacities and
/// the mount's own, in raw bytes (three copies of a file count thrice).
#[test]
fn t60_statfs_reports_the_capacity_of_every_storage_node() {
    let bin = fragfs_bin();
    let a = node(&bin, "64M", None);
    let b = node(&bin, "32M", Some(&a.addr));
    let c = node(&bin, "48M", Some(&a.addr));
    let mut s = Setup::new();
    s.mount_with_helper(
        &a.addr,
        &format!("peer={},peer={},capacity=16M", b.addr, c.addr),
    );
    let nodes: u64 = (64 + 32 + 48) << 20;
    let all = nodes + (16 << 20);
    let total_used = |mnt: &Path| {
        let v = statvfs(mnt);
        let f = v.f_frsize;
        (v.f_blocks * f, (v.f_blocks - v.f_bfree) * f)
    };
    let mut seen = (0, 0);
    let ok = wait_until(Duration::from_secs(30), || {
        seen = total_used(&s.mnt);
        seen.0 == all
    });
    assert!(ok, "total {} of {all} (≥ {nodes} expected)", seen.0);
    assert!(seen.0 >= nodes);

    // Three copies of a 2 MiB file (replicas default to 3 with peers)
    // take 6 MiB of the network's disks: seen once the cached measure
    // (5 s) has expired.
    s.round_trip("copied-thrice", 2 * MIB);
    let ok = wait_until(Duration::from_secs(30), || {
        seen = total_used(&s.mnt);
        seen.1 >= 3 * 2 * MIB as u64
    });
    assert!(ok, "used {} after storing 3 × 2 MiB", seen.1);
    drop(s);
    drop((a, b, c));
}
