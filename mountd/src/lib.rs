//! fragfs-mountd: the fragfs namespace as a local filesystem through FUSE.
//!
//! A mount embeds a whole fragfs node (store, network, metadata voter) and
//! answers the kernel's FUSE requests from it: namespace operations become
//! metadata commands and queries, reads fetch verified fragments of the head
//! version, and writes are buffered per open file and stored as a new
//! version when the file is flushed (close, fsync).
//!
//! **Architecture invariant:** only this crate knows fuser and errno. The
//! single mapping from fragfs errors to errno values is [`errno::errno`].
//!
//! - [`errno`]: the error type of one FUSE operation and its errno.
//! - [`attr`]: namespace attributes and times ↔ FUSE attributes (pure).
//! - [`plan`]: which fragment bytes a read needs (pure).
//! - [`cache`]: verified fragments kept in memory, bounded in bytes
//!   (their length plus a per-entry overhead).
//! - [`core`]: the operations themselves, async, on the embedded node.
//! - [`creds`]: the caller's supplementary groups (FUSE passes one gid).
//! - [`fs`]: the `fuser::Filesystem` callbacks: copy arguments, spawn the
//!   operation on the runtime with a deadline, answer from there.
//! - [`statfs`]: the network's capacity and use, as `statfs` reports them.
//! - [`history`]: the read-only tree of every file's versions at
//!   `.fragfs/history/`, with virtual inode numbers.
//! - [`invalidate`]: telling the kernel to forget what changed elsewhere
//!   (pushed by the metadata service), and when an open keeps its pages.
//! - [`locks`]: `fcntl` and `flock` locks held in the namespace, shared
//!   by every mount, with this mount's lease.
//! - [`malloc`]: the daemon's allocator settings (large buffers go back
//!   to the system when freed).
//! - [`mount`]: mounting, lazy unmounting, the mount's configuration.
//! - [`mountinfo`]: the kernel's mount table, parsed (one parser for all).
//! - [`args`]: the options of a mount, defined once (`fragfs up`,
//!   `fragfs-mountd`, `mount.fragfs`), and the one builder of
//!   `fragfs-mountd`'s command line.
//! - [`report`], [`reach`]: one-line errors and `--peer`s that do not
//!   answer, as every fragfs program reports them.
//! - [`helper`]: `mount.fragfs`, the helper `mount -t fragfs` runs: its
//!   arguments become `fragfs-mountd`'s, started detached.

pub mod args;
pub mod attr;
pub mod cache;
pub mod core;
pub mod creds;
pub mod errno;
pub mod fs;
pub mod guard;
pub mod helper;
pub mod history;
pub mod invalidate;
pub mod locks;
pub mod malloc;
pub mod meta_cache;
pub mod mount;
pub mod mountinfo;
pub mod plan;
pub mod reach;
pub mod report;
pub mod statfs;

pub use mount::{mount, unmount_lazy, MountConfig, Mounted};
