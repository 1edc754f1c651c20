//! The crate's laws: determinism, round trips at boundary sizes, refusal of
//! every altered byte, and the fragment format pinned to committed bytes.

use super::*;

fn key(n: u8) -> ContentKey {
    ContentKey::from_bytes([n; 32])
}

/// Every input `flip` of `sealed` with one byte changed is refused.
fn each_flip_refused(sealed: &[u8], open: impl Fn(&[u8]) -> Result<Vec<u8>, SealError>) {
    for at in 0..sealed.len() {
        for bit in [0x01, 0x80] {
            let mut bad = sealed.to_vec();
            bad[at] ^= bit;
            assert!(open(&bad).is_err(), "byte {at} bit {bit:#x} accepted");
        }
    }
}

#[test]
fn t10_fragment_round_trips_at_boundary_sizes() {
    let k = key(1);
    for len in [0, 1, 15, 16, 17, 1001, 1 << 20] {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        let sealed = seal_fragment(&k, &plain).unwrap();
        assert_eq!(sealed.len(), sealed_len(len));
        assert_eq!(plain_len(sealed.len()), Some(len));
        assert_eq!(sealed[0], SEALED_VERSION);
        assert_eq!(open_fragment(&k, &sealed).unwrap(), plain);
        let mut in_place = sealed.clone();
        assert_eq!(open_in_place(&k, &mut in_place).unwrap(), &plain[..]);
    }
    assert_eq!(plain_len(SEALED_OVERHEAD - 1), None);
}

#[test]
fn t11_fragment_sealing_is_deterministic_per_key() {
    let plain = b"the same fragment in two versions of a file";
    let once = seal_fragment(&key(1), plain).unwrap();
    assert_eq!(seal_fragment(&key(1), plain).unwrap(), once);
    let other = seal_fragment(&key(2), plain).unwrap();
    assert_ne!(other, once);
    assert_ne!(
        other[1..],
        once[1..],
        "another key must give unrelated bytes"
    );
    let mut reused = vec![9; 3];
    seal_into(&key(1), plain, &mut reused).unwrap();
    assert_eq!(reused, once);
}

#[test]
fn t12_every_altered_byte_of_a_fragment_is_refused() {
    let k = key(3);
    let sealed = seal_fragment(&k, b"forty-two bytes of a small sealed fragment").unwrap();
    each_flip_refused(&sealed, |bad| open_fragment(&k, bad));
    let mut copy = sealed.clone();
    copy[5] ^= 1;
    let before = copy.clone();
    assert_eq!(open_in_place(&k, &mut copy), Err(SealError::Forged));
    assert_eq!(copy, before, "a refused open leaves the bytes as they were");
}

#[test]
fn t13_short_foreign_and_wrongly_keyed_fragments_are_refused() {
    let k = key(4);
    let sealed = seal_fragment(&k, b"abc").unwrap();
    for len in 0..sealed.len() {
        assert!(
            open_fragment(&k, &sealed[..len]).is_err(),
            "{len} bytes accepted"
        );
    }
    assert_eq!(open_fragment(&k, &[]), Err(SealError::Malformed));
    assert_eq!(open_fragment(&k, &[1; 16]), Err(SealError::Malformed));
    assert_eq!(open_fragment(&k, &[2; 40]), Err(SealError::Version(2)));
    assert_eq!(open_fragment(&key(5), &sealed), Err(SealError::Forged));
    let empty = seal_fragment(&k, b"").unwrap();
    assert_eq!(open_fragment(&key(5), &empty), Err(SealError::Forged));
}

#[test]
fn t14_sealed_fragment_format_is_pinned() {
    let k = ContentKey::from_bytes(std::array::from_fn(|i| i as u8));
    let sealed = seal_fragment(&k, b"fragfs sealed fragment, format version 1\n").unwrap();
    let pinned = include_str!("../tests/data/sealed-v1.hex").trim();
    assert_eq!(
        hex::encode(&sealed),
        pinned,
        "the sealed fragment format changed"
    );
    assert_eq!(
        open_fragment(&k, &hex::decode(pinned).unwrap())
            .unwrap()
            .len(),
        41
    );
}

#[test]
fn t15_keys_never_show_in_debug() {
    let k = key(0xab);
    assert_eq!(format!("{k:?}"), "ContentKey(..)");
    assert_eq!(
        format!("{:?}", NameKey::from_bytes([0xab; 32])),
        "NameKey(..)"
    );
    assert_eq!(
        format!("{:?}", WrapSecret::from_bytes([0xab; 32])),
        "WrapSecret(..)"
    );
    let fresh = ContentKey::generate().unwrap();
    assert_ne!(fresh.as_bytes(), ContentKey::generate().unwrap().as_bytes());
}

#[test]
fn t20_wrapped_key_round_trips_for_its_reader() {
    let reader = WrapSecret::generate().unwrap();
    let content = ContentKey::generate().unwrap();
    let wrapped = wrap_key(content.as_bytes(), &reader.public()).unwrap();
    assert!(wrapped.is_for(&reader.public()));
    let bytes = wrapped.to_bytes();
    assert_eq!(bytes.len(), WRAPPED_LEN);
    assert_eq!(bytes[0], WRAPPED_VERSION);
    let parsed = Wrapped::from_bytes(&bytes).unwrap();
    assert_eq!(parsed, wrapped);
    assert_eq!(*unwrap_key(&parsed, &reader).unwrap(), *content.as_bytes());
    let again = wrap_key(content.as_bytes(), &reader.public()).unwrap();
    assert_ne!(again.to_bytes(), bytes, "each wrapping is fresh");
}

#[test]
fn t21_another_reader_cannot_unwrap() {
    let alice = WrapSecret::generate().unwrap();
    let bob = WrapSecret::generate().unwrap();
    let wrapped = wrap_key(&[7; 32], &alice.public()).unwrap();
    assert!(!wrapped.is_for(&bob.public()));
    assert_eq!(unwrap_key(&wrapped, &bob), Err(SealError::WrongRecipient));
    // Bob relabelling Alice's copy as his learns nothing either.
    let mut relabelled = wrapped.to_bytes();
    relabelled[1..9].copy_from_slice(&bob.public().as_bytes()[..8]);
    let relabelled = Wrapped::from_bytes(&relabelled).unwrap();
    assert_eq!(unwrap_key(&relabelled, &bob), Err(SealError::Forged));
}

#[test]
fn t22_every_altered_byte_of_a_wrapped_key_is_refused() {
    let reader = WrapSecret::generate().unwrap();
    let bytes = wrap_key(&[9; 32], &reader.public()).unwrap().to_bytes();
    each_flip_refused(&bytes, |bad| {
        Wrapped::from_bytes(bad).and_then(|w| unwrap_key(&w, &reader).map(|k| k.to_vec()))
    });
}

#[test]
fn t23_malformed_wrapped_bytes_are_refused() {
    let reader = WrapSecret::generate().unwrap();
    let bytes = wrap_key(&[9; 32], &reader.public()).unwrap().to_bytes();
    assert_eq!(Wrapped::from_bytes(&[]), Err(SealError::Malformed));
    assert_eq!(
        Wrapped::from_bytes(&bytes[..WRAPPED_LEN - 1]),
        Err(SealError::Malformed)
    );
    let mut long = bytes.to_vec();
    long.push(0);
    assert_eq!(Wrapped::from_bytes(&long), Err(SealError::Malformed));
    let mut version = bytes;
    version[0] = 2;
    assert_eq!(Wrapped::from_bytes(&version), Err(SealError::Version(2)));
    // An ephemeral key of low order (here zero) would make the exchange public.
    let mut weak = bytes;
    weak[9..41].fill(0);
    assert_eq!(Wrapped::from_bytes(&weak), Err(SealError::WeakKey));
    assert_eq!(WrapPublic::from_bytes([0; 32]), Err(SealError::WeakKey));
    let mut one = [0; 32];
    one[0] = 1;
    assert_eq!(WrapPublic::from_bytes(one), Err(SealError::WeakKey));
}

#[test]
fn t24_derived_wrap_secrets_are_distinct_and_stable() {
    let seed = [0x11; 32];
    let a = WrapSecret::derive(&seed, "fragfs user wrap");
    assert_eq!(
        a.public(),
        WrapSecret::derive(&seed, "fragfs user wrap").public()
    );
    assert_ne!(
        a.public(),
        WrapSecret::derive(&seed, "another use").public()
    );
    assert_ne!(*a.to_bytes(), seed, "never the seed itself");
    let b = WrapSecret::from_bytes(*a.to_bytes());
    assert_eq!(a.public(), b.public());
    assert_eq!(
        WrapPublic::from_bytes(a.public().to_bytes()),
        Ok(a.public())
    );
}

#[test]
fn t30_names_round_trip_deterministically() {
    let dir = NameKey::derive(&[0x22; 32], "dir 1");
    for name in [&b""[..], b"a", b"notes.txt", &[0xff; MAX_PLAIN_NAME_LEN]] {
        let sealed = seal_name(&dir, name).unwrap();
        assert_eq!(seal_name(&dir, name).unwrap(), sealed);
        assert_eq!(open_name(&dir, &sealed).unwrap(), name);
        let text = encode_sealed_name(&sealed);
        assert!(text.starts_with(SEALED_NAME_PREFIX));
        assert_eq!(text.len(), encoded_name_len(name.len()));
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b) || b == b'.'));
        assert_eq!(decode_sealed_name(&text).unwrap(), sealed);
    }
    let other = NameKey::derive(&[0x22; 32], "dir 2");
    assert_ne!(
        seal_name(&other, b"a").unwrap(),
        seal_name(&dir, b"a").unwrap()
    );
    assert_eq!(
        open_name(&other, &seal_name(&dir, b"a").unwrap()),
        Err(SealError::Forged)
    );
}

#[test]
fn t31_name_length_limit_holds() {
    assert!(encoded_name_len(MAX_PLAIN_NAME_LEN) <= NAME_MAX);
    assert!(encoded_name_len(MAX_PLAIN_NAME_LEN + 1) > NAME_MAX);
    let dir = NameKey::from_bytes([3; 32]);
    let longest = seal_name(&dir, &[b'x'; MAX_PLAIN_NAME_LEN]).unwrap();
    assert!(encode_sealed_name(&longest).len() <= NAME_MAX);
    assert!(matches!(
        seal_name(&dir, &[b'x'; MAX_PLAIN_NAME_LEN + 1]),
        Err(SealError::TooLong { .. })
    ));
}

#[test]
fn t32_altered_and_misspelled_names_are_refused() {
    let dir = NameKey::from_bytes([4; 32]);
    let sealed = seal_name(&dir, b"report.pdf").unwrap();
    each_flip_refused(&sealed, |bad| open_name(&dir, bad));
    assert_eq!(open_name(&dir, &sealed[..16]), Err(SealError::Malformed));
    let text = encode_sealed_name(&sealed);
    for bad in [
        text[SEALED_NAME_PREFIX.len()..].to_string(),
        text.to_uppercase(),
        format!("{text}w"),
        stray_bits(&text),
        "e.".to_string() + &"0".repeat(300),
        text.replace('0', "/"),
    ] {
        if bad != text {
            assert_eq!(decode_sealed_name(&bad), Err(SealError::Malformed), "{bad}");
        }
    }
}

/// `text` with padding bits set in its last character: the same bytes,
/// spelt in a way [`encode_sealed_name`] never does.
fn stray_bits(text: &str) -> String {
    let (head, last) = text.split_at(text.len() - 1);
    let flipped = if last == "1" { "0" } else { "1" };
    format!("{head}{flipped}")
}

const CHEAP: PassphraseCost = PassphraseCost {
    memory_kib: 64,
    passes: 1,
    lanes: 1,
};

#[test]
fn t40_protected_secret_round_trips() {
    let secret = [0x5a; 32];
    let blob = protect_with(&secret, "correct horse", CHEAP).unwrap();
    assert_eq!(blob[0], PROTECTED_VERSION);
    assert_eq!(*unprotect(&blob, "correct horse").unwrap(), secret);
    assert_ne!(
        protect_with(&secret, "correct horse", CHEAP).unwrap(),
        blob,
        "fresh salt"
    );
    assert_eq!(
        unprotect(&blob, "correct horsE"),
        Err(SealError::WrongPassphrase)
    );
}

#[test]
fn t41_damaged_protected_secret_is_refused() {
    let blob = protect_with(&[1; 32], "pw", CHEAP).unwrap();
    each_flip_refused(&blob, |bad| unprotect(bad, "pw").map(|s| s.to_vec()));
    let mut body = blob.clone();
    let last = body.len() - 1;
    body[last] ^= 1;
    assert_eq!(unprotect(&body, "pw"), Err(SealError::Forged));
    for len in 0..blob.len() {
        assert!(
            unprotect(&blob[..len], "pw").is_err(),
            "{len} bytes accepted"
        );
    }
}

#[test]
fn t42_passphrase_cost_is_bounded() {
    let greedy = PassphraseCost {
        memory_kib: PassphraseCost::MAX_MEMORY_KIB + 1,
        ..CHEAP
    };
    assert_eq!(protect_with(&[1; 32], "pw", greedy), Err(SealError::Cost));
    let mut blob = protect_with(&[1; 32], "pw", CHEAP).unwrap();
    blob[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(unprotect(&blob, "pw"), Err(SealError::Cost));
    assert!(matches!(
        protect_with(&[0; MAX_SECRET_LEN + 1], "pw", CHEAP),
        Err(SealError::TooLong { .. })
    ));
}

#[test]
fn t43_default_cost_is_accepted() {
    let blob = protect(&[2; 32], "pw").unwrap();
    assert_eq!(*unprotect(&blob, "pw").unwrap(), [2; 32]);
}

#[test]
fn t50_probe_measures_something() {
    let (seal, open) = aead_mb_per_s(64 * 1024, 4);
    assert!(seal > 0.0 && open > 0.0);
    assert_eq!(aead_mb_per_s(1024, 0), (0.0, 0.0));
}

mod laws {
    use proptest::prelude::*;

    use super::super::*;

    proptest! {
        #[test]
        fn t60_any_fragment_round_trips_and_any_flip_is_refused(
            key in any::<[u8; 32]>(),
            plain in proptest::collection::vec(any::<u8>(), 0..2048),
            at in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let key = ContentKey::from_bytes(key);
            let sealed = seal_fragment(&key, &plain).unwrap();
            prop_assert_eq!(&seal_fragment(&key, &plain).unwrap(), &sealed);
            prop_assert_eq!(open_fragment(&key, &sealed).unwrap(), plain);
            let i = at.index(sealed.len());
            let mut bad = sealed;
            bad[i] ^= 1 << bit;
            prop_assert!(open_fragment(&key, &bad).is_err());
        }

        #[test]
        fn t61_any_name_round_trips_through_its_text(
            secret in any::<[u8; 32]>(),
            name in proptest::collection::vec(any::<u8>(), 0..=MAX_PLAIN_NAME_LEN),
        ) {
            let key = NameKey::derive(&secret, "dir");
            let text = encode_sealed_name(&seal_name(&key, &name).unwrap());
            prop_assert!(text.len() <= NAME_MAX);
            prop_assert_eq!(open_name(&key, &decode_sealed_name(&text).unwrap()).unwrap(), name);
        }
    }
}
