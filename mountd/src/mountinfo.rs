//! The kernel's mount table, `/proc/self/mountinfo` (see proc(5)): the one
//! parser of it. Each line gives a mount point, and after its ` - `
//! separator the filesystem type and the source; spaces, tabs, newlines
//! and backslashes in them are written as octal escapes (`\040`, `\011`,
//! `\012`, `\134`), undone here.

use std::{
    ffi::OsString,
    io,
    os::unix::ffi::OsStringExt,
    path::{Path, PathBuf},
};

/// Where the kernel lists this process's mounts.
pub const PATH: &str = "/proc/self/mountinfo";

/// The source name fragfs mounts carry (`fsname`).
pub const FSNAME: &str = "fragfs";

/// One mount of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_point: PathBuf,
    /// `fuse`, `fuse.fragfs`, `ext4`, …
    pub fs_type: String,
    pub source: String,
}

impl MountEntry {
    /// Whether this is a fragfs FUSE mount.
    pub fn is_fragfs(&self) -> bool {
        matches!(self.fs_type.as_str(), "fuse" | "fuse.fragfs") && self.source == FSNAME
    }
}

/// Parses one line; `None` for a line that is not a mount entry.
pub fn parse_line(line: &str) -> Option<MountEntry> {
    let fields: Vec<&str> = line.split(' ').collect();
    // id, parent, major:minor, root, mount point, options, optional
    // fields…, "-", type, source, super options.
    let sep = fields.iter().skip(6).position(|f| *f == "-")? + 6;
    let (fs_type, source) = (fields.get(sep + 1)?, fields.get(sep + 2)?);
    Some(MountEntry {
        mount_point: PathBuf::from(OsString::from_vec(unescape(fields.get(4)?))),
        fs_type: String::from_utf8_lossy(&unescape(fs_type)).into_owned(),
        source: String::from_utf8_lossy(&unescape(source)).into_owned(),
    })
}

/// Every mount entry of a table's text, in order.
pub fn parse(table: &str) -> impl Iterator<Item = MountEntry> + '_ {
    table.lines().filter_map(parse_line)
}

/// This process's mount table now.
pub fn read() -> io::Result<Vec<MountEntry>> {
    Ok(parse(&std::fs::read_to_string(PATH)?).collect())
}

/// The mounts on `mount_point` now, in the order they were stacked (the
/// last one is visible); empty when the table cannot be read.
pub fn mounts_on(mount_point: &Path) -> Vec<MountEntry> {
    let mut all = read().unwrap_or_default();
    all.retain(|m| m.mount_point == mount_point);
    all
}

/// Whether anything is mounted on `mount_point` now.
pub fn is_mounted(mount_point: &Path) -> bool {
    !mounts_on(mount_point).is_empty()
}

/// How many fragfs mounts sit on `mount_point` now.
pub fn fragfs_mounts_on(mount_point: &Path) -> usize {
    mounts_on(mount_point)
        .iter()
        .filter(|m| m.is_fragfs())
        .count()
}

/// A field with its `\ooo` octal escapes turned back into bytes.
fn unescape(field: &str) -> Vec<u8> {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| {
            b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)) && d[0] <= b'3'
        });
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
36 35 98:0 / /mnt/a rw - ext4 /dev/sda rw
37 35 0:50 / /mnt/a rw,nosuid shared:1 master:2 - fuse fragfs rw,user_id=0
38 35 0:51 / /mnt/a\\040b rw - fuse.fragfs fragfs rw
39 35 0:52 / /mnt/ab rw - fuse fragfs rw
40 35 0:53 / /mnt/a rw - fuse sshfs rw
41 35 0:54 / /mnt/tab\\011new\\012line\\134back rw - fuse.fragfs fragfs rw
not a mount line
";

    fn on(p: &str) -> Vec<MountEntry> {
        parse(TABLE)
            .filter(|m| m.mount_point == Path::new(p))
            .collect()
    }

    #[test]
    fn t10_fields_after_optional_ones() {
        let all: Vec<MountEntry> = parse(TABLE).collect();
        assert_eq!(all.len(), 6, "the line that is not a mount is skipped");
        assert_eq!(
            all[1],
            MountEntry {
                mount_point: "/mnt/a".into(),
                fs_type: "fuse".into(),
                source: "fragfs".into(),
            }
        );
        assert_eq!(all[0].fs_type, "ext4");
        assert_eq!(all[0].source, "/dev/sda");
    }

    #[test]
    fn t10_escaped_paths_are_unescaped() {
        assert_eq!(on("/mnt/a b").len(), 1);
        assert_eq!(on("/mnt/tab\tnew\nline\\back").len(), 1);
        assert!(
            on("/mnt/a\\040b").is_empty(),
            "the escaped form is not the path"
        );
        assert_eq!(unescape("a\\0401\\9\\"), b"a 1\\9\\");
        assert_eq!(unescape("\\777"), b"\\777", "not a byte: kept as written");
    }

    #[test]
    fn t10_only_fragfs_mounts_count_as_fragfs() {
        let kinds: Vec<bool> = on("/mnt/a").iter().map(MountEntry::is_fragfs).collect();
        assert_eq!(kinds, [false, true, false]);
        assert!(on("/mnt/ab")[0].is_fragfs());
        assert!(on("/mnt/c").is_empty());
    }

    #[test]
    fn t10_a_line_without_its_separator_is_no_entry() {
        assert_eq!(parse_line("36 35 98:0 / /mnt/a rw ext4 /dev/sda rw"), None);
        assert_eq!(parse_line("36 35 98:0 / /mnt/a rw - ext4"), None);
        assert_eq!(parse_line(""), None);
    }
}
