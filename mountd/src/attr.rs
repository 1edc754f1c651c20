//! Namespace attributes and times ↔ FUSE attributes and times. Pure.

use fragfs::meta::{Attr, Kind, Time};
use fuser::{FileAttr, FileType, INodeNo, TimeOrNow};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Preferred I/O size reported to programs (`st_blksize`).
pub const BLKSIZE: u32 = 128 * 1024;

pub fn file_type(k: Kind) -> FileType {
    match k {
        Kind::File => FileType::RegularFile,
        Kind::Dir => FileType::Directory,
        Kind::Symlink => FileType::Symlink,
        Kind::Fifo => FileType::NamedPipe,
        Kind::Socket => FileType::Socket,
        Kind::CharDev => FileType::CharDevice,
        Kind::BlockDev => FileType::BlockDevice,
    }
}

/// The kind of node `mknod` is asked for, from the file-type bits of `mode`.
pub fn kind_of_mode(mode: u32) -> Option<Kind> {
    Some(match mode & libc::S_IFMT {
        libc::S_IFREG | 0 => Kind::File,
        libc::S_IFIFO => Kind::Fifo,
        libc::S_IFSOCK => Kind::Socket,
        libc::S_IFCHR => Kind::CharDev,
        libc::S_IFBLK => Kind::BlockDev,
        _ => return None,
    })
}

/// Permission bits (with setuid, setgid, sticky) of `mode` after `umask`.
pub fn perm_of(mode: u32, umask: u32) -> u16 {
    (mode & !umask & 0o7777) as u16
}

pub fn system_time(t: Time) -> SystemTime {
    let d = Duration::new(t.secs.unsigned_abs(), 0);
    let whole = if t.secs >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    };
    whole + Duration::from_nanos(u64::from(t.nanos.min(999_999_999)))
}

pub fn time_of(t: SystemTime) -> Time {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Time {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        },
        Err(e) => {
            let d = e.duration();
            if d.subsec_nanos() == 0 {
                Time {
                    secs: -(d.as_secs() as i64),
                    nanos: 0,
                }
            } else {
                Time {
                    secs: -(d.as_secs() as i64) - 1,
                    nanos: 1_000_000_000 - d.subsec_nanos(),
                }
            }
        }
    }
}

pub fn time_or_now(t: TimeOrNow, now: Time) -> Time {
    match t {
        TimeOrNow::SpecificTime(s) => time_of_request(s),
        TimeOrNow::Now => now,
    }
}

/// A time the kernel sent (setattr). fuser 0.18 turns the kernel's
/// `(secs, nsecs)` before 1970 into `epoch - (|secs| s + nsecs ns)`
/// instead of `epoch - |secs| s + nsecs ns`; this undoes that, so
/// `utimensat` stores what the caller gave to the nanosecond.
fn time_of_request(t: SystemTime) -> Time {
    match t.duration_since(UNIX_EPOCH) {
        Ok(_) => time_of(t),
        Err(e) => Time {
            secs: -(e.duration().as_secs() as i64),
            nanos: e.duration().subsec_nanos(),
        },
    }
}

pub fn file_attr(a: &Attr) -> FileAttr {
    FileAttr {
        ino: INodeNo(a.ino),
        size: a.size,
        blocks: a.size.div_ceil(512),
        atime: system_time(a.atime),
        mtime: system_time(a.mtime),
        ctime: system_time(a.ctime),
        crtime: system_time(a.ctime),
        kind: file_type(a.kind),
        perm: a.perm,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev as u32,
        blksize: BLKSIZE,
        flags: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_times_round_trip_before_and_after_the_epoch() {
        for t in [
            Time { secs: 0, nanos: 0 },
            Time {
                secs: 1_700_000_000,
                nanos: 123,
            },
            Time {
                secs: -5,
                nanos: 250_000_000,
            },
        ] {
            assert_eq!(time_of(system_time(t)), t);
        }
    }

    #[test]
    fn t10_times_before_1970_from_the_kernel_keep_their_nanoseconds() {
        // What fuser 0.18 makes of the kernel's (-100 s, 500 ns).
        let sent = UNIX_EPOCH - Duration::new(100, 500);
        assert_eq!(
            time_or_now(TimeOrNow::SpecificTime(sent), Time::default()),
            Time {
                secs: -100,
                nanos: 500
            }
        );
        let whole = UNIX_EPOCH - Duration::new(7, 0);
        assert_eq!(time_of_request(whole), Time { secs: -7, nanos: 0 });
        let after = UNIX_EPOCH + Duration::new(7, 9);
        assert_eq!(time_of_request(after), Time { secs: 7, nanos: 9 });
    }

    #[test]
    fn t10_modes_and_kinds() {
        assert_eq!(perm_of(0o100644, 0o022), 0o644);
        assert_eq!(perm_of(0o4777, 0o022), 0o4755);
        assert_eq!(kind_of_mode(libc::S_IFIFO | 0o600), Some(Kind::Fifo));
        assert_eq!(kind_of_mode(libc::S_IFREG | 0o600), Some(Kind::File));
        assert_eq!(kind_of_mode(libc::S_IFDIR | 0o755), None);
    }
}
