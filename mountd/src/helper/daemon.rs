//! Starting `fragfs-mountd` for the helper: in a session of its own (no
//! terminal, not stopped with the shell that ran `mount`), its output
//! appended to `mountd.log` in the data directory, its process id written
//! to `mountd.pid` there. The helper returns once the mount shows in
//! `/proc/self/mountinfo`, or fails with the daemon's own error if it
//! exits first, or stops it when the mount is not up by the deadline.
//!
//! Exit codes follow mount(8): 1 for a bad invocation, 32 for a mount
//! that failed.

use super::{mountd_args, parse, Invocation};
use crate::mountinfo::fragfs_mounts_on;
use std::{
    ffi::OsString,
    fs::{self, File, OpenOptions},
    io::{Read, Seek, SeekFrom},
    os::unix::{
        fs::{DirBuilderExt, OpenOptionsExt},
        process::CommandExt,
    },
    path::Path,
    process::{Child, Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

/// How long the daemon has to join the network, reach the namespace and
/// mount (it waits up to 30 s for the namespace itself).
pub const MOUNT_DEADLINE: Duration = Duration::from_secs(60);

/// How long a daemon that did not mount in time has to stop on SIGTERM.
const STOP_DEADLINE: Duration = Duration::from_secs(10);

/// How often the mount table and the daemon are looked at while waiting.
const POLL: Duration = Duration::from_millis(50);

/// The source a fragfs mount has in the mount table; its type is `fuse`
/// (or `fuse.fragfs` when mounted through fusermount3).
pub use crate::mountinfo::FSNAME;

/// The log and pid files' names in the data directory.
pub const LOG_FILE: &str = "mountd.log";
pub const PID_FILE: &str = "mountd.pid";

/// The helper's `main`.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if super::wants_help(&args) {
        print!("{}", super::help_text());
        return ExitCode::SUCCESS;
    }
    let inv = match parse(&args) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("mount.fragfs: {e}");
            return ExitCode::from(1);
        }
    };
    match mount(&inv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mount.fragfs: {e}");
            ExitCode::from(32)
        }
    }
}

fn mount(inv: &Invocation) -> Result<(), String> {
    let mnt = &inv.mountpoint;
    let mountpoint =
        fs::canonicalize(mnt).map_err(|e| format!("mount point {}: {e}", mnt.display()))?;
    if !mountpoint.is_dir() {
        return Err(format!("mount point {} is not a directory", mnt.display()));
    }
    let data = inv.data_dir();
    let (log_path, pid_path) = (data.join(LOG_FILE), data.join(PID_FILE));
    let program = crate::args::mountd_program();
    let args = mountd_args(inv, &mountpoint, &pid_path);
    if inv.verbose {
        if !inv.ignored.is_empty() {
            eprintln!("mount.fragfs: ignoring {}", inv.ignored.join(","));
        }
        eprintln!(
            "mount.fragfs: {} {} >> {}",
            program.display(),
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            log_path.display()
        );
    }
    if inv.fake {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&data)
        .map_err(|e| format!("data directory {}: {e}", data.display()))?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| format!("log file {}: {e}", log_path.display()))?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let out = log
        .try_clone()
        .map_err(|e| format!("log file {}: {e}", log_path.display()))?;
    let before = fragfs_mounts_on(&mountpoint);
    let mut cmd = Command::new(&program);
    cmd.args(&args).stdin(Stdio::null()).stdout(out).stderr(log);
    // SAFETY: setsid(2) is async-signal-safe and touches no memory of the
    // parent; it runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let until = Instant::now() + MOUNT_DEADLINE;
    loop {
        if fragfs_mounts_on(&mountpoint) > before {
            if inv.verbose {
                eprintln!(
                    "mount.fragfs: mounted at {}; fragfs-mountd pid {}, log {}",
                    mountpoint.display(),
                    child.id(),
                    log_path.display()
                );
            }
            // The daemon runs on, detached; this process leaves it be.
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let why = daemon_error(&log_path, log_start)
                .unwrap_or_else(|| "no error message".to_string());
            return Err(format!(
                "fragfs-mountd exited ({status}): {why} (log: {})",
                log_path.display()
            ));
        }
        if Instant::now() >= until {
            let stopped = stop(&mut child);
            return Err(format!(
                "not mounted within {MOUNT_DEADLINE:?}; fragfs-mountd {} (log: {})",
                if stopped {
                    "was stopped"
                } else {
                    "did not stop and was killed"
                },
                log_path.display()
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// SIGTERM to the daemon this helper started, then SIGKILL if it does not
/// exit within [`STOP_DEADLINE`]. Returns whether SIGTERM sufficed.
fn stop(child: &mut Child) -> bool {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) on the pid of a child this process started and
        // has not reaped, so the pid cannot have been reused.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let until = Instant::now() + STOP_DEADLINE;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(POLL);
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// The error the daemon printed in its log since `from`, as one line: its
/// `fragfs-mountd: error: …` line (or anyhow's `Error: …` and its causes
/// joined), else the last line.
fn daemon_error(log: &Path, from: u64) -> Option<String> {
    let mut f = File::open(log).ok()?;
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut text = String::new();
    f.take(1 << 20).read_to_string(&mut text).ok()?;
    error_of(&text)
}

fn error_of(text: &str) -> Option<String> {
    if let Some(e) = text
        .lines()
        .find_map(|l| l.strip_prefix("fragfs-mountd: error: "))
    {
        return Some(e.trim().to_string());
    }
    let mut lines = text.lines();
    if let Some(first) = lines.by_ref().find_map(|l| l.strip_prefix("Error: ")) {
        let causes = lines
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "Caused by:")
            .map(|l| {
                l.split_once(": ").map_or(l, |(n, rest)| {
                    if n.chars().all(|c| c.is_ascii_digit()) {
                        rest
                    } else {
                        l
                    }
                })
            });
        let all: Vec<&str> = std::iter::once(first).chain(causes).collect();
        return Some(all.join(": "));
    }
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_the_daemons_error_is_one_line() {
        let log = "2026 INFO node started\nError: cannot start the node\n\nCaused by:\n    0: another node is already running on /d\n";
        assert_eq!(
            error_of(log).as_deref(),
            Some("cannot start the node: another node is already running on /d")
        );
        let log = "Error: mount point /x: No such file or directory (os error 2)\n";
        assert_eq!(
            error_of(log).as_deref(),
            Some("mount point /x: No such file or directory (os error 2)")
        );
        assert_eq!(error_of("a\nlast words\n\n").as_deref(), Some("last words"));
        let log = "2026 WARN x\nfragfs-mountd: error: the data directory /d is in use\n";
        assert_eq!(
            error_of(log).as_deref(),
            Some("the data directory /d is in use")
        );
        assert_eq!(error_of(""), None);
    }
}
