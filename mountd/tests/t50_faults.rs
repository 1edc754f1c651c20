//! Storage peers failing under a mount: real `fragfs node` processes on
//! 127.0.0.1 hold the fragments, a `fragfs-mountd --no-store` reads them.
//!
//! The `fragfs` program is the one built beside `fragfs-mountd` (the
//! workspace's `cargo test` builds both).

mod common;
use common::*;
use std::{
    fs,
    io::{BufRead, BufReader, Read},
    os::unix::fs::FileExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on the pid of a child this test started.
    unsafe { libc::kill(child.id() as i32, sig) };
}

/// A process this test started; dropping it resumes it if frozen and
/// kills it.
struct Proc {
    child: Child,
    name: String,
}

impl Proc {
    fn wait_exit(&mut self, within: Duration) -> bool {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(&self.child, libc::SIGCONT);
            signal(&self.child, libc::SIGTERM);
            if !self.wait_exit(Duration::from_secs(10)) {
                eprintln!("{} did not stop on SIGTERM; killing it", self.name);
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// A storage peer: `fragfs node`, its first listen address.
struct Peer {
    proc: Proc,
    addr: String,
    _data: tempfile::TempDir,
}

fn peer(name: &str, join: Option<&str>) -> Peer {
    let data = tempfile::tempdir().expect("data dir");
    let mut cmd = Command::new(fragfs_bin());
    cmd.arg("--data")
        .arg(data.path())
        .args(["node", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(j) = join {
        cmd.args(["--peer", j]);
    }
    let mut child = cmd.spawn().expect("start fragfs node");
    let out = child.stdout.take().expect("stdout");
    let mut proc = Proc {
        child,
        name: name.into(),
    };
    // Read the output to its end on a thread, so the peer never writes
    // into a closed pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Some(a) = line.strip_prefix("listening on ") {
                let _ = tx.send(a.trim().to_string());
            }
        }
    });
    let Ok(addr) = rx.recv_timeout(Duration::from_secs(60)) else {
        let status = proc.child.wait();
        panic!("{name} printed no listen address ({status:?})");
    };
    Peer {
        proc,
        addr,
        _data: data,
    }
}

/// Three storage peers (the first is the metadata voter).
fn network() -> Vec<Peer> {
    let first = peer("peer-0", None);
    let a = first.addr.clone();
    vec![first, peer("peer-1", Some(&a)), peer("peer-2", Some(&a))]
}

/// A client mount with no store of its own.
struct Mount {
    proc: Proc,
    mnt: PathBuf,
    _dir: tempfile::TempDir,
    _data: tempfile::TempDir,
}

impl Mount {
    fn start(join: &str, extra: &[&str]) -> Mount {
        let dir = tempfile::tempdir().expect("mount point");
        let data = tempfile::tempdir().expect("data dir");
        let mnt = dir.path().canonicalize().expect("canonical");
        let child = Command::new(env!("CARGO_BIN_EXE_fragfs-mountd"))
            .arg("--data")
            .arg(data.path())
            .args([
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
                "--no-mdns",
                "--no-store",
            ])
            .args(["--peer", join, "--replicas", "3"])
            .args(extra)
            .arg(&mnt)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("start fragfs-mountd");
        let mut proc = Proc {
            child,
            name: "fragfs-mountd".into(),
        };
        let until = Instant::now() + Duration::from_secs(60);
        while !is_mounted(&mnt) {
            if let Ok(Some(st)) = proc.child.try_wait() {
                panic!("fragfs-mountd exited before mounting: {st}");
            }
            assert!(Instant::now() < until, "not mounted within 60 s");
            sleep(Duration::from_millis(20));
        }
        Mount {
            proc,
            mnt,
            _dir: dir,
            _data: data,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.mnt.join(rel)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        signal(&self.proc.child, libc::SIGTERM);
        self.proc.wait_exit(Duration::from_secs(20));
        if is_mounted(&self.mnt) {
            force_unmount(&self.mnt);
        }
    }
}

/// Writes `data` through a first mount, then opens a second (cold) one.
fn stored_then_cold(peers: &[Peer], data: &[u8], extra: &[&str]) -> Mount {
    let m = Mount::start(&peers[0].addr, &[]);
    fs::write(m.path("big"), data).expect("write through the mount");
    drop(m);
    Mount::start(&peers[0].addr, extra)
}

#[test]
fn t10_a_storage_peer_killed_during_a_large_read() {
    let mut peers = network();
    let data = random(48 * MIB);
    let m = stored_then_cold(&peers, &data, &[]);
    let mut f = fs::File::open(m.path("big")).expect("open");
    let mut back = vec![0u8; data.len()];
    f.read_exact(&mut back[..8 * MIB]).expect("first part");
    // A holder of every fragment dies mid-read.
    let _ = peers[1].proc.child.kill();
    let _ = peers[1].proc.child.wait();
    f.read_exact(&mut back[8 * MIB..])
        .expect("rest after the kill");
    assert!(back == data, "bytes differ after a peer was killed");
    drop(m);
    drop(peers);
}

#[test]
fn t20_a_frozen_peer_does_not_hang_a_read() {
    let peers = network();
    let data = random(32 * MIB);
    let deadline = 6;
    let m = stored_then_cold(&peers, &data, &["--data-timeout", &deadline.to_string()]);
    let f = fs::File::open(m.path("big")).expect("open");
    let mut buf = vec![0u8; MIB];
    f.read_exact_at(&mut buf, 0).expect("first MiB");
    assert!(buf[..] == data[..MIB]);

    // One holder frozen: the others serve, the bytes are right.
    signal(&peers[1].proc.child, libc::SIGSTOP);
    let t = Instant::now();
    f.read_exact_at(&mut buf, 12 * MIB as u64)
        .expect("read with one peer frozen");
    assert!(
        buf[..] == data[12 * MIB..13 * MIB],
        "bytes with one peer frozen"
    );
    assert!(
        t.elapsed() < Duration::from_secs(deadline),
        "one frozen peer took {:?}",
        t.elapsed()
    );

    // Every holder frozen: the call fails with EIO within its deadline.
    signal(&peers[0].proc.child, libc::SIGSTOP);
    signal(&peers[2].proc.child, libc::SIGSTOP);
    let t = Instant::now();
    let err = f
        .read_exact_at(&mut buf, 24 * MIB as u64)
        .expect_err("no holder answers");
    let took = t.elapsed();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    assert!(
        took < Duration::from_secs(deadline + 4),
        "the read took {took:?}, deadline {deadline} s"
    );

    // Back to life: the same read succeeds.
    for p in &peers {
        signal(&p.proc.child, libc::SIGCONT);
    }
    f.read_exact_at(&mut buf, 24 * MIB as u64)
        .expect("read after the peers resumed");
    assert!(buf[..] == data[24 * MIB..25 * MIB], "bytes after resuming");
    drop(f);
    drop(m);
}
