use super::*;
use proptest::prelude::*;

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// All shards of `stripe` as (index, bytes) pairs, minus those in `drop`.
fn keep<'a>(shards: &'a [Vec<u8>], drop: &[usize]) -> Vec<(usize, &'a [u8])> {
    shards
        .iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(i, s)| (i, s.as_slice()))
        .collect()
}

#[test]
fn t10_shard_lengths_are_padded_multiples_of_64() {
    assert_eq!(shard_len(0, 3), 64);
    assert_eq!(shard_len(1, 3), 64);
    assert_eq!(shard_len(192, 3), 64);
    assert_eq!(shard_len(193, 3), 128);
    assert_eq!(shard_len(1 << 20, 3), 349_568);
    assert_eq!(shard_len(FragmentSize::MAX, 1), FragmentSize::MAX);
}

#[test]
fn t10_shards_are_named_by_their_hash_and_rebuild_at_boundary_sizes() {
    for len in [0usize, 1, 63, 64, 65, 191, 192, 193, 65_536, 100_001] {
        let data = bytes(len, 7);
        let (stripe, shards) = encode(HashAlgo::Sha3_256, &data, 3, 2).unwrap();
        assert_eq!(stripe.data_id, FragmentId::of(HashAlgo::Sha3_256, &data));
        assert_eq!(stripe.len as usize, len);
        assert_eq!(shards.len(), 5);
        for (id, s) in stripe.shards.iter().zip(&shards) {
            assert!(id.matches(s));
            assert_eq!(s.len(), stripe.shard_len as usize);
        }
        assert_eq!(stripe.rebuild(&keep(&shards, &[])).unwrap(), data);
        assert_eq!(stripe.rebuild(&keep(&shards, &[0, 2])).unwrap(), data);
        assert_eq!(stripe.rebuild(&keep(&shards, &[3, 4])).unwrap(), data);
    }
}

#[test]
fn t20_too_few_duplicate_or_wrong_shards_are_refused() {
    let data = bytes(1000, 1);
    let (stripe, shards) = encode(HashAlgo::Blake3, &data, 3, 2).unwrap();
    assert_eq!(
        stripe.rebuild(&keep(&shards, &[0, 1, 2])),
        Err(ErasureError::NotEnoughShards { have: 2, need: 3 })
    );
    let mut dup = keep(&shards, &[0, 1]);
    dup.push((2, &shards[2]));
    assert_eq!(stripe.rebuild(&dup), Err(ErasureError::BadShard(2)));
    assert_eq!(
        stripe.rebuild(&[(9, &shards[0][..])]),
        Err(ErasureError::BadShard(9))
    );
    assert_eq!(
        stripe.rebuild(&[(0, &shards[0][..1])]),
        Err(ErasureError::BadShard(0))
    );
    // A shard with other bytes than its id never yields unchecked bytes.
    let mut bad = shards.clone();
    bad[3][0] ^= 1;
    assert_eq!(
        stripe.rebuild(&keep(&bad, &[0, 4])),
        Err(ErasureError::Mismatch)
    );
}

#[test]
fn t20_out_of_range_counts_are_refused() {
    for (k, m) in [(0, 1), (1, 0), (33, 1), (1, 33)] {
        assert!(matches!(
            encode(HashAlgo::Sha3_256, b"x", k, m),
            Err(ErasureError::Redundancy(_))
        ));
    }
    let (stripe, shards) = encode(HashAlgo::Sha3_256, &bytes(5000, 3), 32, 32).unwrap();
    assert_eq!(shards.len(), 64);
    assert!(stripe.encode().len() <= MAX_STRIPE_BYTES);
}

#[test]
fn t10_stripe_round_trips_and_malformed_bytes_are_errors() {
    let (stripe, _) = encode(HashAlgo::Sha3_256, &bytes(777, 9), 4, 2).unwrap();
    let enc = stripe.encode();
    assert_eq!(Stripe::decode(&enc).unwrap(), stripe);
    assert_eq!(Stripe::decode(&[]), Err(ErasureError::Empty));
    let mut v = enc.clone();
    v[0] = 2;
    assert_eq!(Stripe::decode(&v), Err(ErasureError::Version(2)));
    for cut in 1..enc.len() {
        assert!(Stripe::decode(&enc[..cut]).is_err(), "cut at {cut}");
    }
    assert!(Stripe::decode(&vec![STRIPE_VERSION; MAX_STRIPE_BYTES + 1]).is_err());
    let malformed = |f: fn(&mut Stripe)| {
        let mut s = stripe.clone();
        f(&mut s);
        Stripe::decode(&s.encode())
    };
    assert!(malformed(|s| {
        s.shards.pop();
    })
    .is_err());
    assert!(malformed(|s| s.shard_len += 64).is_err());
    assert!(malformed(|s| s.len = FragmentSize::MAX + 1).is_err());
    assert!(malformed(|s| s.data = 0).is_err());
    assert!(malformed(|s| s.parity = 200).is_err());
    assert!(malformed(|s| s.shards[1] = FragmentId::of(HashAlgo::Blake3, b"x")).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any K of the K+M shards rebuild the exact bytes.
    #[test]
    fn any_k_of_k_plus_m_shards_rebuild_the_bytes(
        data in proptest::collection::vec(any::<u8>(), 0..4096),
        k in 1u8..=8,
        m in 1u8..=4,
        pick in any::<u64>(),
    ) {
        let (stripe, shards) = encode(HashAlgo::Sha3_256, &data, k, m).unwrap();
        // Drop M shards chosen by `pick` (a shuffled prefix of the indices).
        let n = usize::from(k + m);
        let mut order: Vec<usize> = (0..n).collect();
        let mut r = pick;
        for i in (1..n).rev() {
            order.swap(i, (r % (i as u64 + 1)) as usize);
            r = r.rotate_left(7) ^ 0x9e37_79b9_7f4a_7c15;
        }
        let kept = keep(&shards, &order[..usize::from(m)]);
        prop_assert_eq!(kept.len(), usize::from(k));
        prop_assert_eq!(stripe.rebuild(&kept).unwrap(), data);
    }

    /// Arbitrary bytes never decode into a stripe that breaks its checks,
    /// and never panic.
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(s) = Stripe::decode(&b) {
            prop_assert!(s.check().is_ok());
        }
    }
}
