//! `fragfs invite`, `fragfs members` and `fragfs revoke`: who belongs to
//! a private network, through the local node.

use super::{files::ask, JsonArg};
use crate::{
    control::{Event, MembersReport, Request},
    units::parse_duration,
};
use anyhow::{bail, Result};
use clap::Args;
use std::{path::PathBuf, time::Duration};

#[derive(Args, Debug)]
pub struct InviteArgs {
    /// How long the ticket may be used, e.g. 10m, 1h, 7d.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_expires)]
    pub expires: Duration,
    /// What the new member may do: client (mounts, stores nothing),
    /// storage (stores fragments) or voter (stores and votes on metadata).
    #[arg(long, default_value = "storage", value_parser = ["client", "storage", "voter"])]
    pub role: String,
}

/// At least a second, at most a year.
fn parse_expires(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_secs(1) || d > Duration::from_secs(366 * 86_400) {
        return Err(format!("'{s}' is not between 1s and a year"));
    }
    Ok(d)
}

/// Prints the ticket as the last line on stdout.
pub async fn invite(data: PathBuf, a: InviteArgs) -> Result<()> {
    let req = Request::Invite {
        role: a.role.clone(),
        valid_secs: a.expires.as_secs(),
    };
    let Event::Ticket(ticket) = ask(&data, req).await? else {
        bail!("unexpected answer from the node")
    };
    eprintln!(
        "a ticket for one {} peer, valid for {} (start it with: fragfs node --join TICKET):",
        a.role,
        crate::units::format_duration(a.expires)
    );
    println!("{ticket}");
    Ok(())
}

pub async fn members(data: PathBuf, a: JsonArg) -> Result<()> {
    let Event::Members(r) = ask(&data, Request::Members).await? else {
        bail!("unexpected answer from the node")
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    print_members(&r);
    Ok(())
}

fn print_members(r: &MembersReport) {
    if r.network.is_empty() {
        println!("this network has no identity yet");
        return;
    }
    let kind = if r.open {
        "open: anyone may connect"
    } else {
        "private: members only"
    };
    println!("network {} ({kind})", r.network);
    println!(
        "{:<54} {:<8} {:<10} {:<20} INVITED BY",
        "PEER", "ROLE", "CONNECTED", "SINCE"
    );
    for m in &r.members {
        println!(
            "{:<54} {:<8} {:<10} {:<20} {}",
            m.peer_id,
            m.role,
            if m.connected { "yes" } else { "no" },
            since(m.since),
            if m.invited_by.is_empty() {
                "(founder)"
            } else {
                &m.invited_by
            }
        );
    }
    println!("{} open invitation(s)", r.open_invites);
    for (peer, at) in &r.revoked {
        println!("revoked {peer} at {}", since(*at));
    }
}

fn since(secs: i64) -> String {
    let t = crate::meta::Time { secs, nanos: 0 };
    let text = crate::trust::ticket::time_text(t);
    text.trim_end_matches(" UTC").to_string()
}

pub async fn revoke(data: PathBuf, peer: String) -> Result<()> {
    let Event::Done(msg) = ask(&data, Request::Revoke { peer }).await? else {
        bail!("unexpected answer from the node")
    };
    println!("{msg}");
    Ok(())
}
