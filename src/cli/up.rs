//! `fragfs up [MOUNTPOINT]`: mounts the namespace by running `fragfs-mountd`
//! in place of this process (the mount lives in its own crate, the only one
//! that knows FUSE).

use super::NetArgs;
use anyhow::{Context, Result};
use clap::Args;
use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Where to mount. Default: ~/fragfs.
    pub mountpoint: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
    /// Copies of each fragment written (default: 1 alone, 3 with --peer).
    #[arg(long)]
    pub replicas: Option<u8>,
    /// Most bytes of fragments the node keeps, e.g. 500G (default 100G).
    #[arg(long, value_parser = crate::units::parse_bytes)]
    pub capacity: Option<u64>,
    /// Let every user use the mount.
    #[arg(long)]
    pub allow_other: bool,
    /// Most bytes of file fragments the mount keeps in memory for reads,
    /// e.g. 1G (default 512M).
    #[arg(long, value_parser = crate::units::parse_bytes)]
    pub cache_size: Option<u64>,
}

/// The `fragfs-mountd` program: `$FRAGFS_MOUNTD`, else the one beside this
/// executable, else the one on `PATH`.
fn mountd_program() -> PathBuf {
    if let Some(p) = std::env::var_os("FRAGFS_MOUNTD") {
        return p.into();
    }
    if let Some(beside) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("fragfs-mountd")))
    {
        if beside.is_file() {
            return beside;
        }
    }
    "fragfs-mountd".into()
}

fn default_mountpoint() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
        .join("fragfs")
}

/// The arguments `fragfs-mountd` is given.
pub fn mountd_args(data: &Path, a: &UpArgs) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec!["--data".into(), data.into()];
    for l in &a.net.listen {
        v.extend(["--listen".into(), l.to_string().into()]);
    }
    for p in &a.net.peers {
        v.extend(["--peer".into(), p.to_string().into()]);
    }
    if a.net.no_mdns {
        v.push("--no-mdns".into());
    }
    if let Some(r) = a.replicas {
        v.extend(["--replicas".into(), r.to_string().into()]);
    }
    if let Some(c) = a.capacity {
        v.extend(["--capacity".into(), c.to_string().into()]);
    }
    if a.allow_other {
        v.push("--allow-other".into());
    }
    if let Some(c) = a.cache_size {
        v.extend(["--cache-size".into(), c.to_string().into()]);
    }
    v.push(
        a.mountpoint
            .clone()
            .unwrap_or_else(default_mountpoint)
            .into(),
    );
    v
}

/// Replaces this process with `fragfs-mountd`; returns only on failure.
pub fn run(data: PathBuf, a: UpArgs) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let mnt = a.mountpoint.clone().unwrap_or_else(default_mountpoint);
    std::fs::create_dir_all(&mnt)
        .with_context(|| format!("cannot create mount point {}", mnt.display()))?;
    let program = mountd_program();
    let err = std::process::Command::new(&program)
        .args(mountd_args(&data, &a))
        .exec();
    Err(err).with_context(|| {
        format!(
            "cannot run {} (set FRAGFS_MOUNTD or install fragfs-mountd)",
            program.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_up_passes_its_options_to_the_mount() {
        let a = UpArgs {
            mountpoint: Some("/mnt/f".into()),
            net: NetArgs {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
                peers: vec![],
                no_mdns: true,
            },
            replicas: Some(2),
            capacity: Some(64 << 20),
            allow_other: false,
            cache_size: Some(1 << 30),
        };
        let got: Vec<String> = mountd_args(Path::new("/srv/d"), &a)
            .into_iter()
            .map(|s| s.into_string().expect("utf-8"))
            .collect();
        let want = [
            "--data",
            "/srv/d",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--no-mdns",
            "--replicas",
            "2",
            "--capacity",
            "67108864",
            "--cache-size",
            "1073741824",
            "/mnt/f",
        ];
        assert_eq!(got, want);
    }
}
