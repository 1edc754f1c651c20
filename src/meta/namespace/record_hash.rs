//! Recording the whole-file SHA3-256 of a version whose writer did not see
//! the whole content (a version made by rewriting part of a file in
//! place). `fragfs sync` reads every byte, then sends
//! [`crate::meta::Command::RecordHash`]. Only the manifest's `file_sha3`
//! changes: attributes, owners and marks stay as they were.

use super::{Body, Namespace};
use crate::fragment::NO_FILE_HASH;
use crate::meta::types::{FsError, Ino, Reply};

impl Namespace {
    /// Sets the hash of version `version` of regular file `ino` if it has
    /// none. The same hash again is `Done`; another hash, or
    /// [`NO_FILE_HASH`], is `Invalid`; a missing inode or version is
    /// `NotFound`.
    pub(super) fn record_hash(
        &mut self,
        ino: Ino,
        version: u64,
        sha3: [u8; 32],
    ) -> Result<Reply, FsError> {
        if sha3 == NO_FILE_HASH {
            return Err(FsError::Invalid);
        }
        let current = self.version(ino, version)?.manifest.file_sha3;
        if current == sha3 {
            return Ok(Reply::Done);
        }
        if current != NO_FILE_HASH {
            return Err(FsError::Invalid);
        }
        // `version` found the file and the version: both exist.
        if let Body::File { versions } = &mut self.node_mut(ino).body {
            if let Some(v) = versions.iter_mut().find(|v| v.id == version) {
                v.manifest.file_sha3 = sha3;
            }
        }
        Ok(Reply::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{manifest, t, ALICE};
    use crate::meta::types::*;
    use crate::meta::Namespace;

    /// A namespace with file `/f` (inode 2) holding one version without a
    /// whole-file hash.
    fn with_file() -> (Namespace, Ino) {
        let mut ns = Namespace::new(Caller::ROOT, t(1));
        let create = Command::Create {
            parent: ROOT,
            name: "f".into(),
            perm: 0o644,
            caller: ALICE,
            now: t(2),
        };
        let Ok(Reply::Attr(a)) = ns.apply(create) else {
            panic!("create failed")
        };
        let commit = Command::CommitVersion {
            ino: a.ino,
            base: None,
            manifest: manifest(100_000),
            author: "peer".into(),
            hlc: Hlc::default(),
            caller: ALICE,
            now: t(3),
        };
        ns.apply(commit).expect("commit");
        (ns, a.ino)
    }

    fn record(ino: Ino, version: u64, sha3: [u8; 32]) -> Command {
        Command::RecordHash { ino, version, sha3 }
    }

    #[test]
    fn t10_a_missing_hash_is_recorded_once() {
        let (mut ns, f) = with_file();
        let attr = ns.getattr(f).unwrap();
        assert_eq!(ns.apply(record(f, 1, [5; 32])), Ok(Reply::Done));
        assert_eq!(ns.head(f).unwrap().unwrap().manifest.file_sha3, [5; 32]);
        assert_eq!(ns.getattr(f).unwrap(), attr, "attributes unchanged");
        assert_eq!(ns.apply(record(f, 1, [5; 32])), Ok(Reply::Done));
    }

    #[test]
    fn t20_bad_records_are_errors_that_change_nothing() {
        let (mut ns, f) = with_file();
        let before = ns.clone();
        assert_eq!(ns.apply(record(f, 2, [5; 32])), Err(FsError::NotFound));
        assert_eq!(ns.apply(record(f, 0, [5; 32])), Err(FsError::NotFound));
        assert_eq!(ns.apply(record(99, 1, [5; 32])), Err(FsError::NotFound));
        assert_eq!(ns.apply(record(ROOT, 1, [5; 32])), Err(FsError::IsDir));
        assert_eq!(ns.apply(record(f, 1, [0; 32])), Err(FsError::Invalid));
        assert_eq!(ns, before);
        ns.apply(record(f, 1, [5; 32])).unwrap();
        let recorded = ns.clone();
        assert_eq!(ns.apply(record(f, 1, [6; 32])), Err(FsError::Invalid));
        assert_eq!(ns, recorded, "a recorded hash is never replaced");
    }

    #[test]
    fn t10_a_record_changes_the_file_for_caches() {
        let (mut ns, f) = with_file();
        let mut c = Changes::default();
        ns.apply_tracked(record(f, 1, [5; 32]), &mut c).unwrap();
        assert!(c.inodes.contains(&f));
    }

    /// Pins the byte form of `RecordHash` (appended to `Command`).
    #[test]
    fn t10_record_hash_encoding_is_pinned() {
        let hex: String = postcard::to_allocvec(&record(7, 3, [0xab; 32]))
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let pinned = include_str!("../../../tests/data/meta-record-hash-v1.hex");
        assert_eq!(hex, pinned.trim());
    }
}
