//! Keys wrapped per reader: a file's (or a group's) 32-byte key sealed to
//! one reader's X25519 public key, sealed-box style, so that the key can sit
//! beside the file once per reader.
//!
//! Wrapping makes an ephemeral X25519 key pair, exchanges it with the
//! reader's public key, and derives the sealing key with HKDF-SHA256 whose
//! info binds a domain (`fragfs wrap v1`), the ephemeral and the reader's
//! public key; AES-256-GCM-SIV then seals the 32 bytes. Each sealing key is
//! used once, so the fixed nonce is plainly safe here.
//!
//! Format, version 1 ([`WRAPPED_LEN`] bytes): `[1]`, the reader's hint (the
//! first 8 bytes of their public key, so a reader finds their copy among
//! many without trying each), the ephemeral public key (32), the sealed key
//! (32) and its tag (16).

use std::fmt;

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::aead::{self, TAG_LEN};
use crate::SealError;

/// The version byte of a wrapped key's byte form.
pub const WRAPPED_VERSION: u8 = 1;

const HINT_LEN: usize = 8;
const SEALED_KEY_LEN: usize = 32 + TAG_LEN;

/// The length of a wrapped key's byte form.
pub const WRAPPED_LEN: usize = 1 + HINT_LEN + 32 + SEALED_KEY_LEN;

/// HKDF info prefix of the sealing key.
const WRAP_DOMAIN: &[u8] = b"fragfs wrap v1";
/// HKDF salt of [`WrapSecret::derive`].
const DERIVE_SALT: &[u8] = b"fragfs wrap secret v1";

/// A reader's X25519 secret. Zeroed on drop; its `Debug` never shows it.
pub struct WrapSecret(StaticSecret);

impl WrapSecret {
    /// A new secret from the operating system's random source.
    pub fn generate() -> Result<Self, SealError> {
        Ok(Self::from_bytes(*aead::random::<32>()?))
    }

    /// The wrapping secret of a user whose one key file holds `seed` (their
    /// ed25519 secret): HKDF-SHA256 of the seed under `context`, so it is
    /// never the signing scalar, and one seed gives unrelated secrets under
    /// different contexts.
    pub fn derive(seed: &[u8; 32], context: &str) -> Self {
        Self::from_bytes(*aead::hkdf32(DERIVE_SALT, seed, &[context.as_bytes()]))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(StaticSecret::from(bytes))
    }

    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub fn public(&self) -> WrapPublic {
        WrapPublic(PublicKey::from(&self.0))
    }
}

impl fmt::Debug for WrapSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WrapSecret(..)")
    }
}

/// A reader's X25519 public key; never a low-order point (the constructor
/// is the check).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WrapPublic(PublicKey);

impl WrapPublic {
    /// The key of these bytes, refused ([`SealError::WeakKey`]) if it is a
    /// low-order point: any exchange with one gives a secret everybody
    /// knows. The check costs one scalar multiplication.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, SealError> {
        let key = PublicKey::from(bytes);
        // Clamping makes every scalar a multiple of the cofactor, so a
        // low-order point gives zero whatever the scalar.
        let probe = StaticSecret::from([1u8; 32]).diffie_hellman(&key);
        if probe.was_contributory() {
            Ok(Self(key))
        } else {
            Err(SealError::WeakKey)
        }
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The 8 bytes a wrapped key names its reader by.
    fn hint(&self) -> [u8; HINT_LEN] {
        let mut hint = [0u8; HINT_LEN];
        hint.copy_from_slice(&self.as_bytes()[..HINT_LEN]);
        hint
    }
}

impl fmt::Debug for WrapPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrapPublic(")?;
        self.as_bytes()
            .iter()
            .try_for_each(|b| write!(f, "{b:02x}"))?;
        write!(f, ")")
    }
}

/// A 32-byte key wrapped for one reader.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Wrapped {
    hint: [u8; HINT_LEN],
    ephemeral: WrapPublic,
    sealed: [u8; SEALED_KEY_LEN],
}

impl Wrapped {
    /// Whether this copy is addressed to `reader` (by the hint: a match is
    /// not a proof, [`unwrap_key`] is).
    pub fn is_for(&self, reader: &WrapPublic) -> bool {
        self.hint == reader.hint()
    }

    pub fn to_bytes(&self) -> [u8; WRAPPED_LEN] {
        let mut out = [0u8; WRAPPED_LEN];
        out[0] = WRAPPED_VERSION;
        out[1..1 + HINT_LEN].copy_from_slice(&self.hint);
        out[1 + HINT_LEN..1 + HINT_LEN + 32].copy_from_slice(self.ephemeral.as_bytes());
        out[1 + HINT_LEN + 32..].copy_from_slice(&self.sealed);
        out
    }

    /// The wrapped key of these bytes: exactly [`WRAPPED_LEN`] of them, the
    /// known version, an ephemeral key that is not a low-order point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let (&version, rest) = bytes.split_first().ok_or(SealError::Malformed)?;
        if version != WRAPPED_VERSION {
            return Err(SealError::Version(version));
        }
        if bytes.len() != WRAPPED_LEN {
            return Err(SealError::Malformed);
        }
        let (hint, rest) = rest.split_at(HINT_LEN);
        let (ephemeral, sealed) = rest.split_at(32);
        Ok(Self {
            hint: hint.try_into().map_err(|_| SealError::Malformed)?,
            ephemeral: WrapPublic::from_bytes(
                ephemeral.try_into().map_err(|_| SealError::Malformed)?,
            )?,
            sealed: sealed.try_into().map_err(|_| SealError::Malformed)?,
        })
    }
}

/// `key` wrapped for the holder of the secret behind `to`.
pub fn wrap_key(key: &[u8; 32], to: &WrapPublic) -> Result<Wrapped, SealError> {
    let ephemeral = WrapSecret::generate()?;
    let ephemeral_public = ephemeral.public();
    let sealing = sealing_key(&ephemeral, to, &ephemeral_public, to)?;
    let mut sealed = [0u8; SEALED_KEY_LEN];
    sealed[..32].copy_from_slice(key);
    let tag = aead::seal_in_place(&sealing, &[WRAPPED_VERSION], &mut sealed[..32])?;
    sealed[32..].copy_from_slice(&tag);
    Ok(Wrapped {
        hint: to.hint(),
        ephemeral: ephemeral_public,
        sealed,
    })
}

/// The key in `wrapped`, for the holder of `secret`: another reader's copy
/// is [`SealError::WrongRecipient`], an altered one [`SealError::Forged`].
pub fn unwrap_key(
    wrapped: &Wrapped,
    secret: &WrapSecret,
) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let reader = secret.public();
    if !wrapped.is_for(&reader) {
        return Err(SealError::WrongRecipient);
    }
    let sealing = sealing_key(secret, &wrapped.ephemeral, &wrapped.ephemeral, &reader)?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&wrapped.sealed[..32]);
    let tag = aead::tag_at(&wrapped.sealed, 32).ok_or(SealError::Malformed)?;
    aead::open_in_place(&sealing, &[WRAPPED_VERSION], key.as_mut(), &tag)?;
    Ok(key)
}

/// The one-use AEAD key of the exchange between `mine` and `theirs`, bound
/// to the ephemeral and the reader's public keys.
fn sealing_key(
    mine: &WrapSecret,
    theirs: &WrapPublic,
    ephemeral: &WrapPublic,
    reader: &WrapPublic,
) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let shared = mine.0.diffie_hellman(&theirs.0);
    if !shared.was_contributory() {
        return Err(SealError::WeakKey);
    }
    Ok(aead::hkdf32(
        WRAP_DOMAIN,
        shared.as_bytes(),
        &[WRAP_DOMAIN, ephemeral.as_bytes(), reader.as_bytes()],
    ))
}
