//! A small secret (a key file's 32 bytes) protected by a passphrase.
//!
//! Argon2id stretches the passphrase with a random salt into 48 bytes: a
//! 32-byte AES-256-GCM-SIV key (used once: the salt is fresh, so the fixed
//! nonce is safe) and a 16-byte check stored in the clear. The check tells
//! a wrong passphrase ([`SealError::WrongPassphrase`]) from a damaged file
//! ([`SealError::Forged`]); it gives a guesser nothing the ciphertext does
//! not, and costs the same Argon2 run to test.
//!
//! Format, version 1: `[1]`, memory in KiB (u32 BE), passes (u32 BE), lanes
//! (u8), salt (16), check (16), ciphertext, tag (16). Everything before
//! the ciphertext is the AEAD's additional data.

use argon2::{Algorithm, Argon2, Params, Version};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::aead::{self, TAG_LEN};
use crate::SealError;

/// The version byte of a protected secret.
pub const PROTECTED_VERSION: u8 = 1;

/// The longest secret [`protect`] takes: this is for key files, not data.
pub const MAX_SECRET_LEN: usize = 1024;

const SALT_LEN: usize = 16;
const CHECK_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 4 + 4 + 1 + SALT_LEN;
const MIN_LEN: usize = HEADER_LEN + CHECK_LEN + TAG_LEN;

/// Argon2id's cost: memory, passes, lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassphraseCost {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u8,
}

impl PassphraseCost {
    /// OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane (about 30 ms
    /// on one core of a laptop).
    pub const DEFAULT: Self = Self {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    };

    /// The most memory a protected secret may ask for (1 GiB): the cost is
    /// read from the file, and a file must not make its reader allocate
    /// without bound.
    pub const MAX_MEMORY_KIB: u32 = 1 << 20;

    /// The most passes a protected secret may ask for.
    pub const MAX_PASSES: u32 = 64;

    /// Argon2id with this cost and a 48-byte output, if the cost is within
    /// Argon2's rules and this crate's bounds.
    fn argon2(self) -> Result<Argon2<'static>, SealError> {
        if self.memory_kib > Self::MAX_MEMORY_KIB || self.passes > Self::MAX_PASSES {
            return Err(SealError::Cost);
        }
        let params = Params::new(
            self.memory_kib,
            self.passes,
            u32::from(self.lanes),
            Some(32 + CHECK_LEN),
        )
        .map_err(|_| SealError::Cost)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// `secret` protected by `passphrase` at [`PassphraseCost::DEFAULT`].
pub fn protect(secret: &[u8], passphrase: &str) -> Result<Vec<u8>, SealError> {
    protect_with(secret, passphrase, PassphraseCost::DEFAULT)
}

/// `secret` protected by `passphrase` at `cost` (tests use a low one).
pub fn protect_with(
    secret: &[u8],
    passphrase: &str,
    cost: PassphraseCost,
) -> Result<Vec<u8>, SealError> {
    if secret.len() > MAX_SECRET_LEN {
        return Err(SealError::TooLong {
            len: secret.len() as u64,
            max: MAX_SECRET_LEN as u64,
        });
    }
    let argon2 = cost.argon2()?;
    let salt = aead::random::<SALT_LEN>()?;
    let (key, check) = stretch(&argon2, passphrase, salt.as_ref())?;
    let mut out = Vec::with_capacity(MIN_LEN + secret.len());
    out.push(PROTECTED_VERSION);
    out.extend_from_slice(&cost.memory_kib.to_be_bytes());
    out.extend_from_slice(&cost.passes.to_be_bytes());
    out.push(cost.lanes);
    out.extend_from_slice(salt.as_ref());
    out.extend_from_slice(&check);
    let mut body = Zeroizing::new(secret.to_vec());
    let tag = aead::seal_in_place(&key, &out, &mut body)?;
    out.extend_from_slice(&body);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// The secret `bytes` protect, if `passphrase` is the one they were
/// protected with.
pub fn unprotect(bytes: &[u8], passphrase: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let (cost, salt) = read_header(bytes)?;
    let body = &bytes[HEADER_LEN + CHECK_LEN..];
    let end = body
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(SealError::Malformed)?;
    if end > MAX_SECRET_LEN {
        return Err(SealError::Malformed);
    }
    let (key, check) = stretch(&cost.argon2()?, passphrase, salt)?;
    if !bool::from(check[..].ct_eq(&bytes[HEADER_LEN..HEADER_LEN + CHECK_LEN])) {
        return Err(SealError::WrongPassphrase);
    }
    let tag = aead::tag_at(body, end).ok_or(SealError::Malformed)?;
    let mut secret = Zeroizing::new(body[..end].to_vec());
    aead::open_in_place(&key, &bytes[..HEADER_LEN + CHECK_LEN], &mut secret, &tag)?;
    Ok(secret)
}

/// The cost and salt of a protected secret at least [`MIN_LEN`] long.
fn read_header(bytes: &[u8]) -> Result<(PassphraseCost, &[u8]), SealError> {
    match bytes.first() {
        None => return Err(SealError::Malformed),
        Some(&PROTECTED_VERSION) => {}
        Some(&version) => return Err(SealError::Version(version)),
    }
    if bytes.len() < MIN_LEN {
        return Err(SealError::Malformed);
    }
    let u32_at = |at: usize| {
        let mut word = [0u8; 4];
        word.copy_from_slice(&bytes[at..at + 4]);
        u32::from_be_bytes(word)
    };
    let cost = PassphraseCost {
        memory_kib: u32_at(1),
        passes: u32_at(5),
        lanes: bytes[9],
    };
    Ok((cost, &bytes[10..HEADER_LEN]))
}

/// The AEAD key and the check `passphrase` stretches to under `salt`.
fn stretch(
    argon2: &Argon2<'_>,
    passphrase: &str,
    salt: &[u8],
) -> Result<(Zeroizing<[u8; 32]>, [u8; CHECK_LEN]), SealError> {
    let mut out = Zeroizing::new([0u8; 32 + CHECK_LEN]);
    argon2
        .hash_password_into(passphrase.as_bytes(), salt, out.as_mut())
        .map_err(|_| SealError::Cost)?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&out[..32]);
    let mut check = [0u8; CHECK_LEN];
    check.copy_from_slice(&out[32..]);
    Ok((key, check))
}
