//! Trust: who is who on a fragfs network. The rule of this module: it
//! holds the keys and the checks on them (user key pairs and their files,
//! tickets, the signed acts on users and groups and their wrapped group
//! secrets); it never talks to the network or the namespace itself, so the
//! node, the mount and the CLI each use it the same way.

pub mod acting;
pub mod content;
pub mod groups;
pub mod names;
pub mod sizes;
pub mod ticket;
pub mod userkey;

pub use acting::{Acting, ActingError};
pub use ticket::{Ticket, TicketError};
pub use userkey::{config_dir, KeyError, UserKey};
