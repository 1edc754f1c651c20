//! `fragfs share`, `fragfs unshare` and `fragfs shares`: directories given
//! to groups. The act is signed here with the acting user's key
//! (`trust::groups::share`) and names the directory by its inode, read
//! through the node first; PATH may be a namespace path or a path inside
//! a mount.

use super::accounts::{accounts, acting_user, send};
use super::{files::ask, ns_path::namespace_path, JsonArg};
use crate::control::{Event, Request, ShareRow};
use crate::trust::groups;
use anyhow::{bail, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ShareArgs {
    /// The directory: a namespace path (/team) or a path inside a mount.
    pub path: String,
    /// The group whose members alone may enter it.
    pub group: String,
    /// Keep its files' content unencrypted (encrypted by default).
    #[arg(long)]
    pub plain: bool,
    /// The user acting (a key under ~/.config/fragfs/users/); default
    /// FRAGFS_USER, else the only key there.
    #[arg(long = "user", value_name = "NAME")]
    pub acting: Option<String>,
}

#[derive(Args, Debug)]
pub struct UnshareArgs {
    /// The shared directory: a namespace path or a path inside a mount.
    pub path: String,
    /// The user acting (a member of the group holding it).
    #[arg(long = "user", value_name = "NAME")]
    pub acting: Option<String>,
}

/// The inode number of the directory at namespace path `path`.
async fn dir_ino(data: &Path, path: &str) -> Result<u64> {
    match ask(data, Request::Stat { path: path.into() }).await? {
        Event::Stat(a) if a.kind == crate::meta::Kind::Dir => Ok(a.ino),
        Event::Stat(_) => bail!("{path} is not a directory"),
        _ => bail!("unexpected answer from the node"),
    }
}

pub async fn share(data: PathBuf, a: ShareArgs) -> Result<()> {
    let path = namespace_path(&a.path);
    let key = acting_user(a.acting.as_deref())?;
    let (ino, acc) = (dir_ino(&data, &path).await?, accounts(&data).await?);
    let cmd = groups::share(&key, &acc, ino, Some(&a.group), !a.plain)?;
    send(&data, cmd).await.map_err(|e| sealed_names(e, &path))?;
    let how = if a.plain { "unencrypted" } else { "encrypted" };
    println!("{path} is shared with group {} ({how})", a.group);
    Ok(())
}

pub async fn unshare(data: PathBuf, a: UnshareArgs) -> Result<()> {
    let path = namespace_path(&a.path);
    let key = acting_user(a.acting.as_deref())?;
    let (ino, acc) = (dir_ino(&data, &path).await?, accounts(&data).await?);
    let cmd = groups::share(&key, &acc, ino, None, false)?;
    send(&data, cmd).await.map_err(|e| sealed_names(e, &path))?;
    println!("{path} is no longer shared");
    Ok(())
}

/// Says why a directory that holds anything cannot become (or stop being)
/// encrypted: its names are sealed under the group's key.
fn sealed_names(e: anyhow::Error, path: &str) -> anyhow::Error {
    if e.to_string().contains("directory not empty") {
        return anyhow::anyhow!(
            "{path} is not empty: names in an encrypted directory are sealed, so only an \
             empty directory becomes or stops being encrypted (share an empty one and copy \
             files in, or use --plain)"
        );
    }
    e
}

pub async fn shares(data: PathBuf, a: JsonArg) -> Result<()> {
    let Event::Shares(rows) = ask(&data, Request::Shares).await? else {
        bail!("unexpected answer from the node")
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<40} {:<20} {:<10} BY", "DIRECTORY", "GROUP", "CONTENT");
    for ShareRow {
        path,
        group,
        encrypted,
        by,
    } in rows
    {
        let content = if encrypted { "encrypted" } else { "plain" };
        println!("{path:<40} {group:<20} {content:<10} {by}");
    }
    Ok(())
}
