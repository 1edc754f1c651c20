//! A throughput probe for benches: how fast this machine seals and opens
//! fragments on one core.

use std::hint::black_box;
use std::time::Instant;

use crate::fragment::{open_fragment, seal_fragment, ContentKey};

/// Sealing and opening speed, in MB/s (10^6 bytes), of `rounds` fragments
/// of `bytes` bytes each (1 MiB is fragfs's default) on the calling
/// thread. `(0.0, 0.0)` if there is nothing to measure.
pub fn aead_mb_per_s(bytes: usize, rounds: usize) -> (f64, f64) {
    let key = ContentKey::from_bytes([0x5e; 32]);
    let plain: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
    let Ok(sealed) = seal_fragment(&key, &plain) else {
        return (0.0, 0.0);
    };
    let seal = rate(bytes, rounds, || {
        black_box(seal_fragment(&key, black_box(&plain)).is_ok());
    });
    let open = rate(bytes, rounds, || {
        black_box(open_fragment(&key, black_box(&sealed)).is_ok());
    });
    (seal, open)
}

/// MB/s of `rounds` runs of `step` over `bytes` bytes each.
fn rate(bytes: usize, rounds: usize, mut step: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        step();
    }
    let secs = start.elapsed().as_secs_f64();
    if rounds == 0 || bytes == 0 || secs == 0.0 {
        return 0.0;
    }
    (bytes as f64 * rounds as f64) / secs / 1e6
}
