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

/// BLAKE3 verified slices (bao): a part of some bytes that is checked
/// against the BLAKE3 hash of the whole, carrying the few tree hashes
/// that link it to the root. The holder of the bytes keeps their
/// "outboard" tree (about 6% of their size) to cut slices from.
pub mod slices {
    use std::io::{self, Read, Seek};

    /// The unit slices are cut in: a slice covers whole chunks.
    pub const CHUNK: u64 = 1024;

    /// The outboard tree of `data` and its root, which is `blake3(data)`.
    #[inline(never)]
    pub fn outboard(data: &[u8]) -> (Vec<u8>, [u8; 32]) {
        let (tree, root) = bao::encode::outboard(data);
        (tree, *root.as_bytes())
    }

    /// The slice of bytes `start..start + len` of `content` (read from
    /// where it is kept: only the chunks the slice covers are read) with
    /// their tree `outboard`.
    #[inline(never)]
    pub fn extract(
        content: impl Read + Seek,
        outboard: &[u8],
        start: u64,
        len: u64,
    ) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        bao::encode::SliceExtractor::new_outboard(content, io::Cursor::new(outboard), start, len)
            .read_to_end(&mut out)?;
        Ok(out)
    }

    /// The bytes `start..start + len` (short at the end of the content) a
    /// slice holds, each checked against `root`: an error
    /// (`InvalidData`) as soon as one does not verify.
    #[inline(never)]
    pub fn open(slice: &[u8], root: &[u8; 32], start: u64, len: u64) -> io::Result<Vec<u8>> {
        let root = bao::Hash::from(*root);
        let mut out = Vec::with_capacity(len as usize);
        bao::decode::SliceDecoder::new(slice, &root, start, len).read_to_end(&mut out)?;
        Ok(out)
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

    #[test]
    fn t20_a_slice_opens_against_the_blake3_of_the_whole() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (tree, root) = slices::outboard(&data);
        assert_eq!(root, blake3(&data));
        for (start, len) in [(0, 4096), (65_536 + 1000, 5000), (299_000, 4096)] {
            let slice = slices::extract(std::io::Cursor::new(&data), &tree, start, len).unwrap();
            assert!(
                slice.len() < len as usize + 2048,
                "about the bytes asked for"
            );
            let got = slices::open(&slice, &root, start, len).unwrap();
            let end = (start + len).min(data.len() as u64);
            assert_eq!(got, data[start as usize..end as usize]);
            // One flipped byte anywhere in the slice is refused.
            for at in [8, slice.len() / 2, slice.len() - 1] {
                let mut bad = slice.clone();
                bad[at] ^= 1;
                assert!(
                    slices::open(&bad, &root, start, len).is_err(),
                    "flip at {at}"
                );
            }
            // Another root is refused.
            assert!(slices::open(&slice, &blake3(b"other"), start, len).is_err());
        }
        // Asked past the end, or for nothing: an answer or an error, no panic.
        for (start, len) in [
            (400_000, 4096),
            (0, 0),
            (u64::from(u32::MAX), u64::from(u32::MAX)),
        ] {
            if let Ok(s) = slices::extract(std::io::Cursor::new(&data), &tree, start, len) {
                let got = slices::open(&s, &root, start, len).unwrap_or_default();
                assert!(got.len() as u64 <= len, "{start}+{len}");
            }
        }
        // Garbage is an error.
        assert!(slices::open(&[1, 2, 3], &root, 0, 4096).is_err());
    }
}
