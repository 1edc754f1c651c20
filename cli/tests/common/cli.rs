//! Running the real `fragfs` binary: node processes on 127.0.0.1
//! ([`NodeProc`], stopped by their PID when dropped, their output kept),
//! one-shot commands, and the shape every error must have.

use std::{
    path::Path,
    process::{Command, Output},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_fragfs");

#[allow(unused_imports)]
pub use fragfs::testing::{wait_until, NodeProc};

/// Starts `fragfs node` on loopback without mDNS, with `extra` arguments,
/// once it printed its address (stopped by its pid when dropped).
pub fn start_node(data: &Path, extra: &[&str]) -> NodeProc {
    let node = NodeProc::start(Path::new(BIN), data, extra);
    let peer_id = node.stdout();
    let peer_id = peer_id
        .lines()
        .find_map(|l| l.strip_prefix("peer id: "))
        .expect("the node printed its peer id");
    assert!(
        node.addr.starts_with("/ip4/127.0.0.1/tcp/")
            && node.addr.ends_with(&format!("/p2p/{peer_id}")),
        "{}",
        node.addr
    );
    node
}

/// Runs `fragfs ARGS --data DATA` with `RUST_BACKTRACE=1`, so that a panic
/// or an error report with a backtrace would show.
pub fn fragfs(args: &[&str], data: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run fragfs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failed command that said `fragfs: error: …` on exactly one line,
/// mentioning `contains`, and neither panicked nor printed a backtrace.
pub fn assert_one_line_error(o: &Output, contains: &str) {
    let err = stderr(o);
    assert!(!o.status.success(), "should fail: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("fragfs: error: "), "{err}");
    assert!(err.contains(contains), "{err} should mention {contains}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

/// A program built beside `fragfs` (`cargo build --workspace`).
pub fn sibling(name: &str) -> std::path::PathBuf {
    let p = Path::new(BIN).with_file_name(name);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build --workspace`",
        p.display()
    );
    p
}

/// A ticket from the node at `data` (the last line on stdout).
pub fn invite(data: &Path, extra: &[&str]) -> String {
    let o = fragfs(&[&["invite"], extra].concat(), data);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let ticket = out.lines().last().expect("a ticket line").to_string();
    assert!(ticket.starts_with("fragfs1"), "{out}");
    ticket
}

/// `fragfs ARGS --data DATA` as the person whose configuration directory
/// is `home` (`XDG_CONFIG_HOME`), with `env` besides.
pub fn as_person(home: &Path, args: &[&str], data: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .env("XDG_CONFIG_HOME", home)
        .env_remove("FRAGFS_USER")
        .env_remove("FRAGFS_PASSPHRASE")
        .envs(env.iter().copied())
        .output()
        .expect("run fragfs")
}

/// A `fragfs-mountd` on loopback without mDNS with `args`, its data in
/// `dir/m`, mounted at `dir/mnt`, its output in `dir/mountd.log`, run as
/// the person whose configuration directory is `home`; returned once
/// mounted (unmounted and stopped by its pid when dropped).
pub fn start_mount(dir: &Path, args: &[&str], home: &Path) -> fragfs::testing::MountGuard {
    use fragfs::testing::{ChildGuard, MountGuard};
    let mnt = dir.join("mnt");
    std::fs::create_dir_all(&mnt).expect("mount point");
    let log = dir.join("mountd.log");
    let child = Command::new(sibling("fragfs-mountd"))
        .args(["--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0", "--data"])
        .arg(dir.join("m"))
        .args(args)
        .arg(&mnt)
        .env("XDG_CONFIG_HOME", home)
        .env_remove("FRAGFS_USER")
        .stdout(std::fs::File::create(&log).expect("log"))
        .stderr(std::fs::File::create(dir.join("mountd.err")).expect("log"))
        .spawn()
        .expect("spawn fragfs-mountd");
    let mut m = MountGuard {
        proc: ChildGuard::new(child),
        mnt,
    };
    let mounted = wait_until(std::time::Duration::from_secs(60), || {
        std::fs::read_to_string(&log).is_ok_and(|s| s.contains("mounted at"))
            || !matches!(m.proc.child.try_wait(), Ok(None))
    });
    let err = std::fs::read_to_string(dir.join("mountd.err")).unwrap_or_default();
    assert!(
        mounted && matches!(m.proc.child.try_wait(), Ok(None)),
        "not mounted: {err}"
    );
    m
}
