//! The hash functions fragfs names and verifies bytes with, behind plain
//! (non-generic, non-inline) functions.
//!
//! Why a crate of its own: RustCrypto's SHA3 is generic code, compiled in the
//! crate that calls it. Called from a crate built without optimisation it runs
//! at a third of its speed. Here it is instantiated once, in a crate the
//! workspace always builds optimised (see `[profile.dev.package.fragfs-hash]`).
//!
//! No IO, no state beyond the hashers.

use sha3::{Digest, Sha3_256};

/// SHA3-256 of `data`.
#[inline(never)]
pub fn sha3_256(data: &[u8]) -> [u8; 32] {
    Sha3_256::digest(data).into()
}

/// BLAKE3 of `data` (multi-threading is left to the caller).
#[inline(never)]
pub fn blake3(data: &[u8]) -> [u8; 32] {
    *blake3::hash(data).as_bytes()
}

/// Incremental SHA3-256.
#[derive(Default, Clone)]
pub struct Sha3Hasher(Sha3_256);

impl Sha3Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline(never)]
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    #[inline(never)]
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_known_vectors() {
        // FIPS 202 and the BLAKE3 reference.
        assert_eq!(
            sha3_256(b"abc"),
            [
                0x3a, 0x98, 0x5d, 0xa7, 0x4f, 0xe2, 0x25, 0xb2, 0x04, 0x5c, 0x17, 0x2d, 0x6b, 0xd3,
                0x90, 0xbd, 0x85, 0x5f, 0x08, 0x6e, 0x3e, 0x9d, 0x52, 0x5b, 0x46, 0xbf, 0xe2, 0x45,
                0x11, 0x43, 0x15, 0x32
            ]
        );
        assert_eq!(blake3(b"")[..4], [0xaf, 0x13, 0x49, 0xb9]);
        let mut h = Sha3Hasher::new();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish(), sha3_256(b"abc"));
    }
}
