//! PATH arguments: a namespace path (`/docs/a.txt`) or a local path inside
//! a mounted fragfs (`/mnt/x/docs/a.txt`, or `docs/a.txt` when the working
//! directory is in a mount), turned into the namespace path.

use fragfs_mountd::mountinfo;
use std::path::{Component, Path, PathBuf};

/// The namespace path `arg` names: when `arg` (canonicalized, or its
/// parent for a missing file; relative to the working directory) lies
/// under the mount point of a fragfs mount, its place under that mount's
/// root; otherwise `arg` itself as a namespace path (a leading `/` added).
pub fn namespace_path(arg: &str) -> String {
    let mounts: Vec<PathBuf> = mountinfo::read()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.is_fragfs())
        .map(|m| m.mount_point)
        .collect();
    let cwd = std::env::current_dir().ok();
    translate(arg, cwd.as_deref(), &mounts)
}

/// [`namespace_path`] with the working directory and the fragfs mount
/// points given.
fn translate(arg: &str, cwd: Option<&Path>, mounts: &[PathBuf]) -> String {
    let local = match cwd {
        _ if Path::new(arg).is_absolute() => Some(PathBuf::from(arg)),
        Some(cwd) if !arg.is_empty() => Some(cwd.join(arg)),
        _ => None,
    };
    let inside = local
        .and_then(|l| canonical(&l))
        .and_then(|l| under_mount(&l, mounts));
    match inside {
        Some(p) => p,
        None if arg.starts_with('/') => arg.to_string(),
        None => format!("/{arg}"),
    }
}

/// `path` with every link resolved, or its parent's resolved form joined
/// with its last name when `path` does not exist; None when neither does.
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let name = match path.components().next_back()? {
        Component::Normal(n) => n.to_os_string(),
        _ => return None,
    };
    Some(std::fs::canonicalize(path.parent()?).ok()?.join(name))
}

/// The namespace path of `path` under the deepest of `mounts` that holds
/// it.
fn under_mount(path: &Path, mounts: &[PathBuf]) -> Option<String> {
    let (_, rest) = mounts
        .iter()
        .filter_map(|m| Some((m, path.strip_prefix(m).ok()?)))
        .max_by_key(|(m, _)| m.components().count())?;
    let parts: Vec<String> = rest
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_paths_outside_mounts_are_namespace_paths() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mounts = [tmp.path().join("mnt")];
        assert_eq!(translate("/docs/a.txt", None, &mounts), "/docs/a.txt");
        assert_eq!(translate("docs/a.txt", None, &mounts), "/docs/a.txt");
        assert_eq!(
            translate("docs/a.txt", Some(tmp.path()), &mounts),
            "/docs/a.txt"
        );
        assert_eq!(translate("/", Some(tmp.path()), &mounts), "/");
    }

    #[test]
    fn t10_paths_inside_a_mount_are_translated() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mnt = std::fs::canonicalize(tmp.path()).expect("canonical");
        let mnt = mnt.join("mnt");
        std::fs::create_dir_all(mnt.join("docs")).expect("mkdir");
        std::fs::write(mnt.join("docs/a.txt"), b"x").expect("write");
        let mounts = [mnt.clone()];
        let abs = |p: &str| mnt.join(p).to_string_lossy().into_owned();
        assert_eq!(translate(&abs("docs/a.txt"), None, &mounts), "/docs/a.txt");
        // A missing file in an existing directory.
        assert_eq!(
            translate(&abs("docs/new.txt"), None, &mounts),
            "/docs/new.txt"
        );
        // The mount point itself is the root.
        assert_eq!(translate(&abs(""), None, &mounts), "/");
        // Relative to a working directory inside the mount, with `..`.
        let docs = mnt.join("docs");
        assert_eq!(translate("a.txt", Some(&docs), &mounts), "/docs/a.txt");
        assert_eq!(
            translate("../docs/./a.txt", Some(&docs), &mounts),
            "/docs/a.txt"
        );
        assert_eq!(translate(".", Some(&docs), &mounts), "/docs");
    }

    #[test]
    fn t10_links_are_followed_into_a_mount_and_the_deepest_mount_wins() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(tmp.path()).expect("canonical");
        let (outer, inner) = (base.join("m"), base.join("m/sub/n"));
        std::fs::create_dir_all(inner.join("d")).expect("mkdir");
        std::os::unix::fs::symlink(inner.join("d"), base.join("link")).expect("symlink");
        let mounts = [outer.clone(), inner.clone()];
        let link = base.join("link/f").to_string_lossy().into_owned();
        assert_eq!(translate(&link, None, &mounts), "/d/f");
        let in_outer = outer.join("sub").to_string_lossy().into_owned();
        assert_eq!(translate(&in_outer, None, &mounts), "/sub");
    }
}
