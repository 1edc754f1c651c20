//! Names in encrypted directories: sealed under the directory's
//! [`NameKey`], deterministic so that a lookup seals the name it is asked
//! for and compares, and written as text that is a valid file name.
//!
//! Format, version 1: `[1]`, ciphertext, 16-byte tag (AES-256-GCM-SIV with
//! the fixed nonce and a domain of its own). As text:
//! [`SEALED_NAME_PREFIX`] then the bytes in base32hex, lowercase, without
//! padding (RFC 4648 §7 as DNSSEC writes it: `0-9a-v`): no `/`, no NUL, no
//! case to lose on a case-insensitive filesystem, and one spelling per
//! sealed name.

use std::fmt;

use data_encoding::BASE32_DNSSEC;
use zeroize::Zeroizing;

use crate::aead::{self, TAG_LEN};
use crate::SealError;

/// The version byte of a sealed name.
pub const SEALED_NAME_VERSION: u8 = 1;

/// What a sealed name's text form starts with, so a listing without the
/// key shows which names are sealed.
pub const SEALED_NAME_PREFIX: &str = "e.";

/// The longest file name (in bytes) POSIX filesystems take.
pub const NAME_MAX: usize = 255;

/// Bytes a sealed name has beyond the name.
const OVERHEAD: usize = 1 + TAG_LEN;

/// The longest name whose sealed text form fits in [`NAME_MAX`] bytes:
/// base32 spends 8 characters on 5 bytes.
pub const MAX_PLAIN_NAME_LEN: usize = (NAME_MAX - SEALED_NAME_PREFIX.len()) * 5 / 8 - OVERHEAD;

/// Additional data of every sealed name (see the fragment's).
const AAD: &[u8] = b"fragfs name v1";
/// HKDF salt of [`NameKey::derive`].
const DERIVE_SALT: &[u8] = b"fragfs name key v1";

/// The key a directory's names are sealed with. Zeroed on drop; its
/// `Debug` never shows it.
#[derive(Clone)]
pub struct NameKey(Zeroizing<[u8; 32]>);

impl NameKey {
    /// The name key under `context` (say, a directory's id) of a group's or
    /// directory's `secret`: HKDF-SHA256, so it is never the secret itself
    /// and two contexts give unrelated keys.
    pub fn derive(secret: &[u8; 32], context: &str) -> Self {
        Self(aead::hkdf32(DERIVE_SALT, secret, &[context.as_bytes()]))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for NameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NameKey(..)")
    }
}

/// The length of the text form of a sealed name of `plain_len` bytes.
pub const fn encoded_name_len(plain_len: usize) -> usize {
    SEALED_NAME_PREFIX.len() + (8 * (plain_len + OVERHEAD)).div_ceil(5)
}

/// `name` sealed under `key`; the same key and name always give the same
/// bytes. A name longer than [`MAX_PLAIN_NAME_LEN`] is
/// [`SealError::TooLong`] (`ENAMETOOLONG` to a caller).
pub fn seal_name(key: &NameKey, name: &[u8]) -> Result<Vec<u8>, SealError> {
    if name.len() > MAX_PLAIN_NAME_LEN {
        return Err(SealError::TooLong {
            len: name.len() as u64,
            max: MAX_PLAIN_NAME_LEN as u64,
        });
    }
    aead::seal_versioned(key.as_bytes(), AAD, SEALED_NAME_VERSION, name)
}

/// The name sealed in `sealed` under `key`.
pub fn open_name(key: &NameKey, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    aead::open_versioned(key.as_bytes(), AAD, SEALED_NAME_VERSION, sealed)
}

/// The text form of a sealed name: a valid file name of
/// [`encoded_name_len`] bytes.
pub fn encode_sealed_name(sealed: &[u8]) -> String {
    let mut text =
        String::with_capacity(SEALED_NAME_PREFIX.len() + BASE32_DNSSEC.encode_len(sealed.len()));
    text.push_str(SEALED_NAME_PREFIX);
    BASE32_DNSSEC.encode_append(sealed, &mut text);
    text
}

/// The sealed bytes of a text form. Anything but the one spelling
/// [`encode_sealed_name`] gives (no prefix, capitals, stray bits, longer
/// than [`NAME_MAX`]) is [`SealError::Malformed`].
pub fn decode_sealed_name(text: &str) -> Result<Vec<u8>, SealError> {
    if text.len() > NAME_MAX {
        return Err(SealError::Malformed);
    }
    let body = text
        .strip_prefix(SEALED_NAME_PREFIX)
        .ok_or(SealError::Malformed)?;
    if body.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(SealError::Malformed);
    }
    BASE32_DNSSEC
        .decode(body.as_bytes())
        .map_err(|_| SealError::Malformed)
}
