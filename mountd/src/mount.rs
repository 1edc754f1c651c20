//! Mounting the filesystem and taking it down.

use crate::{
    core::Core,
    fs::FragFs,
    invalidate::{self, Invalidation},
    locks::Locks,
    statfs::Capacity,
};
use fragfs::{node::Node, task::Tasks};
use fuser::{BackgroundSession, Config, MountOption, SessionACL};
use std::{
    ffi::CString,
    io,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

#[derive(Clone, Debug)]
pub struct MountConfig {
    /// Deadline of a namespace operation (lookup, mkdir, getattr…).
    pub meta_deadline: Duration,
    /// Deadline of an operation that moves file content (open for writing,
    /// read, flush, truncate).
    pub data_deadline: Duration,
    /// How long the kernel may cache attributes and directory entries.
    /// Changes made anywhere in the namespace are pushed to the kernel as
    /// invalidations as soon as this node hears of them; the TTL bounds
    /// staleness when a push is missed.
    pub ttl: Duration,
    /// Most bytes of fragments kept in memory for reads.
    pub cache_bytes: usize,
    /// How long a measure of the network's stores answers `statfs`.
    pub statfs_ttl: Duration,
    /// Let every user use the mount (`allow_other`), with the kernel
    /// checking permissions against the namespace's modes.
    pub allow_other: bool,
    /// Push namespace changes to the kernel as invalidations. Without it
    /// changes show after `ttl`, and file content at the next open.
    pub invalidate: bool,
    /// How long the mount remembers the namespace's answers (attributes,
    /// entries, extended attributes) for the kernel's next questions, with
    /// `invalidate` on (`crate::meta_cache`: change notices forget them).
    pub meta_cache: Duration,
    /// How long this mount's file locks outlive its last lease renewal
    /// (renewed every quarter of it): the locks of a mount that died are
    /// free after at most this long.
    pub lock_lease: Duration,
    /// The users this mount acts for (`mountd::guard`).
    pub acting: fragfs::trust::Acting,
}

impl Default for MountConfig {
    fn default() -> Self {
        MountConfig {
            meta_deadline: Duration::from_secs(30),
            data_deadline: Duration::from_secs(120),
            ttl: Duration::from_secs(1),
            cache_bytes: 512 << 20,
            statfs_ttl: Duration::from_secs(5),
            allow_other: false,
            invalidate: true,
            meta_cache: crate::meta_cache::MAX_AGE,
            lock_lease: Duration::from_secs(20),
            acting: fragfs::trust::Acting::nobody(),
        }
    }
}

/// A live mount. Stop it with [`Mounted::unmount`].
pub struct Mounted {
    session: BackgroundSession,
    core: Arc<Core>,
    inval: Arc<Invalidation>,
    locks: Arc<Locks>,
    tasks: Tasks,
    mountpoint: PathBuf,
}

impl Mounted {
    /// Whether the FUSE session still runs (false once someone unmounted it).
    pub fn is_alive(&self) -> bool {
        !self.session.guard.is_finished()
    }

    /// Commits the unsaved writes of files still open, detaches the mount
    /// (lazily: processes using it keep it until they let go) and waits at
    /// most `wait` for the session to end.
    pub async fn unmount(self, wait: Duration) -> io::Result<()> {
        let saved = self.core.flush_all().await;
        if saved > 0 {
            tracing::info!(files = saved, "committed the unsaved writes of open files");
        }
        if crate::mountinfo::is_mounted(&self.mountpoint) {
            unmount_lazy(&self.mountpoint)?;
        }
        // Nothing can lock through a detached mount: its locks go.
        if let Err(e) = self.locks.end().await {
            tracing::warn!(error = %e, "cannot drop this mount's locks; they expire with the lease");
        }
        // A plain thread, not the runtime's blocking pool: the runtime waits
        // for its blocking tasks when it shuts down, and this one may never
        // end while files stay open on the detached mount.
        let session = self.session;
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("fuse-join".into())
            .spawn(move || {
                let _ = tx.send(session.join());
            })?;
        let ended = match tokio::time::timeout(wait, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(io::Error::other("the FUSE session thread failed")),
            Err(_) => Err(io::Error::other(format!(
                "the FUSE session did not end within {wait:?}; files are still open on it"
            ))),
        };
        if !self.tasks.shutdown(Duration::from_secs(5)).await {
            tracing::warn!(
                live = self.tasks.live(),
                "some FUSE operations did not stop in time"
            );
        }
        tracing::info!(
            counters = %self.core.counters,
            invalidation = %self.inval.counters,
            meta_cache = %self.core.meta_cache().counters,
            "mount stopped"
        );
        ended
    }
}

/// Mounts `node`'s namespace at `mountpoint`, served from a background
/// thread whose requests run on `rt`. Changes to the namespace are pushed
/// to the kernel as invalidations (see [`crate::invalidate`]).
pub fn mount(
    node: &Node,
    rt: tokio::runtime::Handle,
    mountpoint: &Path,
    cfg: MountConfig,
) -> io::Result<Mounted> {
    let volume = node.volume().acting_for(cfg.acting.clone());
    let tasks = Tasks::new();
    let remember = cfg.invalidate.then_some(cfg.meta_cache);
    let core = Arc::new(Core::new(
        volume.clone(),
        cfg.cache_bytes,
        tasks.clone(),
        remember,
    ));
    let capacity = Arc::new(Capacity::new(volume.clone(), cfg.statfs_ttl));
    let inval = Arc::new(Invalidation::new(core.meta_cache().clone()));
    // Subscribed before the kernel can cache anything.
    let changes = cfg.invalidate.then(|| volume.subscribe_changes());
    let locks = Arc::new(Locks::new(volume, cfg.lock_lease));
    let fs = FragFs::new(
        core.clone(),
        capacity,
        rt.clone(),
        tasks.clone(),
        cfg.clone(),
        inval.clone(),
        locks.clone(),
    );
    let mut options = Config::default();
    options.mount_options = vec![
        MountOption::FSName("fragfs".into()),
        MountOption::Subtype("fragfs".into()),
        MountOption::DefaultPermissions,
    ];
    if cfg.allow_other {
        options.acl = SessionACL::All;
    }
    let session = fuser::spawn_mount(fs, mountpoint, &options)?;
    let _rt = rt.enter();
    if let Some(changes) = changes {
        let volume = core.volume().clone();
        let shown: invalidate::Shown = Arc::new(move |d, n| volume.shown_name_known(d, n));
        invalidate::spawn(&tasks, changes, session.notifier(), inval.clone(), shown);
    }
    locks.spawn_renewal(&tasks);
    let holder = format!("{}/{:016x}", node.peer_id(), locks.session());
    crate::core::holds::spawn(core.clone(), core.volume().clone(), &tasks, holder);
    Ok(Mounted {
        session,
        core,
        inval,
        locks,
        tasks,
        mountpoint: mountpoint.to_path_buf(),
    })
}

/// Detaches the mount at `mountpoint` now (`umount2(MNT_DETACH)`); the
/// kernel ends the session once nothing uses it any more. fuser 0.18's own
/// unmount can hang, so this is the way down.
pub fn unmount_lazy(mountpoint: &Path) -> io::Result<()> {
    let c = CString::new(mountpoint.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    let rc = unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EPERM) {
        // Not root: ask fusermount3, which may unmount what this user mounted.
        let status = std::process::Command::new("fusermount3")
            .arg("-u")
            .arg("-z")
            .arg(mountpoint)
            .status()?;
        return if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "fusermount3 -u -z failed: {status}"
            )))
        };
    }
    Err(e)
}
