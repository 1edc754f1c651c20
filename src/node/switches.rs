//! Test-only switches that make a node misbehave on purpose (a lying or a
//! stuck peer). They exist only with the `test-utils` feature; without it
//! these calls do nothing and compile to nothing.

#[cfg(feature = "test-utils")]
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct Switches {
    /// Serve fragments with one byte flipped.
    #[cfg(feature = "test-utils")]
    pub(crate) lie: AtomicBool,
    /// Milliseconds to wait before answering a `get`.
    #[cfg(feature = "test-utils")]
    pub(crate) stall_ms: AtomicU64,
}

impl Switches {
    /// Waits as long as the stall switch says, before answering a `get`.
    pub(crate) async fn stall(&self) {
        #[cfg(feature = "test-utils")]
        {
            let ms = self.stall_ms.load(Ordering::Relaxed);
            if ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
        }
    }

    /// Flips the first byte of `data` when the lie switch is on.
    pub(crate) fn tamper(&self, data: &mut [u8]) {
        #[cfg(feature = "test-utils")]
        if self.lie.load(Ordering::Relaxed) && !data.is_empty() {
            data[0] ^= 0xff;
        }
        #[cfg(not(feature = "test-utils"))]
        let _ = data;
    }
}
