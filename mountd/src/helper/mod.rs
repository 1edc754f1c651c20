//! `mount.fragfs`: the helper `mount -t fragfs SOURCE DIR -o OPTIONS` runs
//! (as `/sbin/mount.fragfs SOURCE DIR [-sfnvrw] [-o OPTIONS]`).
//!
//! This part is pure: it reads the helper's arguments into an
//! [`Invocation`] and turns that into `fragfs-mountd`'s arguments.
//! [`daemon`] starts `fragfs-mountd` detached and waits for the mount.
//!
//! SOURCE is `local` (a node alone on the data directory, unless `peer=`
//! options name peers to join) or a peer's multiaddr
//! (`/ip4/10.0.0.5/tcp/4001/p2p/12D3…`: join the network through it).
//! Options mount(8) passes for every filesystem (`rw`, `defaults`,
//! `noauto`, `_netdev`, `nofail`, `user`, `x-systemd.*`, …) are ignored;
//! an unknown option is an error, or ignored with `-s` (sloppy).

pub mod daemon;

use fragfs::net::Multiaddr;
use std::{
    ffi::{OsStr, OsString},
    path::{Path, PathBuf},
};

pub const USAGE: &str = "usage: mount.fragfs SOURCE DIR [-sfnvw] [-o OPTIONS]";

/// The data directory when no `data=` option is given.
pub const DEFAULT_DATA: &str = "/var/lib/fragfs";

/// The options fragfs itself takes, for error messages.
const OWN_OPTIONS: &str =
    "data=, replicas=, cache_size=, capacity=, allow_other, listen=, peer=, no_mdns";

/// Options mount(8) or fstab pass for any filesystem: accepted, no effect.
const GENERIC: &[&str] = &[
    "rw",
    "defaults",
    "auto",
    "noauto",
    "user",
    "nouser",
    "users",
    "owner",
    "group",
    "_netdev",
    "nofail",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "async",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "relatime",
    "norelatime",
    "strictatime",
    "lazytime",
    "silent",
    "loud",
];

/// Prefixes of generic options with a value (`x-systemd.requires=…`,
/// `user=alice`, `comment=…`): accepted, no effect.
const GENERIC_PREFIXES: &[&str] = &["x-", "X-", "comment=", "user=", "helper="];

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("{0} ({USAGE})")]
    Usage(String),
    #[error("unknown option '{0}' (fragfs takes {OWN_OPTIONS})")]
    Unknown(String),
    #[error("option {name}: {reason}")]
    Value { name: String, reason: String },
    #[error("read-only mounts are not supported")]
    ReadOnly,
    #[error("source '{0}' is neither 'local' nor a peer's address (/ip4/…/tcp/…/p2p/…): {1}")]
    Source(String, String),
}

/// Where the node finds the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// No bootstrap peer from the source.
    Local,
    /// Join through this peer.
    Peer(Multiaddr),
}

/// The fragfs options of a mount.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub data: Option<PathBuf>,
    pub replicas: Option<u8>,
    pub cache_size: Option<u64>,
    pub capacity: Option<u64>,
    pub allow_other: bool,
    pub listen: Vec<Multiaddr>,
    pub peers: Vec<Multiaddr>,
    pub no_mdns: bool,
    /// `no_store`: a client of the storage peers.
    pub no_store: bool,
    pub fragment_size: Option<u64>,
    /// `hash=sha3-256|blake3`.
    pub hash: Option<String>,
    /// Seconds: `meta_timeout=`, `data_timeout=`.
    pub meta_timeout: Option<u64>,
    pub data_timeout: Option<u64>,
}

/// One run of the helper, as mount(8) asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub source: Source,
    pub mountpoint: PathBuf,
    pub options: Options,
    /// `-f`: check everything, mount nothing.
    pub fake: bool,
    /// `-v`: say what is done.
    pub verbose: bool,
    /// `-s`: ignore unknown options instead of failing.
    pub sloppy: bool,
    /// Options accepted without effect, or (with `-s`) unknown.
    pub ignored: Vec<String>,
}

impl Invocation {
    pub fn data_dir(&self) -> PathBuf {
        self.options
            .data
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA))
    }
}

fn utf8(s: &OsStr) -> Result<&str, ArgError> {
    s.to_str()
        .ok_or_else(|| ArgError::Usage(format!("argument {s:?} is not UTF-8")))
}

/// Reads the helper's arguments (without the program name).
pub fn parse(args: &[OsString]) -> Result<Invocation, ArgError> {
    let mut positional: Vec<&OsString> = Vec::new();
    let mut option_lists: Vec<String> = Vec::new();
    let (mut fake, mut verbose, mut sloppy) = (false, false, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let bytes = arg.as_encoded_bytes();
        if bytes.len() < 2 || bytes[0] != b'-' {
            positional.push(arg);
            continue;
        }
        let flags = utf8(arg)?;
        // Flags may be grouped (-sv); -o and -t take the rest or the next
        // argument as their value.
        for (i, c) in flags[1..].char_indices() {
            match c {
                's' => sloppy = true,
                'f' => fake = true,
                'n' | 'w' => {}
                'v' => verbose = true,
                'r' => return Err(ArgError::ReadOnly),
                'o' | 't' => {
                    let rest = &flags[1 + i + 1..];
                    let value = if rest.is_empty() {
                        let next = it
                            .next()
                            .ok_or_else(|| ArgError::Usage(format!("-{c} needs a value")))?;
                        utf8(next)?.to_string()
                    } else {
                        rest.to_string()
                    };
                    if c == 'o' {
                        option_lists.push(value);
                    }
                    break;
                }
                _ => return Err(ArgError::Usage(format!("unknown flag -{c}"))),
            }
        }
    }
    let [source, mountpoint] = positional[..] else {
        return Err(ArgError::Usage(format!(
            "expected SOURCE and DIR, got {} argument(s)",
            positional.len()
        )));
    };
    let source = parse_source(utf8(source)?)?;
    let mut options = Options::default();
    let mut ignored = Vec::new();
    for opt in option_lists.iter().flat_map(|l| l.split(',')) {
        if opt.is_empty() {
            continue;
        }
        match apply(&mut options, opt) {
            Ok(true) => {}
            Ok(false) => ignored.push(opt.to_string()),
            Err(ArgError::Unknown(o)) if sloppy => ignored.push(o),
            Err(e) => return Err(e),
        }
    }
    Ok(Invocation {
        source,
        mountpoint: PathBuf::from(mountpoint),
        options,
        fake,
        verbose,
        sloppy,
        ignored,
    })
}

fn parse_source(s: &str) -> Result<Source, ArgError> {
    if s == "local" {
        return Ok(Source::Local);
    }
    if !s.starts_with('/') {
        return Err(ArgError::Source(s.into(), "not an address".into()));
    }
    s.parse()
        .map(Source::Peer)
        .map_err(|e| ArgError::Source(s.into(), e.to_string()))
}

/// Applies one option; `Ok(false)` when it is a generic one without effect.
fn apply(o: &mut Options, opt: &str) -> Result<bool, ArgError> {
    let (name, value) = match opt.split_once('=') {
        Some((n, v)) => (n, Some(v.trim_matches('"'))),
        None => (opt, None),
    };
    let need = || {
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ArgError::Value {
                name: name.into(),
                reason: "needs a value".into(),
            })
    };
    let bad = |reason: String| ArgError::Value {
        name: name.into(),
        reason,
    };
    let addr = |v: &str| v.parse::<Multiaddr>().map_err(|e| bad(format!("{v}: {e}")));
    match (name, value.is_some()) {
        ("data", _) => o.data = Some(PathBuf::from(need()?)),
        ("replicas", _) => {
            let v = need()?;
            match v.parse::<u8>() {
                Ok(n) if n > 0 => o.replicas = Some(n),
                _ => return Err(bad(format!("'{v}' is not a number from 1 to 255"))),
            }
        }
        ("cache_size", _) => o.cache_size = Some(fragfs::units::parse_bytes(need()?).map_err(bad)?),
        ("capacity", _) => o.capacity = Some(fragfs::units::parse_bytes(need()?).map_err(bad)?),
        ("listen", _) => o.listen.push(addr(need()?)?),
        ("peer", _) => o.peers.push(addr(need()?)?),
        ("allow_other", false) => o.allow_other = true,
        ("no_mdns", false) => o.no_mdns = true,
        ("no_store", false) => o.no_store = true,
        ("fragment_size", _) => {
            o.fragment_size = Some(fragfs::units::parse_bytes(need()?).map_err(bad)?)
        }
        ("hash", _) => {
            let v = need()?;
            v.parse::<fragfs::fragment::HashAlgo>()
                .map_err(|e| bad(format!("'{v}': {e}")))?;
            o.hash = Some(v.to_string());
        }
        ("meta_timeout" | "data_timeout", _) => {
            let v = need()?;
            let secs = match v.parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => return Err(bad(format!("'{v}' is not a number of seconds"))),
            };
            if name == "meta_timeout" {
                o.meta_timeout = Some(secs);
            } else {
                o.data_timeout = Some(secs);
            }
        }
        ("ro", false) => return Err(ArgError::ReadOnly),
        _ if GENERIC.contains(&opt) => return Ok(false),
        _ if GENERIC_PREFIXES.iter().any(|p| opt.starts_with(p)) => return Ok(false),
        _ => return Err(ArgError::Unknown(opt.into())),
    }
    Ok(true)
}

/// `fragfs-mountd`'s arguments for `inv`, with its data directory and the
/// file it writes its process id to.
pub fn mountd_args(inv: &Invocation, mountpoint: &Path, pid_file: &Path) -> Vec<OsString> {
    let o = &inv.options;
    let mut v: Vec<OsString> = vec!["--data".into(), inv.data_dir().into()];
    let peers = match &inv.source {
        Source::Local => None,
        Source::Peer(a) => Some(a),
    };
    for p in peers.into_iter().chain(&o.peers) {
        v.extend(["--peer".into(), p.to_string().into()]);
    }
    for l in &o.listen {
        v.extend(["--listen".into(), l.to_string().into()]);
    }
    if o.no_mdns {
        v.push("--no-mdns".into());
    }
    if let Some(r) = o.replicas {
        v.extend(["--replicas".into(), r.to_string().into()]);
    }
    if let Some(c) = o.capacity {
        v.extend(["--capacity".into(), c.to_string().into()]);
    }
    if let Some(c) = o.cache_size {
        v.extend(["--cache-size".into(), c.to_string().into()]);
    }
    if o.allow_other {
        v.push("--allow-other".into());
    }
    if o.no_store {
        v.push("--no-store".into());
    }
    if let Some(f) = o.fragment_size {
        v.extend(["--fragment-size".into(), f.to_string().into()]);
    }
    if let Some(h) = &o.hash {
        v.extend(["--hash".into(), h.into()]);
    }
    if let Some(t) = o.meta_timeout {
        v.extend(["--meta-timeout".into(), t.to_string().into()]);
    }
    if let Some(t) = o.data_timeout {
        v.extend(["--data-timeout".into(), t.to_string().into()]);
    }
    v.extend(["--pid-file".into(), pid_file.into()]);
    v.push(mountpoint.into());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    fn strings(v: Vec<OsString>) -> Vec<String> {
        v.into_iter()
            .map(|s| s.into_string().expect("utf-8"))
            .collect()
    }

    #[test]
    fn t10_content_options_reach_the_daemon() {
        let inv = parse(&args(&[
            "local",
            "/mnt/f",
            "-o",
            "no_store,hash=blake3,fragment_size=64K,meta_timeout=5,data_timeout=9",
        ]))
        .expect("valid");
        let got = strings(mountd_args(&inv, Path::new("/mnt/f"), Path::new("/p")));
        for pair in [
            ["--fragment-size", "65536"],
            ["--hash", "blake3"],
            ["--meta-timeout", "5"],
            ["--data-timeout", "9"],
        ] {
            assert!(
                got.windows(2).any(|w| w == pair),
                "{pair:?} missing in {got:?}"
            );
        }
        assert!(got.iter().any(|a| a == "--no-store"));
        for bad in ["hash=md5", "data_timeout=0", "fragment_size=x"] {
            assert!(
                parse(&args(&["local", "/mnt/f", "-o", bad])).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn t10_mount_argv_becomes_mountd_args() {
        let inv = parse(&args(&[
            "local",
            "/mnt/f",
            "-n",
            "-o",
            "rw,noauto,_netdev,nofail,x-systemd.automount,user=alice,data=/srv/f,replicas=2,cache_size=1G,capacity=64M,allow_other,listen=/ip4/127.0.0.1/tcp/0,peer=/ip4/10.0.0.5/tcp/4001,no_mdns",
        ]))
        .expect("valid");
        assert_eq!(inv.source, Source::Local);
        assert!(!inv.fake && !inv.verbose && !inv.sloppy);
        assert_eq!(
            inv.ignored,
            [
                "rw",
                "noauto",
                "_netdev",
                "nofail",
                "x-systemd.automount",
                "user=alice"
            ]
        );
        let got = strings(mountd_args(
            &inv,
            Path::new("/mnt/f"),
            Path::new("/srv/f/mountd.pid"),
        ));
        let want = [
            "--data",
            "/srv/f",
            "--peer",
            "/ip4/10.0.0.5/tcp/4001",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--no-mdns",
            "--replicas",
            "2",
            "--capacity",
            "67108864",
            "--cache-size",
            "1073741824",
            "--allow-other",
            "--pid-file",
            "/srv/f/mountd.pid",
            "/mnt/f",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn t10_a_peer_source_is_joined_first_and_flags_may_be_grouped() {
        let inv = parse(&args(&[
            "-sv",
            "-odefaults,data=/d",
            "/ip4/10.0.0.5/tcp/4001/p2p/12D3KooWKijwKxQfbwmV7WxFB3rCvh2S73FHUZW6RCn9rMjEuo6K",
            "/mnt/f",
            "-o",
            "peer=/ip4/10.0.0.6/tcp/4001,frobnicate",
            "-t",
            "fragfs",
        ]))
        .expect("valid");
        assert!(inv.sloppy && inv.verbose);
        assert_eq!(inv.ignored, ["defaults", "frobnicate"]);
        let got = strings(mountd_args(&inv, Path::new("/mnt/f"), Path::new("/p")));
        assert_eq!(
            got[..6],
            [
                "--data",
                "/d",
                "--peer",
                "/ip4/10.0.0.5/tcp/4001/p2p/12D3KooWKijwKxQfbwmV7WxFB3rCvh2S73FHUZW6RCn9rMjEuo6K",
                "--peer",
                "/ip4/10.0.0.6/tcp/4001"
            ]
        );
        // Without data= the node lives in the default data directory.
        let inv = parse(&args(&["local", "/m"])).expect("valid");
        assert_eq!(inv.data_dir(), Path::new(DEFAULT_DATA));
    }

    #[test]
    fn t20_bad_arguments_are_one_line_errors() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["local", "/m", "-o", "frobnicate"],
                "unknown option 'frobnicate'",
            ),
            (&["local", "/m", "-o", "replicas=0"], "option replicas"),
            (&["local", "/m", "-o", "replicas=many"], "option replicas"),
            (
                &["local", "/m", "-o", "cache_size=lots"],
                "option cache_size",
            ),
            (&["local", "/m", "-o", "peer=10.0.0.5"], "option peer"),
            (
                &["local", "/m", "-o", "data="],
                "option data: needs a value",
            ),
            (&["local", "/m", "-o", "ro"], "read-only"),
            (&["local", "/m", "-r"], "read-only"),
            (&["local", "/m", "-x"], "unknown flag -x"),
            (&["local", "/m", "-o"], "-o needs a value"),
            (&["local"], "expected SOURCE and DIR"),
            (&["server:/export", "/m"], "source 'server:/export'"),
            (&["/not/an/address", "/m"], "source '/not/an/address'"),
        ];
        for (argv, want) in cases {
            let e = parse(&args(argv)).expect_err("refused").to_string();
            assert!(e.contains(want), "{argv:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
