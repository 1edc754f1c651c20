//! The streaming whole-file SHA3-256 of a handle that only appended from
//! an empty file, fed fragment by fragment on the blocking pool.

use bytes::Bytes;
use fragfs::{fragment::FileHasher, task::Tasks};
use tokio::sync::oneshot;

/// The streaming whole-file hash of an append-only handle.
enum HashState {
    Ready(FileHasher),
    /// Hashing as the mount's tracked task `fuse-hash`; a cancelled one
    /// never answers, and the file hash is then not recorded.
    Running(oneshot::Receiver<Option<FileHasher>>),
}

impl HashState {
    async fn resolve(self) -> Option<FileHasher> {
        match self {
            HashState::Ready(h) => Some(h),
            HashState::Running(t) => t.await.ok().flatten(),
        }
    }
}

pub(super) struct Seq {
    state: HashState,
    /// Bytes fed so far: always whole fragments.
    pub(super) fed: u64,
}

impl Seq {
    pub(super) fn new() -> Self {
        Seq {
            state: HashState::Ready(FileHasher::new()),
            fed: 0,
        }
    }

    /// Feeds `data` after what was fed before, on the blocking pool.
    pub(super) fn feed(&mut self, data: Bytes, tasks: &Tasks) {
        let prev = std::mem::replace(&mut self.state, HashState::Ready(FileHasher::new()));
        self.fed += data.len() as u64;
        self.state = HashState::Running(tasks.spawn_result("fuse-hash", async move {
            let mut h = prev.resolve().await?;
            tokio::task::spawn_blocking(move || {
                h.update(&data);
                h
            })
            .await
            .ok()
        }));
    }

    /// The hash of everything fed plus `tail`; the state goes on without
    /// the tail (it is fed again once its fragment is complete).
    pub(super) async fn finish(&mut self, tail: Bytes) -> Option<[u8; 32]> {
        let prev = std::mem::replace(&mut self.state, HashState::Ready(FileHasher::new()));
        let h = prev.resolve().await?;
        self.state = HashState::Ready(h.clone());
        tokio::task::spawn_blocking(move || {
            let mut h = h;
            h.update(&tail);
            h.finish()
        })
        .await
        .ok()
    }
}
