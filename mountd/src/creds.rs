//! What FUSE does not tell about a caller: its supplementary groups and its
//! process (thread group), read from `/proc/TID/task/TID/status` (the `pid`
//! of a FUSE request is the calling thread's id, and groups are per
//! thread). Knows nothing of the
//! namespace's rules; the namespace gets the groups in a
//! [`fragfs::meta::Context`].

use std::io::Read;

/// The most bytes of a status file read: enough for `NGROUPS_MAX` (65,536)
/// groups of ten digits.
const STATUS_MAX: u64 = 1 << 20;

/// The supplementary groups of thread `tid`; empty when they cannot be read
/// (the thread is gone, or the mount runs in another pid namespace): the
/// caller is then judged on its primary group alone.
pub fn groups(tid: u32) -> Vec<u32> {
    match status(tid) {
        Some(text) => parse_groups(&text),
        None => {
            tracing::debug!(tid, "the caller's groups could not be read");
            Vec::new()
        }
    }
}

/// The process (thread group) of thread `tid`; None when it cannot be
/// read (as for [`groups`]).
pub fn tgid(tid: u32) -> Option<u32> {
    let text = status(tid)?;
    text.lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|t| t.trim().parse().ok())
}

/// The text of thread `tid`'s status file.
fn status(tid: u32) -> Option<String> {
    if tid == 0 {
        return None;
    }
    let paths = [
        format!("/proc/{tid}/task/{tid}/status"),
        format!("/proc/{tid}/status"),
    ];
    for path in paths {
        let mut text = String::new();
        let read =
            std::fs::File::open(&path).and_then(|f| f.take(STATUS_MAX).read_to_string(&mut text));
        if read.is_ok() {
            return Some(text);
        }
    }
    None
}

/// The gids of the `Groups:` line of a `/proc/…/status` text.
fn parse_groups(status: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| {
            g.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_groups_line_is_parsed() {
        let status = "Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 1000 \nNgid:\t0\n";
        assert_eq!(parse_groups(status), vec![4, 24, 1000]);
        assert_eq!(parse_groups("Groups:\t\n"), Vec::<u32>::new());
        assert_eq!(parse_groups("Name:\tx\n"), Vec::<u32>::new());
    }

    #[test]
    fn t10_own_groups_are_read() {
        let tid = unsafe { libc::gettid() } as u32;
        let mine = groups(tid);
        let want = nix_groups();
        assert_eq!(mine, want);
    }

    #[test]
    fn t10_own_process_is_read() {
        let tid = unsafe { libc::gettid() } as u32;
        assert_eq!(tgid(tid), Some(std::process::id()));
        assert_eq!(tgid(0), None);
    }

    fn nix_groups() -> Vec<u32> {
        let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        let mut buf = vec![0 as libc::gid_t; n.max(0) as usize];
        let n = unsafe { libc::getgroups(buf.len() as i32, buf.as_mut_ptr()) };
        buf.truncate(n.max(0) as usize);
        buf
    }
}
