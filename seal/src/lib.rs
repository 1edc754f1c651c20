//! fragfs's encryption primitives: sealed fragments, keys wrapped per
//! reader, sealed names and passphrase-protected secrets.
//!
//! Pure: no IO, no clock (but the throughput probe), no tokio, no libp2p.
//! Every cipher, key exchange and KDF comes from RustCrypto or dalek; this
//! crate only chooses them, fixes their parameters and versions the bytes.
//! Like `fragfs-hash` it is built optimised in every profile
//! (`[profile.dev.package.fragfs-seal]`): AES-GCM-SIV and HKDF are generic
//! code, instantiated here.
//!
//! | what | how | format (version byte first) |
//! |---|---|---|
//! | a fragment ([`seal_fragment`]) | AES-256-GCM-SIV, fixed nonce: deterministic per key | `1`, ciphertext, 16-byte tag |
//! | a key for a reader ([`wrap_key`]) | ephemeral X25519 → HKDF-SHA256 → AES-256-GCM-SIV | `1`, recipient hint (8), ephemeral public (32), sealed key (48) |
//! | a name in a directory ([`seal_name`]) | AES-256-GCM-SIV, fixed nonce, its own key and domain | `1`, ciphertext, tag; as text `e.` + base32hex lowercase |
//! | a file's exact lengths ([`seal_note`]; fragments padded to [`padded_len`]) | AES-256-GCM-SIV under the content key, its own domain | `1`, ciphertext, tag |
//! | a key file's secret ([`protect`]) | Argon2id → AES-256-GCM-SIV | `1`, cost, salt, check, ciphertext, tag |
//!
//! `DESIGN.md` beside this crate explains the choices; the tests pin the
//! fragment format against `tests/data/sealed-v1.hex`.

mod aead;
mod fragment;
mod name;
mod pad;
mod passphrase;
mod probe;
mod wrap;

#[cfg(test)]
mod tests;

pub use fragment::{
    open_fragment, open_in_place, plain_len, seal_fragment, seal_into, sealed_len, ContentKey,
    MAX_PLAIN_LEN, SEALED_OVERHEAD, SEALED_VERSION,
};
pub use name::{
    decode_sealed_name, encode_sealed_name, encoded_name_len, open_name, seal_name, NameKey,
    MAX_PLAIN_NAME_LEN, NAME_MAX, SEALED_NAME_PREFIX, SEALED_NAME_VERSION,
};
pub use pad::{open_note, padded_len, seal_note, MAX_NOTE_LEN, MIN_PADDED, NOTE_VERSION};
pub use passphrase::{
    protect, protect_with, unprotect, PassphraseCost, MAX_SECRET_LEN, PROTECTED_VERSION,
};
pub use probe::aead_mb_per_s;
pub use wrap::{
    unwrap_key, wrap_key, WrapPublic, WrapSecret, Wrapped, WRAPPED_LEN, WRAPPED_VERSION,
};
pub use zeroize::Zeroizing;

/// Why sealed bytes were refused or could not be made. The messages are
/// one line each; none carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The bytes do not have the shape of the format (too short, wrong
    /// length, bad text encoding).
    #[error("malformed sealed bytes")]
    Malformed,
    /// The leading version byte names a format this build does not know.
    #[error("unknown sealed format version {0}")]
    Version(u8),
    /// Authentication failed: the bytes were altered, or sealed under
    /// another key.
    #[error("authentication failed: altered, or sealed under another key")]
    Forged,
    /// A wrapped key addressed to another recipient.
    #[error("the key was wrapped for another recipient")]
    WrongRecipient,
    /// The passphrase does not open the protected secret.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A public key that is a low-order point (any exchange with it gives
    /// a secret everybody knows).
    #[error("weak public key")]
    WeakKey,
    /// Input longer than the format takes.
    #[error("input too long: {len} bytes, at most {max}")]
    TooLong { len: u64, max: u64 },
    /// Argon2 cost parameters out of the accepted range.
    #[error("passphrase cost out of range")]
    Cost,
    /// The operating system's random source failed.
    #[error("the operating system's random source failed")]
    Random,
}
