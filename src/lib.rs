//! fragfs: a filesystem whose bytes live on a peer-to-peer network.
//!
//! The library is layered; each module says in its own header what it owns and
//! what it must not know. From the bottom up:
//!
//! - [`fragment`]: fragment ids, cutting files, manifests (pure, no IO).
//! - [`redundancy`]: replica counts, quorums and placement (pure, no IO).
//! - [`erasure`]: Reed–Solomon shards of a fragment and their stripe
//!   record (pure, no IO).
//! - [`frame`]: length-prefixed frames, the framing of every protocol.
//! - [`wire`]: the versioned messages peers exchange (pure, no IO).
//! - [`version`]: merging concurrent versions of a file (pure, no IO).
//! - [`lifecycle`]: retention, redundancy specs and garbage-collection
//!   decisions (pure, no IO).
//! - [`store`]: a peer's local content-addressed fragment store (blocking fs IO).
//! - [`net`]: the libp2p swarm as one actor plus a cheap handle.
//! - [`client`]: putting and getting whole files across the network.
//! - [`meta`]: the replicated namespace.
//! - [`volume`]: the filesystem as typed operations over `meta` and `client`.
//! - [`trust`]: who is who: user key pairs and their files (no IO but
//!   the key files).
//! - [`control`]: the local control protocol the CLI speaks to a node.
//! - [`node`]: the long-running peer (store + net + control socket).
//!
//! The `fragfs` command line is a binary of its own (crate `fragfs-cli`):
//! the library depends on neither clap, indicatif nor anyhow.
//!
//! With the feature `test-utils`, `testing` holds what the integration tests
//! of every crate share (process guards, node processes, waiting).

pub mod client;
pub mod control;
pub mod erasure;
pub mod fragment;
pub mod frame;
pub mod lifecycle;
pub mod meta;
pub mod net;
pub mod node;
pub mod redundancy;
pub mod store;
pub mod task;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod trust;
pub mod units;
pub mod version;
pub mod volume;
pub mod wire;
pub mod worker;
