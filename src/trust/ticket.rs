//! Tickets: what `fragfs invite` prints and `--join` takes.
//!
//! A ticket is one line, `fragfs1` then URL-safe base64 of a version byte
//! and postcard: the network's identity, where to reach its metadata
//! voters, the role it grants, when it expires, and a single-use secret
//! (the ed25519 secret key of a one-time *guest* peer id the network has
//! invited, `meta::namespace::members`). Whoever holds it can connect as
//! the guest once and ask to be admitted; so a ticket is a secret, like a
//! password, until it is used or expires.

use crate::meta::{members::Role, Time};
use serde::{Deserialize, Serialize};

/// What every ticket starts with.
pub const PREFIX: &str = "fragfs1";
/// The format byte after the prefix.
pub const TICKET_VERSION: u8 = 1;
/// The longest ticket read, in characters.
pub const MAX_TICKET: usize = 8192;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The identity of the network it admits to.
    pub network: [u8; 32],
    /// The guest's ed25519 secret key.
    pub secret: [u8; 32],
    pub role: Role,
    pub expires: Time,
    /// Addresses of the network's metadata voters, each ending in
    /// `/p2p/<peer id>`.
    pub addrs: Vec<String>,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("network", &network_name(&self.network))
            .field("role", &self.role)
            .field("expires", &self.expires)
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("not a fragfs ticket (it starts with {PREFIX})")]
    NotATicket,
    #[error("the ticket is damaged: {0}")]
    Malformed(String),
    #[error("ticket format {0} is not supported by this version of fragfs")]
    Version(u8),
    #[error("the ticket expired at {0} (ask a member for a new one: fragfs invite)")]
    Expired(String),
}

impl Ticket {
    /// The one-line text form.
    pub fn encode(&self) -> String {
        let mut bytes = vec![TICKET_VERSION];
        bytes.extend(postcard::to_stdvec(self).expect("serialising plain data cannot fail"));
        format!("{PREFIX}{}", data_encoding::BASE64URL_NOPAD.encode(&bytes))
    }

    /// Reads a ticket and checks it has not expired at `now`.
    pub fn parse(text: &str, now: Time) -> Result<Ticket, TicketError> {
        let text = text.trim();
        if text.len() > MAX_TICKET {
            return Err(TicketError::Malformed("too long".into()));
        }
        let body = text.strip_prefix(PREFIX).ok_or(TicketError::NotATicket)?;
        let bytes = data_encoding::BASE64URL_NOPAD
            .decode(body.as_bytes())
            .map_err(|e| TicketError::Malformed(e.to_string()))?;
        let ticket: Ticket = match bytes.split_first() {
            Some((&TICKET_VERSION, rest)) => {
                postcard::from_bytes(rest).map_err(|e| TicketError::Malformed(e.to_string()))?
            }
            Some((v, _)) => return Err(TicketError::Version(*v)),
            None => return Err(TicketError::Malformed("empty".into())),
        };
        if ticket.addrs.is_empty() {
            return Err(TicketError::Malformed("it names no address".into()));
        }
        if ticket.expires <= now {
            return Err(TicketError::Expired(time_text(ticket.expires)));
        }
        Ok(ticket)
    }
}

/// A network's identity as people see it: the first 16 hex digits.
pub fn network_name(id: &[u8; 32]) -> String {
    hex::encode(&id[..8])
}

/// `2026-12-03 10:00:00 UTC` for a time.
pub fn time_text(t: Time) -> String {
    let days = t.secs.div_euclid(86_400);
    let rest = t.secs.rem_euclid(86_400);
    let (y, m, d) = crate::units::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Ticket {
        Ticket {
            network: [3; 32],
            secret: [9; 32],
            role: Role::Storage,
            expires: Time {
                secs: 1_000,
                nanos: 0,
            },
            addrs: vec!["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWAlice".into()],
        }
    }

    #[test]
    fn t10_a_ticket_is_one_line_that_reads_back() {
        let text = sample().encode();
        assert!(text.starts_with(PREFIX));
        assert!(!text.contains(char::is_whitespace));
        let back = Ticket::parse(
            &format!("  {text}\n"),
            Time {
                secs: 999,
                nanos: 0,
            },
        );
        assert_eq!(back, Ok(sample()));
        // Debug never shows the secret.
        assert!(!format!("{:?}", sample()).contains("9, 9"));
    }

    #[test]
    fn t20_expired_damaged_and_foreign_tickets_are_refused() {
        let text = sample().encode();
        let at = |secs| Time { secs, nanos: 0 };
        assert_eq!(
            Ticket::parse(&text, at(1_000)),
            Err(TicketError::Expired("1970-01-01 00:16:40 UTC".into()))
        );
        assert_eq!(Ticket::parse("hello", at(0)), Err(TicketError::NotATicket));
        assert!(matches!(
            Ticket::parse(&text[..text.len() - 9], at(0)),
            Err(TicketError::Malformed(_))
        ));
        let other = format!(
            "{PREFIX}{}",
            data_encoding::BASE64URL_NOPAD.encode(&[7, 1, 2])
        );
        assert_eq!(Ticket::parse(&other, at(0)), Err(TicketError::Version(7)));
        assert!(matches!(
            Ticket::parse(&"x".repeat(MAX_TICKET + 1), at(0)),
            Err(TicketError::Malformed(_))
        ));
        let mut none = sample();
        none.addrs.clear();
        assert!(matches!(
            Ticket::parse(&none.encode(), at(0)),
            Err(TicketError::Malformed(_))
        ));
    }

    #[test]
    fn t10_times_read_as_dates() {
        assert_eq!(
            time_text(Time {
                secs: 1_796_294_400,
                nanos: 0
            }),
            "2026-12-03 10:40:00 UTC"
        );
    }
}
