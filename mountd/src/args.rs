//! The options of a mount, defined once: `fragfs-mountd` parses them,
//! `fragfs up` takes the same ones, and `mount.fragfs` reads its `-o`
//! options by their names. [`MountArgs::mountd_argv`] is the one place that
//! builds `fragfs-mountd`'s command line from them, [`mountd_program`] the
//! one place that finds the program; [`MountArgs::node_config`]
//! is the one place that turns them into the embedded node's configuration.
//!
//! [`NetArgs`], how a long-running peer meets the network,
//! [`ScrubArgs`], how it re-verifies its store, and [`RepairArgs`], how it
//! restores what lost peers held, are shared with `fragfs node`. Errors are [`ArgsError`]s.
//!
//! This module knows nothing of FUSE.

use clap::Args;
use fragfs::{
    fragment::{FragmentSize, HashAlgo, InvalidFragmentSize},
    net::Multiaddr,
    node::{NodeConfig, RepairConfig, ScrubConfig},
    redundancy::{RedundancyError, Replicas},
    units,
};
use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    time::Duration,
};

/// How a long-running peer (`node`, `up`) meets the network.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct NetArgs {
    /// Address to listen on (repeatable). Default: TCP and QUIC on all
    /// interfaces, random ports.
    #[arg(long = "listen", value_name = "MULTIADDR")]
    pub listen: Vec<Multiaddr>,
    /// A peer to join through (repeatable), e.g. /ip4/10.0.0.5/tcp/4001/p2p/12D3…
    #[arg(long = "peer", value_name = "MULTIADDR")]
    pub peers: Vec<Multiaddr>,
    /// Do not discover peers on the local network with mDNS.
    #[arg(long)]
    pub no_mdns: bool,
    /// Join the private network this ticket admits to (`fragfs invite`
    /// prints one on a member). Needed once: the node remembers its
    /// network in its data directory.
    #[arg(long, value_name = "TICKET")]
    pub join: Option<String>,
    /// When this node founds a network (started alone the first time), let
    /// anyone connect to it, as on a lab bench; by default only members
    /// admitted with a ticket may.
    #[arg(long)]
    pub open: bool,
}

impl NetArgs {
    /// Whether this node starts with nobody to meet (then it founds a
    /// network, or resumes the one it founded).
    pub fn alone(&self) -> bool {
        self.peers.is_empty() && self.join.is_none()
    }

    /// Puts these options into a node's configuration; a ticket is read
    /// (and refused if damaged or expired) here.
    pub fn apply(&self, cfg: &mut NodeConfig) -> Result<(), ArgsError> {
        if !self.listen.is_empty() {
            cfg.net.listen = self.listen.clone();
        }
        cfg.net.bootstrap = self.peers.clone();
        cfg.net.mdns = !self.no_mdns;
        cfg.open = self.open;
        cfg.join = match &self.join {
            Some(t) => Some(fragfs::trust::Ticket::parse(t, fragfs::meta::Time::now())?),
            None => None,
        };
        Ok(())
    }

    fn argv(&self) -> Vec<String> {
        let mut v = Vec::new();
        for l in &self.listen {
            v.extend(["--listen".into(), l.to_string()]);
        }
        for p in &self.peers {
            v.extend(["--peer".into(), p.to_string()]);
        }
        if let Some(t) = &self.join {
            v.extend(["--join".into(), t.clone()]);
        }
        let flags = [(self.no_mdns, "--no-mdns"), (self.open, "--open")];
        v.extend(flags.into_iter().filter(|f| f.0).map(|f| f.1.into()));
        v
    }
}

/// How a storage peer (`node`, `up`) re-verifies the fragments it stores.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ScrubArgs {
    /// Bytes of stored fragments re-read and verified per second in the
    /// background, e.g. 16MiB; a corrupt copy is quarantined and fetched
    /// again from the other peers. 0 turns scrubbing off.
    #[arg(long, value_name = "BYTES_PER_SEC", default_value = "16MiB", value_parser = units::parse_bytes)]
    pub scrub_rate: u64,
    /// The wait between two passes over the store, e.g. 30s, 10m, 1h
    /// (at least 1s).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_pass_interval)]
    pub scrub_every: Duration,
}

impl ScrubArgs {
    /// The node's scrubber configuration.
    pub fn config(&self) -> ScrubConfig {
        ScrubConfig {
            rate: self.scrub_rate,
            every: self.scrub_every,
        }
    }

    /// The same options as `fragfs-mountd` arguments.
    fn argv(&self) -> [String; 4] {
        [
            "--scrub-rate".into(),
            self.scrub_rate.to_string(),
            "--scrub-every".into(),
            units::format_duration(self.scrub_every),
        ]
    }
}

/// How a peer restores what lost peers held (it acts while it leads the
/// metadata cluster).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct RepairArgs {
    /// How long a storage peer must be unreachable before every copy it
    /// held is restored on other peers, e.g. 30s, 10m (at least 2s).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = fragfs::node::parse_repair_after)]
    pub repair_after: Duration,
    /// Bytes per second repair may store, e.g. 32MiB; 0 for no limit.
    #[arg(long, value_name = "BYTES_PER_SEC", default_value = "32MiB", value_parser = units::parse_bytes)]
    pub repair_rate: u64,
}

impl RepairArgs {
    /// The node's repair configuration.
    pub fn config(&self) -> RepairConfig {
        RepairConfig {
            after: self.repair_after,
            rate: self.repair_rate,
        }
    }

    /// The same options as `fragfs-mountd` arguments.
    fn argv(&self) -> [String; 4] {
        [
            "--repair-after".into(),
            units::format_duration(self.repair_after),
            "--repair-rate".into(),
            self.repair_rate.to_string(),
        ]
    }
}

/// A duration of at least [`ScrubConfig::MIN_EVERY`].
fn parse_pass_interval(s: &str) -> Result<Duration, String> {
    let d = units::parse_duration(s)?;
    if d < ScrubConfig::MIN_EVERY {
        return Err(format!(
            "'{s}' is shorter than {} (the shortest wait between passes)",
            units::format_duration(ScrubConfig::MIN_EVERY)
        ));
    }
    Ok(d)
}

/// Options that parse but cannot be used together or on this machine.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error(transparent)]
    Redundancy(#[from] RedundancyError),
    #[error("fragment size is out of range (64 KiB to 16 MiB)")]
    FragmentSizeRange,
    #[error(transparent)]
    FragmentSize(#[from] InvalidFragmentSize),
    #[error("--cache-size {0} is too large")]
    CacheSize(u64),
    #[error(transparent)]
    Ticket(#[from] fragfs::trust::TicketError),
    #[error(transparent)]
    Acting(#[from] fragfs::trust::ActingError),
}

/// How a mount's node joins the network and stores what is written.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct MountArgs {
    #[command(flatten)]
    pub net: NetArgs,
    #[command(flatten)]
    pub scrub: ScrubArgs,
    #[command(flatten)]
    pub repair: RepairArgs,
    /// Copies of each fragment written. Default: 1 when started alone
    /// (without --peer), else 3.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
    pub replicas: Option<u8>,
    /// Most bytes of fragments this node keeps, e.g. 500G.
    #[arg(long, value_name = "BYTES", default_value = "100G", value_parser = units::parse_bytes)]
    pub capacity: u64,
    /// Fragment size of files written through the mount, 64K to 16M (a file
    /// rewritten in place keeps its own).
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = units::parse_bytes)]
    pub fragment_size: u64,
    /// Fragment hash of files written through the mount: sha3-256 or
    /// blake3 (faster).
    #[arg(long, value_name = "ALGO", default_value = "sha3-256")]
    pub hash: HashAlgo,
    /// Keep no fragments on this node: a client of the storage peers.
    #[arg(long)]
    pub no_store: bool,
    /// Seconds a namespace operation may take before it fails with EIO.
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub meta_timeout: u64,
    /// Seconds an operation moving file content (read, write, flush,
    /// fsync, close) may take before it fails with EIO.
    #[arg(long, default_value_t = 120, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub data_timeout: u64,
    /// Let every user use the mount (allow_other); permissions are checked
    /// by the kernel against the files' modes.
    #[arg(long)]
    pub allow_other: bool,
    /// Most bytes of file fragments kept in memory for reads, e.g. 1G.
    #[arg(long, value_name = "BYTES", default_value = "512M", value_parser = units::parse_bytes)]
    pub cache_size: u64,
    /// Seconds this mount's file locks outlive it if it dies without
    /// unmounting (its lease, renewed every quarter of it).
    #[arg(long, default_value_t = 20, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=fragfs::meta::MAX_LEASE_MS / 1000))]
    pub lock_lease: u64,
    /// How long a fragment no kept version refers to stays before the
    /// collector deletes it (30s, 10m, 1h; at least 5s).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = fragfs::node::gc::parse_grace)]
    pub gc_grace: Duration,
    /// Write the mount's process id to FILE once its node runs; removed at
    /// exit.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Act for user NAME (a key `fragfs user add` made): what is written
    /// is signed with its key, and directories shared with its groups
    /// open. Default: FRAGFS_USER, else the only user key of whoever
    /// starts the mount, else none (writes signed by the node; shared
    /// directories closed). A protected key takes FRAGFS_PASSPHRASE.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Act for several users by local uid: UID=NAME,UID=NAME… A uid not
    /// named may read outside shared directories and write nothing.
    #[arg(long, value_name = "MAP", conflicts_with = "user")]
    pub user_map: Option<String>,
}

impl MountArgs {
    /// `fragfs-mountd`'s command line (without the program) for a mount of
    /// `data` at `mountpoint` with these options.
    pub fn mountd_argv(&self, data: &Path, mountpoint: &Path) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec!["--data".into(), data.into()];
        v.extend(self.net.argv().into_iter().map(OsString::from));
        let mut opt = |name: &str, value: String| v.extend([name.into(), value.into()]);
        if let Some(r) = self.replicas {
            opt("--replicas", r.to_string());
        }
        opt("--capacity", self.capacity.to_string());
        opt("--fragment-size", self.fragment_size.to_string());
        opt("--hash", self.hash.to_string());
        opt("--meta-timeout", self.meta_timeout.to_string());
        opt("--data-timeout", self.data_timeout.to_string());
        opt("--cache-size", self.cache_size.to_string());
        opt("--lock-lease", self.lock_lease.to_string());
        opt("--gc-grace", fragfs::units::format_duration(self.gc_grace));
        v.extend(self.scrub.argv().map(OsString::from));
        v.extend(self.repair.argv().map(OsString::from));
        let flags = [
            (self.no_store, "--no-store"),
            (self.allow_other, "--allow-other"),
        ];
        v.extend(flags.into_iter().filter(|f| f.0).map(|f| f.1.into()));
        if let Some(p) = &self.pid_file {
            v.extend(["--pid-file".into(), p.into()]);
        }
        if let Some(u) = &self.user {
            v.extend(["--user".into(), u.into()]);
        }
        if let Some(m) = &self.user_map {
            v.extend(["--user-map".into(), m.into()]);
        }
        v.push(mountpoint.into());
        v
    }

    /// The embedded node's configuration: a voter when alone, a member of
    /// the peers' network otherwise.
    pub fn node_config(&self, data: &Path) -> Result<NodeConfig, ArgsError> {
        let mut cfg = NodeConfig::new(data);
        self.net.apply(&mut cfg)?;
        cfg.capacity = self.capacity;
        cfg.gc_grace = self.gc_grace;
        cfg.storage = !self.no_store;
        let alone = self.net.alone();
        cfg.meta.voter = alone;
        cfg.client.replicas = Replicas::new(self.replicas.unwrap_or(if alone { 1 } else { 3 }))?;
        let fsz = u32::try_from(self.fragment_size).map_err(|_| ArgsError::FragmentSizeRange)?;
        cfg.client.fragment_size = FragmentSize::new(fsz)?;
        cfg.client.hash = self.hash;
        cfg.scrub = self.scrub.config();
        cfg.repair = self.repair.config();
        Ok(cfg)
    }

    /// Bytes of the read cache, as the mount holds them.
    pub fn cache_bytes(&self) -> Result<usize, ArgsError> {
        usize::try_from(self.cache_size).map_err(|_| ArgsError::CacheSize(self.cache_size))
    }

    pub fn meta_deadline(&self) -> Duration {
        Duration::from_secs(self.meta_timeout)
    }

    pub fn data_deadline(&self) -> Duration {
        Duration::from_secs(self.data_timeout)
    }

    /// The users this mount acts for (`--user`, `--user-map`, else the
    /// default: see [`fragfs::trust::Acting::default_user`]).
    pub fn acting(&self) -> Result<fragfs::trust::Acting, ArgsError> {
        use fragfs::trust::Acting;
        let pass = std::env::var("FRAGFS_PASSPHRASE").ok();
        let pass = pass.as_deref();
        Ok(match (&self.user, &self.user_map) {
            (Some(u), _) => Acting::named(u, pass)?,
            (None, Some(m)) => Acting::from_map(m, pass)?,
            (None, None) => Acting::default_user(pass)?,
        })
    }

    /// How long this mount's file locks outlive it.
    pub fn lock_lease(&self) -> Duration {
        Duration::from_secs(self.lock_lease)
    }
}

/// The `fragfs-mountd` program (for `fragfs up` and `mount.fragfs` alike): `$FRAGFS_MOUNTD`, else the one beside this
/// executable, else in /usr/local/bin or /usr/bin, else on `PATH`.
pub fn mountd_program() -> PathBuf {
    if let Some(p) = std::env::var_os("FRAGFS_MOUNTD") {
        return p.into();
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("fragfs-mountd")));
    beside
        .into_iter()
        .chain(["/usr/local/bin/fragfs-mountd", "/usr/bin/fragfs-mountd"].map(PathBuf::from))
        .find(|p| p.is_file())
        .unwrap_or_else(|| "fragfs-mountd".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        m: MountArgs,
    }

    fn parse(args: &[&str]) -> Result<MountArgs, clap::Error> {
        Wrap::try_parse_from(std::iter::once("x").chain(args.iter().copied())).map(|w| w.m)
    }

    #[test]
    fn t10_the_argv_parses_back_to_the_same_options() {
        let m = parse(&[
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--peer",
            "/ip4/10.0.0.5/tcp/4001",
            "--no-mdns",
            "--replicas",
            "2",
            "--capacity",
            "64M",
            "--fragment-size",
            "64K",
            "--hash",
            "blake3",
            "--no-store",
            "--meta-timeout",
            "5",
            "--data-timeout",
            "9",
            "--allow-other",
            "--cache-size",
            "1G",
            "--pid-file",
            "/p",
            "--scrub-rate",
            "1MiB",
            "--scrub-every",
            "1h30m",
        ])
        .expect("valid");
        let argv = m.mountd_argv(Path::new("/d"), Path::new("/mnt/f"));
        let argv: Vec<String> = argv
            .into_iter()
            .map(|s| s.into_string().expect("utf-8"))
            .collect();
        assert_eq!(argv[..2], ["--data", "/d"]);
        assert_eq!(argv.last().map(String::as_str), Some("/mnt/f"));
        let back: Vec<&str> = argv[2..argv.len() - 1].iter().map(String::as_str).collect();
        assert_eq!(parse(&back).expect("parses"), m);
        // Defaults survive the trip too.
        let d = parse(&[]).expect("valid");
        let argv = d.mountd_argv(Path::new("/d"), Path::new("/m"));
        let argv: Vec<String> = argv
            .into_iter()
            .map(|s| s.into_string().expect("utf-8"))
            .collect();
        let back: Vec<&str> = argv[2..argv.len() - 1].iter().map(String::as_str).collect();
        assert_eq!(parse(&back).expect("parses"), d);
    }

    #[test]
    fn t20_out_of_range_values_are_refused() {
        for bad in [
            &["--replicas", "0"][..],
            &["--meta-timeout", "0"],
            &["--data-timeout", "0"],
            &["--hash", "md5"],
            &["--cache-size", "lots"],
            &["--scrub-rate", "fast"],
            &["--scrub-every", "10"],
            &["--scrub-every", "500ms"],
            &["--scrub-every", "0"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
