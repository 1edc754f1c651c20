//! `fragfs sync` against real peers on 127.0.0.1 (in this process, so the
//! test can commit versions without a whole-file hash through the
//! `Volume`, as a mount's in-place writes do): the hash is recorded, `info`
//! shows it, `get` still verifies; conflict copies are reported; a file
//! whose fragment nobody holds fails the command.

use crate::common;
use common::{
    cli::{assert_one_line_error, fragfs, stderr, stdout},
    random_bytes,
};
use fragfs::{
    client::Progress,
    fragment::{Manifest, NO_FILE_HASH},
    node::{localnet::LocalNet, NodeConfig},
    volume::Volume,
};
use std::{
    path::{Path, PathBuf},
    process::Output,
    time::Duration,
};

/// Peer 0 is the only metadata voter; lookups of missing fragments give
/// up quickly.
fn tweak(cfg: &mut NodeConfig) {
    cfg.meta.voter = cfg.net.bootstrap.is_empty();
    cfg.client.lookup_timeout = Duration::from_secs(1);
    cfg.client.fragment_deadline = Duration::from_secs(10);
}

/// `fragfs ARGS --data DATA`, off the runtime's threads.
async fn run(args: &[&str], data: &Path) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let data = data.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fragfs(&args, &data)
    })
    .await
    .unwrap()
}

/// Stores `bytes` on the network; returns the manifest (with its hash).
async fn store(v: &Volume, dir: &Path, bytes: &[u8]) -> Manifest {
    let path = dir.join("src.bin");
    std::fs::write(&path, bytes).unwrap();
    let r = v.client().put_file(&path, None, Progress::new()).await;
    r.expect("put").manifest
}

/// Stores `m` itself (so its id can be fetched) and commits it at `path`.
async fn commit(v: &Volume, path: &str, m: Manifest) {
    let cands = v.client().placement_candidates().await;
    v.client().put_manifest(&m, &cands).await.expect("manifest");
    v.commit_at_path(path, m).await.expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_sync_records_missing_hashes_and_reports_problems() {
    let tmp = tempfile::tempdir().unwrap();
    let net = LocalNet::start_with(&tmp.path().join("net"), 3, tweak)
        .await
        .expect("peers start");
    assert!(net.wait_for_mesh(Duration::from_secs(20)).await);
    let leader = net.node(0).meta().wait_for_leader(Duration::from_secs(10));
    assert!(leader.await.is_some(), "peer 0 leads");
    let v = net.node(0).volume();
    let data: PathBuf = net.data_dir(1);

    // A version without a whole-file hash, as an in-place write commits.
    let bytes = random_bytes(300_000);
    let hashed = store(&v, tmp.path(), &bytes).await;
    let mut m = hashed.clone();
    m.file_sha3 = NO_FILE_HASH;
    commit(&v, "/d/a.bin", m).await;
    let info = stdout(&run(&["info", "/d/a.bin", "--json"], &data).await);
    assert!(info.contains("\"file_sha3\": \"\""), "{info}");
    // And a conflict copy of it.
    let copy = "/d/a.conflict-20261202-030405-abcdEFGH.bin";
    commit(&v, copy, hashed).await;

    let o = run(&["sync"], &data).await;
    assert!(o.status.success(), "sync: {}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("2 file(s)"), "{out}");
    assert!(out.contains("1 hash(es) recorded"), "{out}");
    assert!(
        out.contains(&format!(
            "problem: /d/a.bin: unresolved conflict, copy {copy}"
        )),
        "{out}"
    );

    let o = run(&["info", "/d/a.bin", "--json"], &data).await;
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        info["file_sha3"].as_str().unwrap(),
        hex::encode(fragfs_hash::sha3_256(&bytes))
    );
    // The new manifest is stored: a get by path fetches and verifies it.
    let got = tmp.path().join("got.bin");
    let o = run(&["get", "/d/a.bin", got.to_str().unwrap()], &data).await;
    assert!(o.status.success(), "get: {}", stderr(&o));
    assert_eq!(std::fs::read(&got).unwrap(), bytes);
    // Nothing left to record.
    let o = run(&["sync", "/d", "--json"], &data).await;
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["hashes_recorded"], 0);
    assert_eq!(r["bytes_verified"], 2 * 300_000);

    // A fragment nobody holds any more (lost on every store after the
    // commit, which refuses a fragment no holder has): sync fails, naming
    // the file.
    let mut lost = store(&v, tmp.path(), &random_bytes(1000)).await;
    lost.file_sha3 = NO_FILE_HASH;
    let gone = lost.fragments[0].id;
    commit(&v, "/e/lost.bin", lost).await;
    for i in 0..net.len() {
        if let Some(s) = net.node(i).store() {
            s.delete(&gone).expect("delete the copy");
        }
    }
    let o = run(&["sync", "/e"], &data).await;
    assert!(stdout(&o).contains("problem: /e/lost.bin: not verified"));
    assert_one_line_error(&o, "1 file(s) could not be verified");
    let o = run(&["sync", "/nowhere"], &data).await;
    assert_one_line_error(&o, "/nowhere");
    net.shutdown().await;
}
