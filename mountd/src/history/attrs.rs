//! The attributes of the history tree's nodes, made from the real inode's
//! (pure). Every node is read-only: directories `r-x` where the real inode
//! is readable, version files `r--` where the file is readable, so the tree
//! never shows a version to someone the file itself would refuse.

use super::source::VersionInfo;
use fragfs::meta::{Attr, Kind, Time};

/// The read bits of `perm`, with execute (search) wherever read is.
fn searchable(perm: u16) -> u16 {
    let r = perm & 0o444;
    r | (r >> 2)
}

fn dir(real: &Attr, perm: u16) -> Attr {
    Attr {
        ino: 0,
        kind: Kind::Dir,
        perm,
        uid: real.uid,
        gid: real.gid,
        size: 0,
        nlink: 2,
        atime: real.mtime,
        mtime: real.mtime,
        ctime: real.ctime,
        rdev: 0,
    }
}

/// `.fragfs` and `.fragfs/history`, from the root directory's attributes.
pub fn fixed_dir(root: &Attr) -> Attr {
    dir(root, 0o555)
}

/// The history node of a real directory or regular file.
pub fn history_dir(real: &Attr) -> Attr {
    dir(real, searchable(real.perm))
}

/// Version `v` of the regular file `real`.
pub fn version(real: &Attr, v: &VersionInfo) -> Attr {
    let t = Time {
        secs: (v.wall_ms / 1000) as i64,
        nanos: (v.wall_ms % 1000) as u32 * 1_000_000,
    };
    Attr {
        ino: 0,
        kind: Kind::File,
        perm: real.perm & 0o444,
        uid: real.uid,
        gid: real.gid,
        size: v.size,
        nlink: 1,
        atime: t,
        mtime: t,
        ctime: t,
        rdev: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_read_only_and_no_wider_than_the_file() {
        let t = Time { secs: 5, nanos: 0 };
        let real = Attr {
            ino: 9,
            kind: Kind::File,
            perm: 0o4640,
            uid: 1000,
            gid: 100,
            size: 7,
            nlink: 1,
            atime: t,
            mtime: t,
            ctime: t,
            rdev: 0,
        };
        let v = VersionInfo {
            number: 2,
            wall_ms: 1_500,
            size: 3,
        };
        let a = version(&real, &v);
        assert_eq!((a.perm, a.size, a.uid, a.gid), (0o440, 3, 1000, 100));
        assert_eq!(
            a.mtime,
            Time {
                secs: 1,
                nanos: 500_000_000
            }
        );
        let d = history_dir(&real);
        assert_eq!((d.kind, d.perm), (Kind::Dir, 0o550));
    }
}
