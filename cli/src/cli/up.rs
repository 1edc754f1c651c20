//! `fragfs up [MOUNTPOINT]`: mounts the namespace by running `fragfs-mountd`
//! in place of this process (the mount lives in its own crate, the only one
//! that knows FUSE). It takes exactly `fragfs-mountd`'s options
//! ([`MountArgs`]) and checks what it can before handing over, so its own
//! errors read like every other command's.

use super::mount_args::MountArgs;
use crate::node;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Where to mount. Default: ~/fragfs.
    pub mountpoint: Option<PathBuf>,
    #[command(flatten)]
    pub mount: MountArgs,
}

fn default_mountpoint() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
        .join("fragfs")
}

/// Replaces this process with `fragfs-mountd`; returns only on failure.
pub fn run(data: PathBuf, a: UpArgs) -> Result<()> {
    use std::os::unix::process::CommandExt;
    if let Some(holder) = node::data_dir_holder(&data) {
        bail!("{}", holder);
    }
    a.mount.node_config(&data)?;
    let mnt = a.mountpoint.clone().unwrap_or_else(default_mountpoint);
    std::fs::create_dir_all(&mnt)
        .with_context(|| format!("cannot create mount point {}", mnt.display()))?;
    let program = fragfs_mountd::args::mountd_program();
    let err = std::process::Command::new(&program)
        .args(a.mount.mountd_argv(&data, &mnt))
        .exec();
    Err(err).with_context(|| {
        format!(
            "cannot run {} (set FRAGFS_MOUNTD or install fragfs-mountd)",
            program.display()
        )
    })
}
