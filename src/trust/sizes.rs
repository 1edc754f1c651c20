//! Sizes of files in encrypted shared directories: hidden from whoever
//! reads the namespace or holds the fragments without the file's key.
//!
//! A writer pads each sealed fragment's plaintext to
//! `fragfs_seal::padded_len` before sealing it (`client::sealed`), and
//! commits the manifest [`hide`] gives: each fragment's length padded, the
//! size their sum. The exact lengths that differ travel in a note sealed
//! under the content key ([`seal_lens`]) inside the version's signed
//! [`SealedKey`](crate::meta::proofs::SealedKey); a member's mount opens
//! it and [`reveal`]s the manifest it reads and writes by. Pure.

use crate::fragment::Manifest;
use fragfs_seal::{open_note, padded_len, seal_note, ContentKey, SealError};
use serde::{Deserialize, Serialize};

/// The exact length of each fragment slot whose stored length is padded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lens(pub Vec<(u32, u32)>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("a sealed note: {0}")]
    Seal(#[from] SealError),
    #[error("a note of exact lengths that does not fit its manifest")]
    Mismatch,
}

/// `real`'s manifest as the namespace stores it (lengths padded, the size
/// their sum), and the exact lengths that differ.
pub fn hide(real: &Manifest) -> (Manifest, Lens) {
    let mut stored = real.clone();
    let mut lens = Vec::new();
    for (slot, f) in stored.fragments.iter_mut().enumerate() {
        let padded = u32::try_from(padded_len(f.len.into())).unwrap_or(f.len);
        if padded != f.len {
            lens.push((slot as u32, f.len));
            f.len = padded;
        }
    }
    stored.size = stored.fragments.iter().map(|f| u64::from(f.len)).sum();
    (stored, Lens(lens))
}

/// The manifest with the exact lengths `lens` of `stored` (the inverse of
/// [`hide`]). A note that names a slot twice, a slot the manifest lacks,
/// or a length that does not pad to the stored one is refused.
pub fn reveal(stored: &Manifest, lens: &Lens) -> Result<Manifest, SizeError> {
    let mut real = stored.clone();
    let mut last = None;
    for &(slot, len) in &lens.0 {
        if last.is_some_and(|l| slot <= l) {
            return Err(SizeError::Mismatch);
        }
        last = Some(slot);
        let f = real
            .fragments
            .get_mut(slot as usize)
            .ok_or(SizeError::Mismatch)?;
        if padded_len(len.into()) != u64::from(f.len) {
            return Err(SizeError::Mismatch);
        }
        f.len = len;
    }
    real.size = real.fragments.iter().map(|f| u64::from(f.len)).sum();
    Ok(real)
}

/// `lens` sealed under `key` (postcard inside `fragfs_seal::seal_note`).
pub fn seal_lens(key: &ContentKey, lens: &Lens) -> Result<Vec<u8>, SizeError> {
    let plain = postcard::to_allocvec(lens).map_err(|_| SizeError::Mismatch)?;
    Ok(seal_note(key, &plain)?)
}

/// The exact lengths sealed in `note` under `key`.
pub fn open_lens(key: &ContentKey, note: &[u8]) -> Result<Lens, SizeError> {
    let plain = open_note(key, note)?;
    postcard::from_bytes(&plain).map_err(|_| SizeError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(lens: &[u32]) -> Manifest {
        let ids: Vec<u8> = (0..lens.len() as u8).collect();
        let mut m = crate::volume::test_manifest(&ids);
        for (f, &len) in m.fragments.iter_mut().zip(lens) {
            f.len = len;
        }
        m.size = lens.iter().map(|&l| u64::from(l)).sum();
        m
    }

    #[test]
    fn t10_sizes_hide_and_reveal_under_the_key_alone() {
        let real = manifest(&[65_536, 65_536, 5000]);
        let (stored, lens) = hide(&real);
        assert_eq!(stored.size, 65_536 * 2 + 5120);
        assert_eq!(lens, Lens(vec![(2, 5000)]));
        assert_eq!(reveal(&stored, &lens).unwrap(), real);
        let key = ContentKey::from_bytes([1; 32]);
        let note = seal_lens(&key, &lens).unwrap();
        assert_eq!(open_lens(&key, &note).unwrap(), lens);
        assert!(open_lens(&ContentKey::from_bytes([2; 32]), &note).is_err());
        // A note that does not fit is refused, never trusted.
        for bad in [vec![(3, 5000)], vec![(2, 4000)], vec![(2, 5000), (2, 5000)]] {
            assert_eq!(reveal(&stored, &Lens(bad)), Err(SizeError::Mismatch));
        }
    }
}
