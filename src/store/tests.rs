use super::*;
use crate::fragment::HashAlgo;

fn open(dir: &Path, capacity: u64) -> FragmentStore {
    FragmentStore::open(StoreConfig {
        dir: dir.to_path_buf(),
        capacity,
    })
    .unwrap()
}

#[test]
fn t10_put_get_has_delete() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), 1 << 20);
    let data = b"hello fragment".to_vec();
    let id = FragmentId::of(HashAlgo::Sha3_256, &data);
    assert!(!s.has(&id));
    assert_eq!(s.put(&id, &data).unwrap(), PutOutcome::Written);
    assert_eq!(s.put(&id, &data).unwrap(), PutOutcome::AlreadyPresent);
    assert!(s.has(&id));
    assert_eq!(s.get(&id).unwrap(), data);
    assert_eq!(
        s.usage(),
        Usage {
            used: data.len() as u64,
            capacity: 1 << 20,
            fragments: 1
        }
    );
    assert_eq!(s.list().unwrap(), vec![id]);
    assert!(s.delete(&id).unwrap());
    assert!(!s.delete(&id).unwrap());
    assert!(matches!(s.get(&id), Err(StoreError::NotFound(_))));
    assert_eq!(s.usage().used, 0);
}

#[test]
fn t10_contents_survive_reopen() {
    let d = tempfile::tempdir().unwrap();
    let ids: Vec<_> = {
        let s = open(d.path(), 1 << 20);
        (0..5u8)
            .map(|i| {
                let data = vec![i; 100 + i as usize];
                let id = FragmentId::of(HashAlgo::Blake3, &data);
                s.put(&id, &data).unwrap();
                id
            })
            .collect()
    };
    // A leftover of an interrupted write is cleared at open.
    fs::write(d.path().join("tmp").join("partial"), b"junk").unwrap();
    let s = open(d.path(), 1 << 20);
    assert_eq!(s.usage().fragments, 5);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(s.get(id).unwrap(), vec![i as u8; 100 + i]);
    }
    assert_eq!(fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
}

#[test]
fn t20_wrong_bytes_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), 1 << 20);
    let id = FragmentId::of(HashAlgo::Sha3_256, b"right");
    assert!(matches!(
        s.put(&id, b"wrong"),
        Err(StoreError::HashMismatch(_))
    ));
    assert!(!s.has(&id));
}

#[test]
fn t20_corrupt_copy_is_moved_aside_and_never_served() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), 1 << 20);
    let data = vec![42u8; 4096];
    let id = FragmentId::of(HashAlgo::Sha3_256, &data);
    s.put(&id, &data).unwrap();
    let path = s.path_for_test(&id);
    let mut bytes = fs::read(&path).unwrap();
    bytes[100] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let moved = match s.get(&id) {
        Err(StoreError::Corrupt { moved_to, .. }) => moved_to,
        other => panic!("expected Corrupt, got {other:?}"),
    };
    assert_eq!(fs::read(&moved).unwrap(), bytes);
    assert!(!s.has(&id));
    assert!(matches!(s.get(&id), Err(StoreError::NotFound(_))));
    assert_eq!(s.counters.corrupt_found.load(Ordering::Relaxed), 1);
    assert_eq!(s.usage().used, 0);
    assert_eq!(s.take_quarantined(), vec![id], "queued for repair once");
    assert!(s.take_quarantined().is_empty());
}

#[test]
fn t20_capacity_is_enforced() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), 1000);
    let a = vec![1u8; 600];
    let b = vec![2u8; 600];
    s.put(&FragmentId::of(HashAlgo::Sha3_256, &a), &a).unwrap();
    let err = s
        .put(&FragmentId::of(HashAlgo::Sha3_256, &b), &b)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Full {
                need: 600,
                free: 400,
                capacity: 1000
            }
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with("store full"));
    assert_eq!(s.usage().fragments, 1);
}

#[test]
fn t10_empty_fragment_is_storable() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), 10);
    let id = FragmentId::of(HashAlgo::Sha3_256, b"");
    s.put(&id, b"").unwrap();
    assert_eq!(s.get(&id).unwrap(), Vec::<u8>::new());
}

#[test]
fn t20_buffered_puts_are_verified_served_and_synced() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), 1 << 20);
    let id = FragmentId::of(HashAlgo::Blake3, b"right");
    assert!(matches!(
        s.put_as(&id, b"wrong", false),
        Err(StoreError::HashMismatch(_))
    ));
    assert!(!s.has(&id));
    assert_eq!(s.put_as(&id, b"right", false).unwrap(), PutOutcome::Written);
    assert_eq!(s.get(&id).unwrap(), b"right", "served before any sync");
    s.sync().unwrap();
    drop(s);
    let s = open(d.path(), 1 << 20);
    assert_eq!(s.get(&id).unwrap(), b"right");
    assert_eq!(s.usage().fragments, 1);
}

#[test]
fn t40_a_file_longer_than_any_fragment_is_not_loaded() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path(), 1 << 20);
    let data = vec![7u8; 4096];
    let id = FragmentId::of(HashAlgo::Sha3_256, &data);
    s.put(&id, &data).unwrap();
    // A sparse terabyte under the fragment's name: read, it would not fit.
    let path = s.path_for_test(&id);
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 40)
        .unwrap();
    let moved = match s.get(&id) {
        Err(StoreError::Corrupt { moved_to, .. }) => moved_to,
        other => panic!("expected Corrupt, got {other:?}"),
    };
    assert_eq!(fs::metadata(&moved).unwrap().len(), 1 << 40);
    assert!(matches!(s.get(&id), Err(StoreError::NotFound(_))));
}
