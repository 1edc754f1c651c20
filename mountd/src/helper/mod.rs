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

use crate::args::MountArgs;
use clap::{CommandFactory, Parser};
use fragfs::net::Multiaddr;
use std::{
    ffi::{OsStr, OsString},
    path::{Path, PathBuf},
};

pub const USAGE: &str = "usage: mount.fragfs SOURCE DIR [-sfnvw] [-o OPTIONS]";

/// The data directory when no `data=` option is given.
pub const DEFAULT_DATA: &str = "/var/lib/fragfs";

/// The options `fragfs-mountd` takes, read from `-o` by their long names
/// (`--cache-size` is `cache_size=`); `--pid-file` is the helper's own.
#[derive(Parser, Debug)]
#[command(name = "mount.fragfs")]
struct MountdOptions {
    #[command(flatten)]
    mount: MountArgs,
}

/// Long options of `fragfs-mountd` that `-o` does not offer.
const NOT_OPTIONS: &[&str] = &["pid-file", "help", "version"];

/// Long options `-o` offers under another name, as (long, option): mount(8)
/// passes `user=LOGIN` to user mounts, so `--user` is `fragfs_user=`.
const RENAMED: &[(&str, &str)] = &[("user", "fragfs_user")];

/// The `-o` name of long option `long`.
fn option_name(long: &str) -> String {
    match RENAMED.iter().find(|(l, _)| *l == long) {
        Some((_, o)) => (*o).to_string(),
        None => long.replace('-', "_"),
    }
}

/// The long option `-o` name `name` stands for (None for a long option's
/// own name that `-o` offers under another).
fn long_name(name: &str) -> Option<String> {
    if let Some((l, _)) = RENAMED.iter().find(|(_, o)| *o == name) {
        return Some((*l).to_string());
    }
    let long = name.replace('_', "-");
    (!RENAMED.iter().any(|(l, _)| *l == long)).then_some(long)
}

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
    #[error("unknown option '{0}' (fragfs takes {known})", known = own_options().join(", "))]
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

/// One run of the helper, as mount(8) asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub source: Source,
    pub mountpoint: PathBuf,
    /// `data=`: the node's data directory.
    pub data: Option<PathBuf>,
    /// Every other fragfs option, as `fragfs-mountd` takes it.
    pub options: MountArgs,
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
        self.data
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA))
    }
}

/// Whether `args` ask for the help text (`-h`, `--help`) rather than a
/// mount.
pub fn wants_help(args: &[OsString]) -> bool {
    args.iter().any(|a| a == "-h" || a == "--help")
}

/// The text `mount.fragfs --help` prints: the usage, the flags, and every
/// `-o` option with its help (from `fragfs-mountd`'s own).
pub fn help_text() -> String {
    let mut t = format!(
        "{USAGE}\n\nMounts the fragfs namespace at DIR; run by `mount -t fragfs SOURCE DIR -o OPTIONS`.\n\
         SOURCE is `local` (a node alone on the data directory, unless peer= options\n\
         name peers to join) or a peer's address (/ip4/…/tcp/…/p2p/…) to join through.\n\n\
         Flags:\n  -s          sloppy: ignore unknown options\n  -f          check everything, mount nothing\n\
         \x20 -v          say what is done\n  -n, -w      accepted, no effect\n  -h, --help  print this text\n\n\
         Options (-o, comma-separated; generic ones such as rw, noauto, _netdev, nofail, x-* are ignored):\n\
         \x20 {:<22} The node's data directory (default {DEFAULT_DATA}).\n",
        "data=DIR"
    );
    let cmd = MountdOptions::command();
    for a in cmd.get_arguments() {
        let Some(long) = a.get_long().filter(|l| !NOT_OPTIONS.contains(l)) else {
            continue;
        };
        let name = option_name(long);
        let spec = match a.get_value_names().and_then(|v| v.first()) {
            Some(v) if a.get_action().takes_values() => format!("{name}={v}"),
            _ => name,
        };
        let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
        t.push_str(&format!("  {spec:<22} {}\n", help.replace('\n', " ")));
    }
    t
}

/// The names `-o` takes, for error messages.
fn own_options() -> Vec<String> {
    let cmd = MountdOptions::command();
    let own = cmd
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !NOT_OPTIONS.contains(l))
        .map(option_name);
    std::iter::once("data".to_string()).chain(own).collect()
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
    let mut data = None;
    let mut argv: Vec<String> = vec!["mount.fragfs".into()];
    let mut ignored = Vec::new();
    for opt in option_lists.iter().flat_map(|l| l.split(',')) {
        if opt.is_empty() {
            continue;
        }
        match apply(opt, &mut data) {
            Ok(Some(flag)) => argv.extend(flag),
            Ok(None) => ignored.push(opt.to_string()),
            Err(ArgError::Unknown(o)) if sloppy => ignored.push(o),
            Err(e) => return Err(e),
        }
    }
    let options = MountdOptions::try_parse_from(&argv)
        .map_err(|e| ArgError::Usage(crate::report::clap_error_line(&e)))?
        .mount;
    Ok(Invocation {
        source,
        mountpoint: PathBuf::from(mountpoint),
        data,
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

/// Reads one option: `data=` into `data`; one of `fragfs-mountd`'s as its
/// command-line form, checked on its own so that an error names it;
/// `None` for a generic one without effect.
fn apply(opt: &str, data: &mut Option<PathBuf>) -> Result<Option<Vec<String>>, ArgError> {
    let (name, value) = match opt.split_once('=') {
        Some((n, v)) => (n, Some(v.trim_matches('"'))),
        None => (opt, None),
    };
    let bad = |reason: &str| ArgError::Value {
        name: name.into(),
        reason: reason.into(),
    };
    if name == "data" {
        let v = value
            .filter(|v| !v.is_empty())
            .ok_or(bad("needs a value"))?;
        *data = Some(PathBuf::from(v));
        return Ok(Some(Vec::new()));
    }
    if opt == "ro" {
        return Err(ArgError::ReadOnly);
    }
    let long = long_name(name).unwrap_or_default();
    let cmd = MountdOptions::command();
    let Some(arg) = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some(long.as_str()) && !NOT_OPTIONS.contains(&long.as_str()))
    else {
        if GENERIC.contains(&opt) || GENERIC_PREFIXES.iter().any(|p| opt.starts_with(p)) {
            return Ok(None);
        }
        return Err(ArgError::Unknown(opt.into()));
    };
    let flag = match (arg.get_action().takes_values(), value) {
        (true, Some(v)) if !v.is_empty() => vec![format!("--{long}"), v.to_string()],
        (true, _) => return Err(bad("needs a value")),
        (false, None) => vec![format!("--{long}")],
        (false, Some(_)) => return Err(bad("takes no value")),
    };
    let one = std::iter::once("mount.fragfs".to_string()).chain(flag.iter().cloned());
    if let Err(e) = MountdOptions::try_parse_from(one) {
        let reason = crate::report::clap_error_line(&e);
        let reason = reason.split(" (usage:").next().unwrap_or(&reason);
        return Err(bad(reason));
    }
    Ok(Some(flag))
}

/// `fragfs-mountd`'s arguments for `inv`, with its data directory and the
/// file it writes its process id to: the source peer is joined first.
pub fn mountd_args(inv: &Invocation, mountpoint: &Path, pid_file: &Path) -> Vec<OsString> {
    let mut o = inv.options.clone();
    if let Source::Peer(a) = &inv.source {
        o.net.peers.insert(0, a.clone());
    }
    o.pid_file = Some(pid_file.to_path_buf());
    o.mountd_argv(&inv.data_dir(), mountpoint)
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
            "rw,noauto,_netdev,nofail,x-systemd.automount,user=alice,data=/srv/f,replicas=2,cache_size=1G,capacity=64M,allow_other,listen=/ip4/127.0.0.1/tcp/0,peer=/ip4/10.0.0.5/tcp/4001,no_mdns,scrub_rate=1M,scrub_every=10m,repair_after=30s,repair_rate=0,fragfs_user=bob",
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
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--peer",
            "/ip4/10.0.0.5/tcp/4001",
            "--no-mdns",
            "--replicas",
            "2",
            "--capacity",
            "67108864",
            "--fragment-size",
            "1048576",
            "--hash",
            "sha3-256",
            "--meta-timeout",
            "30",
            "--data-timeout",
            "120",
            "--cache-size",
            "1073741824",
            "--lock-lease",
            "20",
            "--gc-grace",
            "1h",
            "--scrub-rate",
            "1048576",
            "--scrub-every",
            "10m",
            "--repair-after",
            "30s",
            "--repair-rate",
            "0",
            "--allow-other",
            "--pid-file",
            "/srv/f/mountd.pid",
            "--user",
            "bob",
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
    fn t10_help_lists_every_option() {
        assert!(wants_help(&args(&["--help"])) && wants_help(&args(&["-h"])));
        assert!(!wants_help(&args(&["local", "/m"])));
        let h = help_text();
        for name in own_options() {
            assert!(h.contains(&format!("  {name}")), "{name} missing in {h}");
        }
        for line in h.lines().filter(|l| l.starts_with("  ")) {
            let mut words = line.split_whitespace();
            let (_, help) = (words.next(), words.next());
            assert!(help.is_some(), "no help text: {line}");
        }
    }

    #[test]
    fn t20_bad_arguments_are_one_line_errors() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["local", "/m", "-o", "frobnicate"],
                "unknown option 'frobnicate'",
            ),
            (&["local", "/m", "-o", "replicas=0"], "option replicas"),
            (
                &["local", "/m", "-o", "allow_other=1"],
                "option allow_other: takes no value",
            ),
            (&["local", "/m", "-o", "pid_file=/p"], "unknown option"),
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
