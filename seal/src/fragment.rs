//! Sealed fragments: a fragment's bytes under its file's [`ContentKey`],
//! deterministic per key.
//!
//! Deterministic because a fragment's id is the hash of its sealed bytes:
//! an unchanged fragment seals to the same bytes in the next version of the
//! file and keeps its id, so versions still share storage. Keyed because a
//! fragment sealed under another key gives unrelated bytes: knowing a
//! plaintext tells nobody whether the network holds it.
//!
//! The cipher is AES-256-GCM-SIV with a fixed (all-zero) nonce, stored
//! nowhere. GCM-SIV is itself synthetic-IV: its tag is computed from the
//! key, nonce and plaintext and then serves as the counter-mode IV, so with
//! one nonce the sealed bytes are a deterministic function of key and
//! plaintext, and all they reveal is whether two plaintexts under one key
//! are equal (which is the point). A nonce computed from key and plaintext
//! (an HMAC) would cost a third pass over every fragment and 12 stored
//! bytes, to give again what the tag already gives; it would only improve
//! the bounds for very many messages under one key, and a key here seals
//! one file's fragments (two keystreams meet only if two tags agree in the
//! 95 bits the counter leaves: about q²/2^96 for q fragments). See
//! `DESIGN.md`.
//!
//! Format, version 1: `[1]`, ciphertext (as long as the plaintext), 16-byte
//! tag.

use std::fmt;

use zeroize::Zeroizing;

use crate::aead::{self, TAG_LEN};
use crate::SealError;

/// The version byte every sealed fragment starts with.
pub const SEALED_VERSION: u8 = 1;

/// Bytes a sealed fragment has beyond its plaintext: the version byte and
/// the tag.
pub const SEALED_OVERHEAD: usize = 1 + TAG_LEN;

/// The longest plaintext AES-GCM-SIV seals (2^36 bytes).
pub const MAX_PLAIN_LEN: u64 = aes_gcm_siv::P_MAX;

/// Additional data of every sealed fragment: a domain no other sealed form
/// shares, so a fragment never opens as a name or a wrapped key.
const AAD: &[u8] = b"fragfs fragment v1";

/// The 32-byte key one file's fragments are sealed with. Zeroed on drop;
/// its `Debug` never shows it.
#[derive(Clone)]
pub struct ContentKey(Zeroizing<[u8; 32]>);

impl ContentKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, SealError> {
        Ok(Self(aead::random()?))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContentKey(..)")
    }
}

/// The length of a sealed fragment of `plain_len` bytes (saturating).
pub fn sealed_len(plain_len: usize) -> usize {
    plain_len.saturating_add(SEALED_OVERHEAD)
}

/// The plaintext length of a sealed fragment of `sealed_len` bytes, or
/// `None` if no sealed fragment is that short.
pub fn plain_len(sealed_len: usize) -> Option<usize> {
    sealed_len.checked_sub(SEALED_OVERHEAD)
}

/// `plaintext` sealed under `key`: the same key and plaintext always give
/// the same bytes.
pub fn seal_fragment(key: &ContentKey, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut out = Vec::new();
    seal_into(key, plaintext, &mut out)?;
    Ok(out)
}

/// [`seal_fragment`] into `out` (cleared first), so that a caller sealing
/// many fragments reuses one buffer.
pub fn seal_into(key: &ContentKey, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
    if plaintext.len() as u64 > MAX_PLAIN_LEN {
        return Err(aead::too_long(plaintext.len()));
    }
    out.clear();
    out.reserve(sealed_len(plaintext.len()));
    out.push(SEALED_VERSION);
    out.extend_from_slice(plaintext);
    let tag = aead::seal_in_place(key.as_bytes(), AAD, &mut out[1..])?;
    out.extend_from_slice(&tag);
    Ok(())
}

/// The plaintext of a fragment sealed under `key`. Altered bytes, another
/// key, a short input or an unknown version are errors.
pub fn open_fragment(key: &ContentKey, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let (text, tag) = aead::parts(sealed, SEALED_VERSION)?;
    let mut plain = sealed[text].to_vec();
    aead::open_in_place(key.as_bytes(), AAD, &mut plain, &tag)?;
    Ok(plain)
}

/// Opens `sealed` where it lies: on success the returned slice of it is
/// the plaintext; on failure `sealed` holds what it held.
pub fn open_in_place<'a>(
    key: &ContentKey,
    sealed: &'a mut [u8],
) -> Result<&'a mut [u8], SealError> {
    let (text, tag) = aead::parts(sealed, SEALED_VERSION)?;
    let text = &mut sealed[text];
    aead::open_in_place(key.as_bytes(), AAD, text, &tag)?;
    Ok(text)
}
