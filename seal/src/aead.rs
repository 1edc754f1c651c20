//! The one AEAD (AES-256-GCM-SIV), the one KDF (HKDF-SHA256) and the one
//! random source every part of the crate uses.
//!
//! The nonce is fixed (all zeros) everywhere. Where the key is used once
//! (a wrapped key, a protected secret) that is plainly safe; where it is
//! not (fragments, names) it is the point: GCM-SIV derives its IV from the
//! key, nonce and message (RFC 8452), so a fixed nonce makes it a
//! deterministic AEAD that reveals only whether two messages under one key
//! are equal. See `DESIGN.md`, "Why a fixed nonce".

use std::ops::Range;

use aes_gcm_siv::aead::{AeadInPlace, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce, Tag};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::SealError;

/// Length of the AES-GCM-SIV tag every sealed form ends with.
pub(crate) const TAG_LEN: usize = 16;

/// The one nonce: see the module comment.
const FIXED_NONCE: [u8; 12] = [0; 12];

fn cipher(key: &[u8; 32]) -> Aes256GcmSiv {
    Aes256GcmSiv::new(key.into())
}

/// Encrypts `buf` in place under `key`, binding `aad`; returns the tag.
/// Fails only for a buffer over AES-GCM-SIV's 2^36 bytes.
pub(crate) fn seal_in_place(
    key: &[u8; 32],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], SealError> {
    let tag = cipher(key)
        .encrypt_in_place_detached(Nonce::from_slice(&FIXED_NONCE), aad, buf)
        .map_err(|_| too_long(buf.len()))?;
    Ok(tag.into())
}

/// Decrypts `buf` in place if `tag` authenticates it with `aad`; on
/// failure `buf` holds the ciphertext again (the crate re-encrypts it) and
/// the error is [`SealError::Forged`].
pub(crate) fn open_in_place(
    key: &[u8; 32],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), SealError> {
    cipher(key)
        .decrypt_in_place_detached(
            Nonce::from_slice(&FIXED_NONCE),
            aad,
            buf,
            Tag::from_slice(tag),
        )
        .map_err(|_| SealError::Forged)
}

/// The error for a plaintext over AES-GCM-SIV's limit.
pub(crate) fn too_long(len: usize) -> SealError {
    SealError::TooLong {
        len: len as u64,
        max: aes_gcm_siv::P_MAX,
    }
}

/// 32 bytes of HKDF-SHA256 over `ikm`, `salt` and the concatenation of
/// `info`.
pub(crate) fn hkdf32(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let mut okm = Zeroizing::new([0u8; 32]);
    if Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand_multi_info(info, okm.as_mut())
        .is_err()
    {
        // HKDF-SHA256 gives up to 255 × 32 bytes; 32 are asked. No input
        // reaches this line.
        unreachable!("HKDF-SHA256 refused a 32-byte output");
    }
    okm
}

/// `N` bytes from the operating system's random source.
pub(crate) fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, SealError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut()).map_err(|_| SealError::Random)?;
    Ok(bytes)
}

/// The tag stored at `sealed[at..]`, if exactly a tag's length lies there.
pub(crate) fn tag_at(sealed: &[u8], at: usize) -> Option<[u8; TAG_LEN]> {
    sealed.get(at..)?.try_into().ok()
}

/// Where the ciphertext of `sealed` (`[version]`, ciphertext, tag) lies,
/// and its tag, once its version is `version` and its length possible.
pub(crate) fn parts(
    sealed: &[u8],
    version: u8,
) -> Result<(Range<usize>, [u8; TAG_LEN]), SealError> {
    match sealed.first() {
        None => return Err(SealError::Malformed),
        Some(&found) if found != version => return Err(SealError::Version(found)),
        Some(_) => {}
    }
    let end = sealed
        .len()
        .checked_sub(TAG_LEN)
        .filter(|&end| end >= 1)
        .ok_or(SealError::Malformed)?;
    let tag = tag_at(sealed, end).ok_or(SealError::Malformed)?;
    Ok((1..end, tag))
}

/// `plain` sealed under `key` with `aad`, in the form `[version]`,
/// ciphertext, tag (a sealed name's and a note's).
pub(crate) fn seal_versioned(
    key: &[u8; 32],
    aad: &[u8],
    version: u8,
    plain: &[u8],
) -> Result<Vec<u8>, SealError> {
    let mut out = Vec::with_capacity(1 + plain.len() + TAG_LEN);
    out.push(version);
    out.extend_from_slice(plain);
    let tag = seal_in_place(key, aad, &mut out[1..])?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// The plaintext of `sealed`, a [`seal_versioned`] form of `version`.
pub(crate) fn open_versioned(
    key: &[u8; 32],
    aad: &[u8],
    version: u8,
    sealed: &[u8],
) -> Result<Vec<u8>, SealError> {
    let (text, tag) = parts(sealed, version)?;
    let mut plain = sealed[text].to_vec();
    open_in_place(key, aad, &mut plain, &tag)?;
    Ok(plain)
}
