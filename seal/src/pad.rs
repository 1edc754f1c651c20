//! Padded lengths and sealed notes: what hides a file's size from those
//! who hold its fragments or read its manifest without its key.
//!
//! A sealed fragment's plaintext is padded with zeros to [`padded_len`]
//! before it is sealed, so its stored length shows only a rounded length:
//! Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files
//! and Communication with PURBs", PETS 2019), never less than
//! [`MIN_PADDED`] bytes: above that it costs under 6.25% and leaves
//! O(log log n) bits of the length. The exact lengths travel in a note sealed under
//! the file's content key ([`seal_note`]), which only its readers open.

use crate::aead;
use crate::{ContentKey, SealError};

/// The version byte of a sealed note.
pub const NOTE_VERSION: u8 = 1;

/// The shortest padded length of a non-empty plaintext.
pub const MIN_PADDED: u64 = 256;

/// The longest note (its plaintext).
pub const MAX_NOTE_LEN: usize = 1 << 20;

/// Additional data of every sealed note (see the fragment's).
const AAD: &[u8] = b"fragfs note v1";

/// The length `len` bytes are padded to: Padmé, at least [`MIN_PADDED`]
/// (0 stays 0). Never less than `len`, and `padded_len(padded_len(n)) ==
/// padded_len(n)`, so a padded length pads to itself.
pub fn padded_len(len: u64) -> u64 {
    match len {
        0 => 0,
        l if l <= MIN_PADDED => MIN_PADDED,
        l => padme(l),
    }
}

/// Padmé of `l` (> 1): the mantissa of `l` kept to as many bits as the
/// length of its exponent, rounded up.
fn padme(l: u64) -> u64 {
    let e = 63 - l.leading_zeros(); // floor(log2 l)
    let s = 32 - e.leading_zeros(); // floor(log2 e) + 1
    let mask = (1u64 << (e - s)) - 1;
    l.checked_add(mask).map_or(l, |x| x & !mask)
}

/// `note` sealed under `key` with a domain of its own: `[1]`, ciphertext,
/// 16-byte tag.
pub fn seal_note(key: &ContentKey, note: &[u8]) -> Result<Vec<u8>, SealError> {
    if note.len() > MAX_NOTE_LEN {
        return Err(SealError::TooLong {
            len: note.len() as u64,
            max: MAX_NOTE_LEN as u64,
        });
    }
    aead::seal_versioned(key.as_bytes(), AAD, NOTE_VERSION, note)
}

/// The note sealed in `sealed` under `key`.
pub fn open_note(key: &ContentKey, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    aead::open_versioned(key.as_bytes(), AAD, NOTE_VERSION, sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_padded_lengths_round_up_a_little_and_pad_to_themselves() {
        assert_eq!(padded_len(0), 0);
        assert_eq!(padded_len(1), MIN_PADDED);
        assert_eq!(padded_len(MIN_PADDED), MIN_PADDED);
        assert_eq!(padded_len(1 << 20), 1 << 20);
        assert_eq!(padded_len(4097), 4352);
        for n in (1..5_000_000u64)
            .step_by(977)
            .chain([u64::MAX - 5, u64::MAX])
        {
            let p = padded_len(n);
            assert!(p >= n, "{n} → {p}");
            assert_eq!(padded_len(p), p, "{n} → {p}");
            if n > MIN_PADDED {
                assert!((p - n) as f64 <= n as f64 * 0.12 + 1.0, "{n} → {p}");
            }
        }
    }

    #[test]
    fn t10_a_note_opens_under_its_key_alone() {
        let key = ContentKey::from_bytes([5; 32]);
        let sealed = seal_note(&key, b"12345").unwrap();
        assert_eq!(sealed.len(), 1 + 5 + crate::aead::TAG_LEN);
        assert_eq!(open_note(&key, &sealed).unwrap(), b"12345");
        let other = ContentKey::from_bytes([6; 32]);
        assert_eq!(open_note(&other, &sealed), Err(SealError::Forged));
        let mut bad = sealed.clone();
        bad[3] ^= 1;
        assert_eq!(open_note(&key, &bad), Err(SealError::Forged));
        assert_eq!(open_note(&key, &[2, 0]), Err(SealError::Version(2)));
    }
}
