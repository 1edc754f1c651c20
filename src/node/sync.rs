//! `fragfs sync [PATH]`: for every regular file under PATH, fetch and
//! verify every fragment of the head through the client (each against its
//! id, then the whole file against its SHA3-256 when the manifest has
//! one), record the whole-file hash where the manifest has none, and
//! report files whose head has fewer reachable copies than its redundancy
//! and unresolved conflict copies.
//!
//! Commits in flight: the node commits nothing of its own while it answers
//! a control request, so the namespace read here is every version this
//! node committed. A mount commits a file's writes when it is closed or
//! fsynced; writes still open in a mount are not seen.
//!
//! Recording a hash changes the manifest, and so the file id: the new
//! manifest is stored first (fragments first, metadata second), so that
//! `fragfs get /path` finds it.

use super::Shared;
use crate::{
    client::Progress,
    control::SyncReport,
    fragment::{FileHasher, Manifest},
    meta::Version,
    redundancy::WriteQuorum,
};
use futures::StreamExt;

/// Fragments fetched at once for one file.
const CONCURRENCY: usize = 4;

/// Syncs every regular file at or under `path`. An error is a path that
/// names nothing or a namespace that does not answer.
pub(super) async fn sync(shared: &Shared, path: &str) -> Result<SyncReport, String> {
    let v = &shared.volume;
    let root = normalise(path)?;
    v.stat(&root).await.map_err(|e| format!("{root}: {e}"))?;
    let (rows, _) = v.tree(false).await.map_err(|e| e.to_string())?;
    let files: Vec<String> = rows
        .into_iter()
        .filter(|(p, kind, _)| kind == "file" && is_under(p, &root))
        .map(|(p, _, _)| p)
        .collect();
    let mut report = SyncReport::default();
    for file in &files {
        report.files += 1;
        if let Some(orig) = conflict_original(file) {
            report
                .problems
                .push(format!("{orig}: unresolved conflict, copy {file}"));
        }
        if let Err(e) = sync_file(shared, file, &mut report).await {
            report.problems.push(format!("{file}: {e}"));
        }
    }
    Ok(report)
}

/// Verifies one file, records its hash and checks its copies.
async fn sync_file(shared: &Shared, path: &str, report: &mut SyncReport) -> Result<(), String> {
    let v = &shared.volume;
    let (attr, versions) = v.history(path).await.map_err(|e| e.to_string())?;
    let Some(head) = versions.last() else {
        return Ok(());
    };
    let sha3 = match verify(shared, &head.manifest).await {
        Ok(h) => h,
        Err(e) => {
            report.unverified += 1;
            return Err(format!("not verified: {e}"));
        }
    };
    report.bytes_verified += head.manifest.size;
    if head.manifest.has_file_hash() && head.manifest.file_sha3 != sha3 {
        report.unverified += 1;
        return Err(format!(
            "whole-file SHA3-256 mismatch: the manifest says {}, the bytes hash to {}",
            hex::encode(head.manifest.file_sha3),
            hex::encode(sha3)
        ));
    }
    let (least, want) = v.reachable_copies(head).await;
    if least < want {
        report.problems.push(format!(
            "{path}: {least} of {want} copies of some fragment reachable"
        ));
    }
    if !head.manifest.has_file_hash() {
        record(shared, attr.ino, head, sha3).await?;
        report.hashes_recorded += 1;
    }
    Ok(())
}

/// Fetches every fragment of `m` in order, verified against its id, and
/// returns the SHA3-256 of the whole content.
async fn verify(shared: &Shared, m: &Manifest) -> Result<[u8; 32], String> {
    let client = shared.client.clone();
    let redundancy = m.redundancy;
    let mut fragments = futures::stream::iter(m.fragments.clone().into_iter().enumerate())
        .map(move |(i, f)| {
            let client = client.clone();
            async move {
                client
                    .fetch_entry(redundancy, &f, i, &Progress::default())
                    .await
            }
        })
        .buffered(CONCURRENCY);
    let mut hasher = FileHasher::new();
    while let Some(data) = fragments.next().await {
        let data = data.map_err(|e| e.to_string())?;
        hasher = tokio::task::spawn_blocking(move || {
            hasher.update(&data);
            hasher
        })
        .await
        .map_err(|e| e.to_string())?;
    }
    Ok(hasher.finish())
}

/// Stores the manifest with `sha3` (so its new id can be fetched), then
/// records the hash on the version.
async fn record(
    shared: &Shared,
    ino: crate::meta::Ino,
    head: &Version,
    sha3: [u8; 32],
) -> Result<(), String> {
    let mut m = head.manifest.clone();
    m.file_sha3 = sha3;
    let mut cfg = shared.client.config().clone();
    // A manifest is stored in full copies: as many as the file's own under
    // replicas, the client's count under rs.
    if let crate::redundancy::Redundancy::Replicas(replicas) = m.redundancy {
        cfg.replicas = replicas;
    }
    cfg.quorum = Some(WriteQuorum::new(1, cfg.replicas).map_err(|e| e.to_string())?);
    let client = shared.client.with_config(cfg);
    let candidates = client.placement_candidates().await;
    client
        .put_manifest(&m, &candidates)
        .await
        .map_err(|e| format!("hash not recorded: the manifest could not be stored: {e}"))?;
    shared
        .volume
        .record_hash(ino, head.id, sha3)
        .await
        .map_err(|e| format!("hash not recorded: {e}"))
}

/// `path` without trailing slashes (`/` stays), refusing relative paths.
fn normalise(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("{path}: not an absolute path"));
    }
    let p = path.trim_end_matches('/');
    Ok(if p.is_empty() { "/".into() } else { p.into() })
}

/// Whether `p` is `root` or lies under it.
pub(super) fn is_under(p: &str, root: &str) -> bool {
    root == "/" || p == root || p.strip_prefix(root).is_some_and(|r| r.starts_with('/'))
}

/// The path of the file `path` is a conflict copy of, when its name has
/// the shape `<stem>.conflict-<YYYYMMDD>-<HHMMSS>-<author>[.<ext>]`
/// (`crate::version::conflict_name`).
fn conflict_original(path: &str) -> Option<String> {
    let (dir, name) = path.rsplit_once('/')?;
    let at = name.rfind(".conflict-")?;
    let (stem, rest) = (&name[..at], &name[at + ".conflict-".len()..]);
    let b = rest.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shaped =
        digits(0..8) && b.get(8) == Some(&b'-') && digits(9..15) && b.get(15) == Some(&b'-');
    let author_ext = rest.get(16..)?;
    if stem.is_empty() || !shaped || author_ext.is_empty() {
        return None;
    }
    // The author (a peer id's tail) has no dot; what follows one is the
    // extension.
    let orig = match author_ext.split_once('.') {
        Some((_, ext)) if !ext.is_empty() => format!("{stem}.{ext}"),
        _ => stem.to_string(),
    };
    Some(format!("{dir}/{orig}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_conflict_copies_name_their_original() {
        let c = |p| conflict_original(p);
        assert_eq!(
            c("/d/notes.conflict-20261202-030405-abcdEFGH.txt").as_deref(),
            Some("/d/notes.txt")
        );
        assert_eq!(
            c("/Makefile.conflict-20261202-030405-abcdEFGH").as_deref(),
            Some("/Makefile")
        );
        assert_eq!(
            c("/a.tar.conflict-20261202-030405-abcdEFGH-2.gz").as_deref(),
            Some("/a.tar.gz")
        );
        let name = crate::version::conflict_name("x.md", 1_700_000_000, "peer1234");
        assert_eq!(c(&format!("/d/{name}")).as_deref(), Some("/d/x.md"));
    }

    #[test]
    fn t20_other_names_are_not_conflict_copies() {
        for p in [
            "/notes.txt",
            "/a.conflict-2026120-030405-x.txt",
            "/a.conflict-20261202_030405-x",
            "/a.conflict-20261202-030405-",
            "/.conflict-20261202-030405-x",
        ] {
            assert_eq!(conflict_original(p), None, "{p}");
        }
    }

    #[test]
    fn t10_paths_under_a_root() {
        assert!(is_under("/a/b", "/a"));
        assert!(is_under("/a", "/a"));
        assert!(!is_under("/ab", "/a"));
        assert!(is_under("/x", "/"));
        assert_eq!(normalise("/a/").unwrap(), "/a");
        assert_eq!(normalise("/").unwrap(), "/");
        assert!(normalise("a").is_err());
    }
}
