//! Close-to-open between mounts on different nodes, by pushed invalidation:
//! the kernel of each mount may cache attributes and entries for a minute,
//! so a change closed on one mount can only show on the other within the
//! test's deadline if the namespace change is pushed to it. Real peers on
//! 127.0.0.1 (in this process), real FUSE mounts, plain `std::fs` calls.

use fragfs::{
    client::ClientConfig,
    meta::{Query, ROOT},
    node::{localnet::LocalNet, Node, NodeConfig},
};
use fragfs_mountd::{MountConfig, Mounted};
use rand::RngCore;
use std::{
    fs, io,
    os::unix::{ffi::OsStrExt, fs::PermissionsExt},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// How long the kernel may cache attributes and entries: far longer than
/// any wait below, so only a pushed invalidation makes a change visible.
const TTL: Duration = Duration::from_secs(60);
/// How soon a change closed on one mount must show on another.
const SEEN_WITHIN: Duration = Duration::from_secs(10);
const START_DEADLINE: Duration = Duration::from_secs(30);

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}

fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::rng().fill_bytes(&mut v);
    v
}

fn voter(cfg: &mut NodeConfig) {
    cfg.meta.voter = true;
}

/// Nodes and mounts in this process. The test thread only makes
/// filesystem calls; the nodes and the FUSE operations run on `rt`.
/// Dropping it unmounts every mount and stops every node, also when the
/// test failed.
struct World {
    mounts: Vec<(Mounted, tempfile::TempDir)>,
    light: Vec<Node>,
    net: Option<LocalNet>,
    _tmp: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl World {
    /// Three voters: peer 0 starts the cluster and adds the others.
    fn cluster() -> World {
        init_tracing();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let tmp = tempfile::tempdir().expect("temp dir");
        let net = rt.block_on(async {
            let net = LocalNet::start_with(tmp.path(), 3, voter)
                .await
                .expect("peers start");
            assert!(net.wait_for_mesh(START_DEADLINE).await, "peers meet");
            assert!(
                net.node(0)
                    .meta()
                    .wait_for_leader(START_DEADLINE)
                    .await
                    .is_some(),
                "peer 0 leads its own cluster"
            );
            for i in 1..3 {
                let addr = net.node(i).listen_addrs().await[0].clone();
                net.node(0)
                    .meta()
                    .add_voter(&addr)
                    .await
                    .unwrap_or_else(|e| panic!("add voter {i}: {e}"));
            }
            net
        });
        World {
            mounts: Vec::new(),
            light: Vec::new(),
            net: Some(net),
            _tmp: tmp,
            rt,
        }
    }

    fn net(&self) -> &LocalNet {
        self.net.as_ref().expect("the network runs")
    }

    /// Starts a node that is not a metadata voter (nor a store), joined to
    /// the voters; returns its index in `light`.
    fn add_light_node(&mut self) -> usize {
        let dir = self._tmp.path().join("light");
        let node = self.rt.block_on(async {
            self.net()
                .light_client(&dir, ClientConfig::default(), 3, START_DEADLINE)
                .await
                .expect("light node joins")
        });
        assert!(!node.meta().is_voter());
        self.light.push(node);
        self.light.len() - 1
    }

    /// Mounts `node` with the long TTL once its namespace answers; returns
    /// the mount point.
    fn mount(&mut self, which: Which) -> PathBuf {
        self.mount_with(which, true)
    }

    fn mount_with(&mut self, which: Which, invalidate: bool) -> PathBuf {
        let node = match which {
            Which::Voter(i) => self.net().node(i),
            Which::Light(i) => &self.light[i],
        };
        self.rt.block_on(wait_for_namespace(node));
        let dir = tempfile::tempdir().expect("mount point");
        let mnt = dir.path().canonicalize().expect("canonical mount point");
        let cfg = MountConfig {
            ttl: TTL,
            invalidate,
            ..MountConfig::default()
        };
        let m = fragfs_mountd::mount(node, self.rt.handle().clone(), &mnt, cfg).expect("mount");
        self.mounts.push((m, dir));
        mnt
    }

    /// Unmounts and stops everything, checking that it went cleanly.
    fn finish(mut self) {
        let (mounts, light) = (
            std::mem::take(&mut self.mounts),
            std::mem::take(&mut self.light),
        );
        let net = self.net.take();
        self.rt.block_on(async move {
            for (m, _dir) in mounts {
                m.unmount(Duration::from_secs(5)).await.expect("unmount");
            }
            for n in light {
                assert!(n.shutdown().await, "the light node stops cleanly");
            }
            if let Some(net) = net {
                net.shutdown().await;
            }
        });
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let (mounts, light) = (
            std::mem::take(&mut self.mounts),
            std::mem::take(&mut self.light),
        );
        let net = self.net.take();
        self.rt.block_on(async move {
            for (m, _dir) in mounts {
                let _ = m.unmount(Duration::from_secs(5)).await;
            }
            for n in light {
                n.shutdown().await;
            }
            if let Some(net) = net {
                net.shutdown().await;
            }
        });
    }
}

#[derive(Clone, Copy)]
enum Which {
    Voter(usize),
    Light(usize),
}

/// Waits until `node` gets a confirmed answer from the namespace.
async fn wait_for_namespace(node: &Node) {
    let until = tokio::time::Instant::now() + START_DEADLINE;
    loop {
        match node.meta().read(Query::Getattr { ino: ROOT }).await {
            Ok(a) if !a.stale => return,
            other => assert!(
                tokio::time::Instant::now() < until,
                "the namespace does not answer: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `check` until it passes, at most [`SEEN_WITHIN`].
fn eventually(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let until = Instant::now() + SEEN_WITHIN;
    loop {
        match check() {
            Ok(()) => return,
            Err(e) if Instant::now() >= until => {
                panic!("{what}: not seen within {SEEN_WITHIN:?}: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// `path` has `want` as its size and content.
fn holds(path: &Path, want: &[u8]) -> Result<(), String> {
    let len = fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len != want.len() as u64 {
        return Err(format!("stat says {len} bytes, want {}", want.len()));
    }
    let got = fs::read(path).map_err(|e| e.to_string())?;
    if got != want {
        return Err(format!("read {} bytes that differ", got.len()));
    }
    Ok(())
}

fn names(dir: &Path) -> Result<Vec<String>, String> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| e.to_string())? {
        let e = e.map_err(|e| e.to_string())?;
        v.push(e.file_name().to_string_lossy().into_owned());
    }
    v.sort();
    Ok(v)
}

fn absent(path: &Path) -> Result<(), String> {
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.to_string()),
        Ok(_) => Err("still there".into()),
    }
}

/// Changes closed on mount `a` show on mount `b` (both see one namespace),
/// although `b`'s kernel has cached what they change. `tag` keeps the
/// names of one run apart from another's.
fn changes_show(a: &Path, b: &Path, tag: &str) {
    let dir = format!("d-{tag}");
    fs::create_dir(a.join(&dir)).expect("mkdir on A");
    let (a, b) = (a.join(&dir), b.join(&dir));
    let (f, doomed, born, was, is) = ("f", "doomed", "born", "was", "is");

    let v1 = random(1000);
    fs::write(a.join(f), &v1).expect("write v1 on A");
    fs::write(a.join(doomed), b"soon gone").expect("write doomed on A");
    fs::write(a.join(was), b"renamed").expect("write was on A");
    // B looks: its kernel now caches the entries, attributes and pages.
    eventually("v1 on B", || holds(&b.join(f), &v1));
    holds(&b.join(f), &v1).expect("read v1 again on B");
    eventually("doomed on B", || {
        fs::metadata(b.join(doomed))
            .map(drop)
            .map_err(|e| e.to_string())
    });
    eventually("was on B", || holds(&b.join(was), b"renamed"));
    assert_eq!(names(&b).expect("list on B"), [doomed, f, was]);

    // Longer content, one file removed, one created, one renamed (its
    // inode lives on: only the entry changed): closed on A.
    let v2 = random(3000);
    fs::write(a.join(f), &v2).expect("write v2 on A");
    fs::remove_file(a.join(doomed)).expect("unlink on A");
    fs::write(a.join(born), b"new").expect("create on A");
    fs::rename(a.join(was), a.join(is)).expect("rename on A");
    eventually("v2 on B", || holds(&b.join(f), &v2));
    eventually("the unlink on B", || absent(&b.join(doomed)));
    eventually("the new file on B", || holds(&b.join(born), b"new"));
    eventually("the rename on B", || {
        absent(&b.join(was))?;
        holds(&b.join(is), b"renamed")
    });
    assert_eq!(names(&b).expect("list on B"), [born, f, is]);

    // The same length, other bytes: the pages B keeps must not be reused.
    let v3 = random(3000);
    fs::write(a.join(f), &v3).expect("write v3 on A");
    eventually("v3 on B", || holds(&b.join(f), &v3));

    // Shorter.
    let v4 = random(10);
    fs::write(a.join(f), &v4).expect("write v4 on A");
    eventually("v4 on B", || holds(&b.join(f), &v4));

    // Extended attributes and modes B has read (its mount remembers the
    // answers as its kernel does), changed on A.
    xattr_set(&a.join(f), "user.t", Some(b"one"));
    eventually("an xattr on B", || {
        xattr_is(&b.join(f), "user.t", Some(b"one"))
    });
    xattr_set(&a.join(f), "user.t", Some(b"two"));
    eventually("the changed xattr on B", || {
        xattr_is(&b.join(f), "user.t", Some(b"two"))
    });
    xattr_set(&a.join(f), "user.t", None);
    eventually("the removed xattr on B", || {
        xattr_is(&b.join(f), "user.t", None)
    });
    for mode in [0o640, 0o604] {
        fs::set_permissions(a.join(f), fs::Permissions::from_mode(mode)).expect("chmod on A");
        eventually("the mode on B", || mode_is(&b.join(f), mode));
    }
}

fn c_path(p: &Path) -> std::ffi::CString {
    std::ffi::CString::new(p.as_os_str().as_bytes()).expect("no NUL")
}

/// Sets (Some) or removes (None) extended attribute `name` of `p`.
fn xattr_set(p: &Path, name: &str, value: Option<&[u8]>) {
    let (p, n) = (c_path(p), std::ffi::CString::new(name).expect("no NUL"));
    // SAFETY: valid C strings and a value of `v.len()` bytes.
    let rc = unsafe {
        match value {
            Some(v) => libc::setxattr(p.as_ptr(), n.as_ptr(), v.as_ptr().cast(), v.len(), 0),
            None => libc::removexattr(p.as_ptr(), n.as_ptr()),
        }
    };
    assert_eq!(rc, 0, "xattr {name}: {}", io::Error::last_os_error());
}

/// Whether extended attribute `name` of `p` is `want` (None: absent).
fn xattr_is(p: &Path, name: &str, want: Option<&[u8]>) -> Result<(), String> {
    let (p, n) = (c_path(p), std::ffi::CString::new(name).expect("no NUL"));
    let mut buf = [0u8; 256];
    // SAFETY: valid C strings and a buffer of `buf.len()` bytes.
    let rc = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let got = match rc {
        n if n >= 0 => Some(buf[..n as usize].to_vec()),
        _ if io::Error::last_os_error().raw_os_error() == Some(libc::ENODATA) => None,
        _ => return Err(io::Error::last_os_error().to_string()),
    };
    match got.as_deref() == want {
        true => Ok(()),
        false => Err(format!("{name} is {got:?}, not {want:?}")),
    }
}

fn mode_is(p: &Path, want: u32) -> Result<(), String> {
    let m = fs::metadata(p)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode()
        & 0o7777;
    match m == want {
        true => Ok(()),
        false => Err(format!("mode {m:o}, not {want:o}")),
    }
}

#[test]
fn t10_mounts_on_two_voters_see_each_others_closed_changes() {
    let mut w = World::cluster();
    let a = w.mount(Which::Voter(0));
    let b = w.mount(Which::Voter(1));
    changes_show(&a, &b, "ab");
    changes_show(&b, &a, "ba");
    w.finish();
}

#[test]
fn t20_a_mount_on_a_non_voter_sees_changes_and_is_seen() {
    let mut w = World::cluster();
    let light = w.add_light_node();
    let a = w.mount(Which::Voter(1));
    let b = w.mount(Which::Light(light));
    changes_show(&a, &b, "ab");
    changes_show(&b, &a, "ba");
    w.finish();
}

/// Without any push, an open still reads the newest version: the kernel
/// keeps the pages it holds only when they came from the version the new
/// handle reads.
#[test]
fn t30_an_open_drops_pages_of_another_version_even_without_a_push() {
    let mut w = World::cluster();
    let a = w.mount(Which::Voter(0));
    let b = w.mount_with(Which::Voter(1), false);
    let v1 = random(3000);
    fs::write(a.join("f"), &v1).expect("write v1 on A");
    eventually("v1 on B", || holds(&b.join("f"), &v1));
    // Opened again at the same version: the pages may stay.
    holds(&b.join("f"), &v1).expect("read v1 again on B");
    // Same length, other bytes: B's kernel still has v1's pages and the
    // size it caches is right, so only the open can tell. Close-to-open:
    // seen at once, no waiting.
    let v2 = random(3000);
    fs::write(a.join("f"), &v2).expect("write v2 on A");
    holds(&b.join("f"), &v2).expect("v2 on B at the next open");
    holds(&b.join("f"), &v2).expect("v2 on B again");
    w.finish();
}

/// A change a node makes is forgotten by that node's cache of the
/// namespace's answers as soon as it is answered, without waiting for its
/// change notice (no invalidation task runs here), and only what it may
/// touch: a chmod forgets its inode, an unlink what its entry named; the
/// other answers stay.
#[test]
fn t40_own_changes_are_forgotten_at_once_and_only_what_they_touch() {
    use fragfs::{
        meta::{Caller, Context},
        volume::SetAttrs,
    };
    let w = World::cluster();
    let v = w.net().node(0).volume();
    let cache = fragfs_mountd::meta_cache::MetaCache::new(v.clone(), Some(TTL));
    let root = Caller { uid: 0, gid: 0 };
    w.rt.block_on(async {
        let mut inos = Vec::new();
        for name in ["a", "b", "c"] {
            v.create(ROOT, name.into(), 0o644, root, Context::default())
                .await
                .expect("create");
            let t = cache.ticket();
            let a = v.lookup(ROOT, name.into()).await.expect("lookup");
            cache.keep_entry(t, ROOT, name, &a);
            inos.push(a.ino);
        }
        let [a, b, c] = [inos[0], inos[1], inos[2]];
        let chmod = SetAttrs {
            perm: Some(0o600),
            uid: None,
            gid: None,
            size: None,
            atime: None,
            mtime: None,
        };
        v.setattr(a, chmod, root, Context::default())
            .await
            .expect("chmod a");
        assert!(cache.attr(a).is_none(), "the changed inode is forgotten");
        assert_eq!(cache.attr(b).map(|x| x.perm), Some(0o644), "b is kept");
        v.unlink(ROOT, "b".into()).await.expect("unlink b");
        assert!(cache.entry(ROOT, "b").is_none(), "the removed entry");
        assert!(cache.attr(b).is_none(), "what it named: its links changed");
        assert!(cache.entry(ROOT, "c").is_some(), "c is kept");
        assert_eq!(cache.attr(c).map(|x| x.ino), Some(c));
    });
    w.finish();
}
