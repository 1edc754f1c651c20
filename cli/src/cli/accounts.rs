//! `fragfs user` and `fragfs group`: accounts, through the local node.
//!
//! The user's key stays in this process: each act is built and signed
//! here (`trust::groups`) from the key file under the configuration
//! directory, and the node only carries the signed act to the namespace.
//! A protected key file is opened with `FRAGFS_PASSPHRASE`.

use super::{files::ask, JsonArg};
use crate::{
    control::{Event, Request},
    meta::accounts::{AccountCmd, Accounts},
    trust::{config_dir, groups, UserKey},
};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a key pair for NAME in ~/.config/fragfs/users/NAME.key (mode
    /// 0600) and register its public keys on the network.
    Add {
        /// The user's name: 1 to 64 letters, digits, '.', '_' or '-'.
        name: String,
        /// Seal the key file with the passphrase in FRAGFS_PASSPHRASE.
        #[arg(long)]
        protect: bool,
    },
    /// The registered users.
    List(JsonArg),
}

#[derive(Args, Debug)]
pub struct GroupArgs {
    /// The user acting (a key file under ~/.config/fragfs/users/); default
    /// FRAGFS_USER, else the only key there.
    #[arg(long = "user", id = "acting_user", global = true, value_name = "NAME")]
    pub acting: Option<String>,
    #[command(subcommand)]
    pub command: GroupCommand,
}

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// Create GROUP, owned by the acting user.
    Create {
        /// The group's name.
        group: String,
    },
    /// Add USER to GROUP (the owner only).
    Add {
        /// The group's name.
        group: String,
        /// The user's name.
        user: String,
    },
    /// Remove USER from GROUP (the owner only): the group key is rotated.
    Remove {
        /// The group's name.
        group: String,
        /// The user's name.
        user: String,
    },
    /// Ask to join GROUP (its owner accepts).
    Join {
        /// The group's name.
        group: String,
    },
    /// Accept USER's request to join GROUP (the owner only).
    Accept {
        /// The group's name.
        group: String,
        /// The user's name.
        user: String,
    },
    /// Leave GROUP: the group key is rotated for those who stay.
    Leave {
        /// The group's name.
        group: String,
    },
    /// The groups, their owners, members and key epochs.
    List(JsonArg),
    /// Requests to join the groups the acting user owns.
    Requests(JsonArg),
}

pub async fn user(data: PathBuf, cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add { name, protect } => add_user(&data, &name, protect).await,
        UserCommand::List(a) => {
            let acc = accounts(&data).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(acc.users())?);
                return Ok(());
            }
            println!("{:<24} {:<18} SINCE", "USER", "KEY");
            for (name, u) in acc.users() {
                let since = crate::trust::ticket::time_text(u.since);
                println!("{name:<24} {:<18} {since}", hex::encode(&u.sign[..8]));
            }
            Ok(())
        }
    }
}

/// Creates the key (or, when it exists, takes it: a registration that
/// failed before may be done again) and registers it.
async fn add_user(data: &std::path::Path, name: &str, protect: bool) -> Result<()> {
    let dir = config_dir()?;
    let passphrase = if protect { Some(passphrase()?) } else { None };
    let key = UserKey::generate(name)?;
    let (key, path) = match key.save_with(&dir, passphrase.as_deref()) {
        Ok(path) => (key, path),
        Err(crate::trust::KeyError::Exists { path, .. }) => (acting_user(Some(name))?, path),
        Err(e) => return Err(e.into()),
    };
    let acc = accounts(data).await?;
    match acc.users().get(name) {
        Some(u) if u.sign == key.public() => {}
        Some(_) => bail!("user {name} is registered with another key"),
        None => send(data, groups::register(&key)).await?,
    }
    println!("user {name}: key in {}, registered", path.display());
    Ok(())
}

pub async fn group(data: PathBuf, a: GroupArgs) -> Result<()> {
    if let GroupCommand::List(j) = &a.command {
        return list(&data, j.json).await;
    }
    let key = acting_user(a.acting.as_deref())?;
    let acc = accounts(&data).await?;
    let cmd = match &a.command {
        GroupCommand::Create { group } => groups::create(&key, group)?,
        GroupCommand::Add { group, user } | GroupCommand::Accept { group, user } => {
            groups::add(&key, &acc, group, user)?
        }
        GroupCommand::Remove { group, user } => groups::remove(&key, &acc, group, user)?,
        GroupCommand::Join { group } => groups::request(&key, &acc, group)?,
        GroupCommand::Leave { group } => groups::leave(&key, &acc, group)?,
        GroupCommand::Requests(j) => return requests(&acc, key.name(), j.json),
        GroupCommand::List(j) => return list(&data, j.json).await,
    };
    send(&data, cmd).await?;
    println!("{}", done_text(&a.command, key.name()));
    Ok(())
}

fn done_text(cmd: &GroupCommand, me: &str) -> String {
    match cmd {
        GroupCommand::Create { group } => format!("group {group} created, owned by {me}"),
        GroupCommand::Add { group, user } => format!("{user} added to {group}"),
        GroupCommand::Accept { group, user } => format!("{user} accepted into {group}"),
        GroupCommand::Remove { group, user } => {
            format!("{user} removed from {group}; new versions use a new group key")
        }
        GroupCommand::Join { group } => format!("{me} asked to join {group}"),
        GroupCommand::Leave { group } => format!("{me} left {group}"),
        GroupCommand::List(_) | GroupCommand::Requests(_) => String::new(),
    }
}

async fn list(data: &std::path::Path, json: bool) -> Result<()> {
    let acc = accounts(data).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(acc.groups())?);
        return Ok(());
    }
    println!("{:<20} {:<16} {:>5}  MEMBERS", "GROUP", "OWNER", "EPOCH");
    for (name, g) in acc.groups() {
        let members: Vec<&str> = g.members.iter().map(String::as_str).collect();
        let epoch = g.current().map_or(0, |k| k.epoch);
        println!(
            "{name:<20} {:<16} {epoch:>5}  {}",
            g.owner,
            members.join(", ")
        );
    }
    Ok(())
}

fn requests(acc: &Accounts, me: &str, json: bool) -> Result<()> {
    let rows: Vec<(&String, &String)> = acc
        .groups()
        .iter()
        .filter(|(_, g)| g.owner == me)
        .flat_map(|(name, g)| g.requests.iter().map(move |u| (name, u)))
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<20} USER", "GROUP");
    for (g, u) in rows {
        println!("{g:<20} {u}");
    }
    Ok(())
}

/// The key of the acting user.
pub(super) fn acting_user(name: Option<&str>) -> Result<UserKey> {
    let dir = config_dir()?;
    let name = match name
        .map(String::from)
        .or_else(|| std::env::var("FRAGFS_USER").ok())
    {
        Some(n) => n,
        None => only_user(&dir)?,
    };
    let pass = std::env::var("FRAGFS_PASSPHRASE").ok();
    Ok(UserKey::load_with(&dir, &name, pass.as_deref())?)
}

/// The one key under `dir/users`, when there is exactly one.
fn only_user(dir: &std::path::Path) -> Result<String> {
    let users = dir.join("users");
    let names = fragfs::trust::userkey::key_names(dir);
    match names.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no user key in {}: fragfs user add NAME", users.display()),
        _ => bail!(
            "several user keys in {}: say which with --user NAME",
            users.display()
        ),
    }
}

fn passphrase() -> Result<String> {
    let p = std::env::var("FRAGFS_PASSPHRASE")
        .context("--protect takes the passphrase from FRAGFS_PASSPHRASE, which is not set")?;
    if p.len() < 8 {
        bail!("the passphrase in FRAGFS_PASSPHRASE is shorter than 8 characters");
    }
    Ok(p)
}

pub(super) async fn accounts(data: &std::path::Path) -> Result<Accounts> {
    let Event::Accounts(a) = ask(data, Request::Accounts).await? else {
        bail!("unexpected answer from the node")
    };
    Ok(a)
}

pub(super) async fn send(data: &std::path::Path, cmd: AccountCmd) -> Result<()> {
    let Event::Done(_) = ask(data, Request::Account(cmd)).await? else {
        bail!("unexpected answer from the node")
    };
    Ok(())
}
