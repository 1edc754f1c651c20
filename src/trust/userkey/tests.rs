use super::*;

#[test]
fn t10_a_saved_key_loads_back_and_signs_the_same() {
    let d = tempfile::tempdir().unwrap();
    let k = UserKey::generate("alice").unwrap();
    let path = k.save(d.path()).unwrap();
    assert_eq!(path, d.path().join("users/alice.key"));
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = fs::metadata(d.path().join("users"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let back = UserKey::load(d.path(), "alice").unwrap();
    assert_eq!(back.public(), k.public());
    let sig = back.sign(b"version 7 of /docs/a");
    assert!(UserKey::verify(&k.public(), b"version 7 of /docs/a", &sig));
    assert!(!UserKey::verify(&k.public(), b"version 8 of /docs/a", &sig));
    let other = UserKey::generate("bob").unwrap();
    assert!(!UserKey::verify(
        &other.public(),
        b"version 7 of /docs/a",
        &sig
    ));
}

#[test]
fn t20_an_existing_key_is_never_overwritten() {
    let d = tempfile::tempdir().unwrap();
    let first = UserKey::generate("alice").unwrap();
    first.save(d.path()).unwrap();
    let again = UserKey::generate("alice").unwrap().save(d.path());
    assert!(matches!(again, Err(KeyError::Exists { .. })), "{again:?}");
    let kept = UserKey::load(d.path(), "alice").unwrap();
    assert_eq!(kept.public(), first.public());
}

#[test]
fn t20_exposed_missing_and_garbled_key_files_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let k = UserKey::generate("alice").unwrap();
    let path = k.save(d.path()).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let e = UserKey::load(d.path(), "alice").err().expect("refused");
    assert!(matches!(e, KeyError::Exposed { mode: 0o644, .. }), "{e}");
    assert!(e.to_string().contains("chmod 600"));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();

    let e = UserKey::load(d.path(), "bob").err().expect("missing");
    assert!(matches!(e, KeyError::Missing { .. }), "{e}");
    for (text, why) in [
        ("not a key\n", "first line"),
        ("fragfs-user-key v1\nbob\n00\n", "names user"),
        ("fragfs-user-key v1\nalice\n", "no secret"),
        ("fragfs-user-key v1\nalice\nzz\n", "32 bytes"),
    ] {
        fs::write(&path, text).unwrap();
        let e = UserKey::load(d.path(), "alice").err().expect("garbled");
        assert!(matches!(e, KeyError::Malformed { .. }), "{e}");
        assert!(e.to_string().contains(why), "{e}");
    }
}

#[test]
fn t20_bad_names_are_refused() {
    for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(MAX_NAME + 1), "ü"] {
        assert!(
            matches!(UserKey::generate(bad), Err(KeyError::BadName(_))),
            "{bad:?}"
        );
    }
    for good in ["alice", "bob.smith", "c_d-e", &"x".repeat(MAX_NAME)] {
        assert!(UserKey::generate(good).is_ok(), "{good:?}");
    }
}

#[test]
fn t10_a_protected_key_opens_with_its_passphrase_only() {
    let d = tempfile::tempdir().unwrap();
    let k = UserKey::generate("carol").unwrap();
    let path = k.save_with(d.path(), Some("correct horse")).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("protected "), "{text}");
    assert!(!text.contains(&hex::encode(k.signing.to_bytes())));
    let back = UserKey::load_with(d.path(), "carol", Some("correct horse")).unwrap();
    assert_eq!(back.public(), k.public());
    assert_eq!(back.wrap_public(), k.wrap_public());
    assert!(matches!(
        UserKey::load(d.path(), "carol"),
        Err(KeyError::NeedsPassphrase(_))
    ));
    assert!(matches!(
        UserKey::load_with(d.path(), "carol", Some("wrong")),
        Err(KeyError::WrongPassphrase(_))
    ));
}

#[test]
fn t10_the_wrapping_key_is_derived_and_not_the_signing_key() {
    let k = UserKey::generate("dave").unwrap();
    assert_ne!(k.wrap_public(), k.public());
    assert_eq!(k.wrap_public(), k.wrap_secret().public().to_bytes());
}
