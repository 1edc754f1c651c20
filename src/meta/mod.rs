//! The namespace: directories, inodes, attributes and file versions, as a
//! deterministic state machine ([`Namespace`]) replicated by openraft.
//!
//! - `types`, `versions`, `namespace`, `query`, `touched`: pure data and
//!   logic; no IO.
//! - `raft_types`, `store`, `network`, `rpc`: the openraft glue (only these
//!   know openraft): redb storage, RPCs over the libp2p swarm.
//! - `service`: what a node runs and what clients call ([`Meta`]).
//! - `feed`, `follow`: what applied entries changed, published to local
//!   subscribers and long-polled by non-voters (see `STATE.md`).

pub mod acl;
pub mod feed;
mod follow;
mod namespace;
mod network;
pub mod query;
pub mod raft_types;
pub mod rpc;
pub mod service;
mod snapshot_gate;
pub mod store;
mod touched;
mod types;
mod versions;

pub use feed::Notice;
pub use namespace::*;
pub use query::{
    ListRow, Query, QueryReply, Xattrs, LISTED_XATTRS_MAX, MAX_PLACEMENTS_PAGE, MAX_REFS_PAGE,
};
pub use rpc::ChangesAnswer;
pub use service::{
    admit::ask_to_join, node_id_of, Meta, MetaConfig, MetaError, MetaStatus, ReadAnswer,
};
pub use touched::Touched;
pub use types::*;
