//! The `fragfs` command line: a thin layer over the library. Commands that
//! act on the network either talk to a running node through its control
//! socket (the default) or, with `--peer`, join the network themselves as a
//! light client for the length of the command.

mod accounts;
mod bench;
mod bench_meta;
mod bench_repair;
mod bench_scale;
mod bench_versions;
mod demo;
mod files;
mod light;
mod members;
mod ns_path;
mod pins;
mod progress;
mod redundancy;
mod shares;
#[cfg(test)]
mod tests;
mod transfer;
mod up;
mod versions;
mod workers;

// Shared with `fragfs-mountd` and `mount.fragfs`, which define them.
pub use fragfs_mountd::args::{self as mount_args, NetArgs, RepairArgs, ScrubArgs};
pub use fragfs_mountd::{reach, report};
pub use report::{exit_on_clap_error, one_line};

use crate::{
    control::{self, Event, Request},
    fragment::HashAlgo,
    lifecycle::RedundancySpec,
    net::Multiaddr,
    node::{Node, NodeConfig},
    redundancy::Redundancy,
    units,
};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode};

#[derive(Parser, Debug)]
#[command(
    name = "fragfs",
    version,
    about = "A filesystem whose bytes live on a peer-to-peer network"
)]
pub struct Cli {
    /// The node's data directory (identity, fragment store, control socket).
    #[arg(long, global = true, env = "FRAGFS_DATA", default_value_os_t = default_data_dir())]
    pub data: PathBuf,
    /// Log filter (e.g. `info`, `fragfs=debug`); also RUST_LOG.
    #[arg(long, global = true, default_value = "warn,openraft=error")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a peer: store fragments for the network and serve the CLI.
    Node(NodeArgs),
    /// Store a file on the network and print its id; with PATH, record it
    /// as the newest version of that path.
    Put(PutArgs),
    /// Fetch a file (by id or by /path) into OUT, verified.
    Get(GetArgs),
    /// List the peers the node is connected to.
    Peers(JsonArg),
    /// Show the node's identity, addresses, store usage and counters.
    Status(JsonArg),
    /// List a directory of the namespace: name, size, status, peers.
    Ls(LsArgs),
    /// Show a file's size, fragments, which peers hold them and which
    /// version last changed each, and versions.
    Info(PathArg),
    /// List a file's versions: number, time, author, size, parents, the
    /// fragments each changed and what happened (merged, conflict…).
    History(versions::HistoryArgs),
    /// Commit the content of an old version again as the newest version
    /// (nothing is erased) and print its number.
    Revert(versions::RevertArgs),
    /// Show a file's or directory's merge policy and where it comes from,
    /// or set it.
    Policy(versions::PolicyArgs),
    /// List recorded conflicts, overrides and resurrections, newest last.
    Conflicts(versions::ConflictsArgs),
    /// Show a file's or directory's redundancy (`replicas:N` or `rs:K+M`),
    /// where it comes from and its storage overhead, or set it.
    Redundancy(redundancy::RedundancyArgs),
    /// Find paths whose name contains TEXT, across the whole network.
    Search(SearchArgs),
    /// Create directories in the namespace, with missing parents.
    Mkdir {
        /// Absolute paths of the directories to create.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
    },
    /// Print every path in the namespace.
    Tree(TreeArgs),
    /// Mount the namespace at MOUNTPOINT (default ~/fragfs) with a node
    /// embedded in the mount (runs fragfs-mountd).
    Up(up::UpArgs),
    /// Show and change the metadata cluster's membership.
    #[command(subcommand)]
    Meta(MetaCommand),
    /// Start a local 3-peer network, store a sample file, stop a peer and
    /// fetch it back, printing what happened.
    Demo(demo::DemoArgs),
    /// Measure put/get throughput with 3 replicas and rs:4+2, store use per
    /// byte and repair after a peer loss, beside raw SHA3-256 and a local
    /// file copy.
    Bench(bench::BenchArgs),
    /// Measure metadata ops/s on 1 and 3 voters beside the local disk.
    BenchMeta(bench_meta::BenchMetaArgs),
    /// What a commit costs when it must merge (3 peers on 127.0.0.1).
    BenchVersions(bench_versions::BenchVersionsArgs),
    /// Many peers in one process: DHT lookup hops, repair after a share of
    /// them stop for good, memory per peer.
    BenchScale(bench_scale::BenchScaleArgs),
    /// Keep a verified copy of every fragment of a file on the local node
    /// and advertise it, for this version and every later one. A directory
    /// pins every regular file under it now (files created later are not
    /// pinned). `--list` shows the pins.
    Pin(pins::PinArgs),
    /// Stop keeping a file (or every pinned file under a directory); its
    /// fragments stay in the store.
    Unpin {
        /// The pinned file's or directory's absolute path.
        path: String,
    },
    /// List the pins, how much of each is held, and the fragments fetched
    /// for them.
    Pins(JsonArg),
    /// The node's maintenance workers: state (idle, busy, throttled,
    /// failing with backoff), progress, rate limit and last error.
    Workers(JsonArg),
    /// What repair sees (on the metadata leader): storage peers up,
    /// unreachable and gone, copies short, restored and bytes moved.
    Repair(JsonArg),
    /// Print a ticket (the last line on stdout) that admits one peer to
    /// this private network, once: `fragfs node --join TICKET`.
    Invite(members::InviteArgs),
    /// List the network's members: peer, role, who invited it, connected.
    Members(JsonArg),
    /// Users: `add NAME` creates a key pair in ~/.config/fragfs/users and
    /// registers it; `list` shows the registered users.
    #[command(subcommand)]
    User(accounts::UserCommand),
    /// Groups: create, add, remove, join (ask), accept, leave, list,
    /// requests; acts are signed with the acting user's key.
    Group(accounts::GroupArgs),
    /// Give a directory to a group: only its members' mounts may enter it
    /// (others get EACCES); its files are encrypted unless --plain.
    Share(shares::ShareArgs),
    /// Take a directory back from the group it was shared with.
    Unshare(shares::UnshareArgs),
    /// List the directories given to groups.
    Shares(JsonArg),
    /// Cut a member off: every node closes its connections and refuses it
    /// within seconds.
    Revoke {
        /// The member's peer id, as `fragfs members` shows it.
        peer: String,
    },
    /// Fetch and verify every fragment of every file under PATH, record
    /// missing whole-file hashes, and report files short of copies or with
    /// unresolved conflicts. Exits non-zero when a file could not be
    /// verified. Sees what is committed: a mount commits a file's writes
    /// on close or fsync.
    Sync(pins::SyncArgs),
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// The directory to list: a namespace path, or a path inside a mounted
    /// fragfs.
    #[arg(default_value = "/")]
    pub path: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PathArg {
    /// The file: a namespace path, or a path inside a mounted fragfs.
    pub path: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// What the names looked for contain.
    pub text: String,
    /// Print JSON instead of one path a line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TreeArgs {
    /// Answer from this node's own replica (a voter), without the leader.
    #[arg(long)]
    pub local: bool,
    /// Print JSON instead of one path a line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum MetaCommand {
    /// This node's view of the metadata cluster.
    Status(JsonArg),
    /// Make the node at MULTIADDR (ending in /p2p/<peer id>) a voter.
    Add {
        /// The new voter's address, ending in /p2p/<peer id>.
        #[arg(value_name = "MULTIADDR")]
        addr: String,
    },
    /// Remove voter NODE_ID from the cluster.
    Remove {
        /// The voter's node id, as `fragfs meta status` shows it.
        node_id: u64,
    },
}

#[derive(Args, Debug)]
pub struct NodeArgs {
    /// Be a metadata voter. A node started without --peer is one by
    /// default (a one-member cluster); with --peer it asks the cluster's
    /// leader to add it as a voter.
    #[arg(long)]
    pub meta: bool,
    /// Do not be a metadata voter, even alone.
    #[arg(long, conflicts_with = "meta")]
    pub no_meta: bool,
    /// Snapshot the metadata and compact its log every N entries.
    #[arg(long, default_value_t = 10_000, hide = true)]
    pub meta_snapshot_every: u64,
    #[command(flatten)]
    pub net: NetArgs,
    #[command(flatten)]
    pub scrub: ScrubArgs,
    #[command(flatten)]
    pub repair: RepairArgs,
    /// Most bytes of fragments to keep, e.g. 500G.
    #[arg(long, default_value = "100G", value_parser = units::parse_bytes)]
    pub capacity: u64,
    /// How long a fragment no kept version refers to stays before the
    /// collector deletes it (30s, 10m, 1h; at least 5s).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = fragfs::node::gc::parse_grace)]
    pub gc_grace: std::time::Duration,
}

#[derive(Args, Debug, Clone)]
pub struct JoinArgs {
    /// Join the network through this peer as a light client instead of
    /// using the local node (repeatable).
    #[arg(long = "peer", value_name = "MULTIADDR")]
    pub peers: Vec<Multiaddr>,
}

#[derive(Args, Debug)]
pub struct PutArgs {
    /// The local file to store.
    pub file: PathBuf,
    /// Where the file goes in the namespace (e.g. /docs/a.pdf; a trailing
    /// slash keeps the file's name). Without it the file is stored by id only.
    pub path: Option<String>,
    /// Name recorded in the manifest (default: the file's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Copies of each fragment.
    #[arg(long, default_value_t = 3)]
    pub replicas: u8,
    /// Copies each fragment must reach for the put to succeed (default: all).
    #[arg(long)]
    pub quorum: Option<u8>,
    /// `rs:K+M` to store each fragment as K data and M parity shards on
    /// K+M distinct peers (any K rebuild it); `replicas:N` is --replicas N.
    #[arg(long, value_name = "SPEC", value_parser = parse_redundancy)]
    pub redundancy: Option<Redundancy>,
    /// Fragment size, 64K to 16M.
    #[arg(long, default_value = "1M", value_parser = units::parse_bytes)]
    pub fragment_size: u64,
    /// Fragment hash: sha3-256 or blake3.
    #[arg(long, default_value = "sha3-256")]
    pub hash: HashAlgo,
    #[command(flatten)]
    pub join: JoinArgs,
}

/// A redundancy spec (`replicas:N` or `rs:K+M`) as clients write with it.
fn parse_redundancy(s: &str) -> Result<Redundancy, String> {
    RedundancySpec::parse(s.as_bytes())
        .and_then(|spec| spec.redundancy())
        .map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// A file id, or an absolute path in the namespace.
    pub id: String,
    /// The local file to write.
    pub out: PathBuf,
    #[command(flatten)]
    pub join: JoinArgs,
}

#[derive(Args, Debug)]
pub struct JsonArg {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn default_data_dir() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/fragfs"),
        None => PathBuf::from("/var/lib/fragfs"),
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return exit_on_clap_error("fragfs", &e),
    };
    if !matches!(cli.command, Command::Node(_)) {
        report::die_quietly_on_closed_stdout();
    }
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| cli.log.clone());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fragfs: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fragfs: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Node(a) => run_node(cli.data, a).await,
        Command::Put(a) => transfer::put(cli.data, a).await,
        Command::Get(a) => transfer::get(cli.data, a).await,
        Command::Peers(a) => peers(cli.data, a).await,
        Command::Status(a) => status(cli.data, a).await,
        Command::Ls(a) => files::ls(cli.data, a).await,
        Command::Info(a) => files::info(cli.data, a).await,
        Command::Search(a) => files::search(cli.data, a).await,
        Command::Meta(c) => files::meta(cli.data, c).await,
        Command::Mkdir { paths } => files::mkdir(cli.data, paths).await,
        Command::Tree(a) => files::tree(cli.data, a).await,
        Command::History(a) => versions::history(cli.data, a).await,
        Command::Revert(a) => versions::revert(cli.data, a).await,
        Command::Policy(a) => versions::policy(cli.data, a).await,
        Command::Conflicts(a) => versions::conflicts(cli.data, a).await,
        Command::Redundancy(a) => redundancy::redundancy(cli.data, a).await,
        Command::Up(a) => up::run(cli.data, a),
        Command::Demo(a) => demo::run(a).await,
        Command::Bench(a) => bench::run(a).await,
        Command::BenchMeta(a) => bench_meta::run(a).await,
        Command::BenchVersions(a) => bench_versions::run(a).await,
        Command::BenchScale(a) => bench_scale::run(a).await,
        Command::Pin(a) => pins::pin(cli.data, a).await,
        Command::Unpin { path } => pins::unpin(cli.data, path).await,
        Command::Pins(a) => pins::pins(cli.data, a).await,
        Command::Workers(a) => workers::workers(cli.data, a).await,
        Command::Repair(a) => workers::repair(cli.data, a).await,
        Command::Invite(a) => members::invite(cli.data, a).await,
        Command::Members(a) => members::members(cli.data, a).await,
        Command::User(c) => accounts::user(cli.data, c).await,
        Command::Group(a) => accounts::group(cli.data, a).await,
        Command::Share(a) => shares::share(cli.data, a).await,
        Command::Unshare(a) => shares::unshare(cli.data, a).await,
        Command::Shares(a) => shares::shares(cli.data, a).await,
        Command::Revoke { peer } => members::revoke(cli.data, peer).await,
        Command::Sync(a) => pins::sync(cli.data, a).await,
    }
}

async fn run_node(data: PathBuf, a: NodeArgs) -> Result<()> {
    let mut cfg = NodeConfig::new(&data);
    a.net.apply(&mut cfg)?;
    // A voter's ticket makes a voter; the node runs as no more than the
    // role its network gave it.
    let voter_ticket = cfg
        .join
        .as_ref()
        .is_some_and(|t| t.role == fragfs::meta::members::Role::Voter);
    cfg.meta.voter = a.meta || ((a.net.alone() || voter_ticket) && !a.no_meta);
    cfg.capacity = a.capacity;
    cfg.gc_grace = a.gc_grace;
    cfg.scrub = a.scrub.config();
    cfg.repair = a.repair.config();
    cfg.meta.snapshot_every = a.meta_snapshot_every.max(1);
    cfg.meta.keep_logs = (a.meta_snapshot_every / 10).max(1);
    // Signal handlers first: a SIGTERM right after the addresses are printed
    // must already stop the node gracefully.
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let node = match Node::start(cfg).await {
        Ok(n) => n,
        Err(e @ crate::node::NodeError::AlreadyRunning(_)) => bail!(e),
        Err(e) => return Err(anyhow::Error::new(e).context("cannot start the node")),
    };
    reach::watch_peers(&node, "fragfs", &a.net.peers);
    println!("peer id: {}", node.peer_id());
    let addrs = node.listen_addrs().await;
    for addr in &addrs {
        println!("listening on {addr}");
    }
    println!("data: {}", data.display());
    if node.meta().is_voter() {
        println!("metadata voter: node id {}", node.meta().node_id());
        if !a.net.alone() {
            join_cluster(&node, &addrs);
        }
    }
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    eprintln!("stopping");
    node.shutdown().await;
    Ok(())
}

/// A voter started with `--peer` asks the cluster to add it, and says so
/// on stderr when it is in.
fn join_cluster(node: &Node, addrs: &[Multiaddr]) {
    let meta = node.meta().clone();
    let Some(me) = crate::net::advertised(addrs) else {
        eprintln!("fragfs: warning: no listen address to join the metadata cluster with");
        return;
    };
    if meta.is_member_voter() {
        return;
    }
    node.tasks().spawn("meta-join", async move {
        match meta.join_as_voter(&me).await {
            Ok(()) => eprintln!(
                "fragfs: joined the metadata cluster as voter {}",
                meta.node_id()
            ),
            Err(e) => eprintln!("fragfs: warning: cannot join the metadata cluster: {e}"),
        }
    });
}

async fn peers(data: PathBuf, a: JsonArg) -> Result<()> {
    let ev = control::call(&data, &Request::Peers, |_| {})
        .await
        .map_err(anyhow::Error::msg)?;
    let Event::Peers(rows) = ev else {
        bail!("unexpected answer from the node: {ev:?}")
    };
    if a.json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| serde_json::json!({"peer_id": r.peer_id, "addrs": r.addrs, "agent": r.agent, "storage": r.storage}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no peers connected");
    }
    println!("{:<54} {:<8} {:<14} ADDRESS", "PEER", "ROLE", "AGENT");
    for r in rows {
        let role = if r.storage { "storage" } else { "client" };
        println!(
            "{:<54} {:<8} {:<14} {}",
            r.peer_id,
            role,
            r.agent,
            r.addrs.first().map(String::as_str).unwrap_or("-")
        );
    }
    Ok(())
}

async fn status(data: PathBuf, a: JsonArg) -> Result<()> {
    let ev = control::call(&data, &Request::Status, |_| {})
        .await
        .map_err(anyhow::Error::msg)?;
    let Event::Status(s) = ev else {
        bail!("unexpected answer from the node: {ev:?}")
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "peer_id": s.peer_id, "listen": s.listen, "uptime_secs": s.uptime_secs,
                "peers": s.peers, "storage_peers": s.storage_peers,
                "store": {"used": s.store_used, "capacity": s.store_capacity, "fragments": s.store_fragments, "corrupt_found": s.corrupt_found,
                           "collected": s.collected, "collected_bytes": s.collected_bytes},
                "requests": {"in": s.requests_in, "out": s.requests_out, "failed_out": s.failures_out, "malformed_in": s.malformed_in},
                "pin_fetched_fragments": s.pin_fetched_fragments,
                "workers": s.workers,
                "scrub": {"fragments": s.scrubbed_fragments, "corrupt_found": s.scrub_corrupt_found, "repaired": s.scrub_repaired},
                "erasure": {"degraded_reads": s.degraded_reads, "failed_shards": s.failed_shards},
            }))?
        );
        return Ok(());
    }
    println!("peer id:   {}", s.peer_id);
    for a in &s.listen {
        println!("listening: {a}");
    }
    println!("uptime:    {} s", s.uptime_secs);
    println!("peers:     {} ({} storage)", s.peers, s.storage_peers);
    println!(
        "store:     {} of {} in {} fragment(s); {} corrupt copies found",
        units::format_bytes(s.store_used),
        units::format_bytes(s.store_capacity),
        s.store_fragments,
        s.corrupt_found
    );
    println!(
        "requests:  {} in, {} out ({} failed), {} malformed rejected",
        s.requests_in, s.requests_out, s.failures_out, s.malformed_in
    );
    println!(
        "collected: {} in {} fragment(s) no kept version refers to",
        units::format_bytes(s.collected_bytes),
        s.collected
    );
    println!("pins:      {} fragment(s) fetched", s.pin_fetched_fragments);
    println!("workers:   {}", workers::summary(&s.workers));
    println!(
        "scrub:     {} fragment(s) verified, {} corrupt found, {} repaired",
        s.scrubbed_fragments, s.scrub_corrupt_found, s.scrub_repaired
    );
    println!(
        "erasure:   {} degraded read(s), {} failed shard(s)",
        s.degraded_reads, s.failed_shards
    );
    // Repair reports on the metadata leader only (`fragfs repair`).
    if let Ok(Event::Repair(r)) = control::call(&data, &Request::Repair, |_| {}).await {
        if r.leader {
            let gone = r.peers.iter().filter(|p| p.gone).count();
            println!(
                "repair:    {gone} peer(s) gone; {}; {} cop(ies) restored",
                workers::short_line(&r).trim_start_matches("short:").trim(),
                r.restored_copies
            );
        }
    }
    Ok(())
}
