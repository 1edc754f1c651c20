//! Two writers, one file: two mounts on two nodes change the same file from
//! the same version and both close. Nothing either wrote is lost: changes
//! to different fragments or different lines combine (in place and by an
//! editor's rename-over), both appends are kept, the same line changed on
//! both sides leaves the later write under the name and the other beside it
//! as a conflict copy (under `lww`: no copy, both in history), a change to
//! a file the other mount deleted brings it back, and an edit follows a
//! file the other mount renamed.

use crate::common;
use common::*;
use std::{
    ffi::CString,
    fs,
    os::unix::{ffi::OsStrExt, fs::FileExt},
    path::Path,
    time::Duration,
};

/// Fragments of 64 KiB, so a three-fragment file is small.
const FSZ: usize = 64 * 1024;
const EXTRA: &[&str] = &["--fragment-size", "65536"];
const SEE: Duration = Duration::from_secs(20);

/// Waits until `p` reads back exactly `want` (the other mount's change
/// reached this one).
fn wait_for_bytes(p: &Path, want: &[u8]) {
    let ok = wait_until(SEE, || fs::read(p).ok().as_deref() == Some(want));
    let got = fs::read(p).unwrap_or_default();
    assert!(
        ok,
        "{} never read back the expected {} bytes (has {}: {:?}…)",
        p.display(),
        want.len(),
        got.len(),
        String::from_utf8_lossy(&got[..got.len().min(200)])
    );
}

/// The conflict copies of `stem`…`ext` in directory `p`.
fn conflict_copies(p: &Path, stem: &str, ext: &str) -> Vec<String> {
    names(p)
        .into_iter()
        .filter(|n| n.starts_with(&format!("{stem}.conflict-")) && n.ends_with(ext))
        .collect()
}

/// Replaces the whole content of an open file.
fn rewrite(f: &fs::File, data: &[u8]) {
    f.set_len(0).expect("truncate");
    f.write_all_at(data, 0).expect("write");
}

/// Twenty numbered lines.
fn lines() -> Vec<String> {
    (1..=20)
        .map(|i| format!("line {i} of the shared notes"))
        .collect()
}

fn text(lines: &[String]) -> Vec<u8> {
    let mut s = lines.join("\n");
    s.push('\n');
    s.into_bytes()
}

/// `lines` with line `n` (1-based) replaced.
fn edited(lines: &[String], n: usize, new: &str) -> Vec<String> {
    let mut l = lines.to_vec();
    l[n - 1] = new.to_string();
    l
}

fn set_policy(p: &Path, value: &str) {
    let path = CString::new(p.as_os_str().as_bytes()).expect("path");
    let name = CString::new("user.fragfs.merge").expect("name");
    // SAFETY: valid NUL-terminated strings and a buffer of the given length.
    let r = unsafe {
        libc::setxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());
}

/// The versions listed in the history tree of `rel` in mount `m`.
fn versions(m: &Mount, rel: &str) -> usize {
    names(&m.path(&format!(".fragfs/history/{rel}"))).len()
}

struct Pair {
    d: (Dirs, Dirs),
    a: Mount,
    b: Mount,
}

fn pair() -> Pair {
    let (da, db) = (Dirs::new(), Dirs::new());
    let (a, b) = Mount::start_pair(&da, &db, EXTRA);
    Pair { d: (da, db), a, b }
}

/// Writes `data` at `rel` through mount a and waits until b reads it.
fn shared(p: &Pair, rel: &str, data: &[u8]) {
    fs::write(p.a.path(rel), data).expect("write the base");
    wait_for_bytes(&p.b.path(rel), data);
}

#[test]
fn t10_different_fragments_of_a_binary_file_both_land() {
    let p = pair();
    let base = random(3 * FSZ);
    shared(&p, "blob.bin", &base);
    let (fa, fb) = (
        open_rw(&p.a.path("blob.bin")),
        open_rw(&p.b.path("blob.bin")),
    );
    let (ours, theirs) = (random(1000), random(1000));
    fa.write_all_at(&theirs, 10).expect("write in fragment 0");
    fb.write_all_at(&ours, (2 * FSZ + 77) as u64)
        .expect("write in fragment 2");
    drop(fa);
    drop(fb);
    let mut want = base.clone();
    want[10..1010].copy_from_slice(&theirs);
    want[2 * FSZ + 77..2 * FSZ + 1077].copy_from_slice(&ours);
    wait_for_bytes(&p.b.path("blob.bin"), &want);
    wait_for_bytes(&p.a.path("blob.bin"), &want);
    assert!(conflict_copies(&p.a.mnt, "blob", ".bin").is_empty());
}

#[test]
fn t20_different_lines_in_place_both_land() {
    let p = pair();
    let l = lines();
    shared(&p, "notes.txt", &text(&l));
    let (fa, fb) = (
        open_rw(&p.a.path("notes.txt")),
        open_rw(&p.b.path("notes.txt")),
    );
    rewrite(&fa, &text(&edited(&l, 2, "line 2 changed on a")));
    rewrite(&fb, &text(&edited(&l, 9, "line 9 changed on b")));
    drop(fa);
    drop(fb);
    let both = edited(
        &edited(&l, 2, "line 2 changed on a"),
        9,
        "line 9 changed on b",
    );
    wait_for_bytes(&p.a.path("notes.txt"), &text(&both));
    wait_for_bytes(&p.b.path("notes.txt"), &text(&both));
    assert!(conflict_copies(&p.b.mnt, "notes", ".txt").is_empty());
}

/// An editor's save: the new content in a temporary file renamed over
/// the original.
fn save_by_rename(m: &Mount, rel: &str, data: &[u8]) {
    let tmp = m.path(&format!(".{rel}.swp"));
    fs::write(&tmp, data).expect("write the temporary file");
    fs::rename(&tmp, m.path(rel)).expect("rename over the original");
}

#[test]
fn t30_different_lines_saved_by_rename_over_both_land() {
    let p = pair();
    let l = lines();
    shared(&p, "doc.txt", &text(&l));
    // Both editors read version 1.
    assert_eq!(fs::read(p.a.path("doc.txt")).expect("read"), text(&l));
    assert_eq!(fs::read(p.b.path("doc.txt")).expect("read"), text(&l));
    let ino = fs::metadata(p.a.path("doc.txt")).expect("stat").ino();
    save_by_rename(&p.a, "doc.txt", &text(&edited(&l, 3, "third, by a")));
    save_by_rename(&p.b, "doc.txt", &text(&edited(&l, 17, "seventeenth, by b")));
    let both = edited(&edited(&l, 3, "third, by a"), 17, "seventeenth, by b");
    wait_for_bytes(&p.a.path("doc.txt"), &text(&both));
    wait_for_bytes(&p.b.path("doc.txt"), &text(&both));
    // A new version of the same file, not a delete and a create.
    assert_eq!(fs::metadata(p.a.path("doc.txt")).expect("stat").ino(), ino);
    assert_eq!(versions(&p.a, "doc.txt"), 3, "base, a's save, the merge");
    assert_eq!(
        names(&p.a.mnt),
        vec!["doc.txt".to_string()],
        "no temporary left"
    );
}

use std::os::unix::fs::MetadataExt;

#[test]
fn t40_both_sides_appending_keeps_both_appends() {
    let p = pair();
    let base = b"first line\n".to_vec();
    shared(&p, "log.txt", &base);
    let (fa, fb) = (open_rw(&p.a.path("log.txt")), open_rw(&p.b.path("log.txt")));
    fa.write_all_at(b"appended by a\n", base.len() as u64)
        .expect("append a");
    fb.write_all_at(b"appended by b\n", base.len() as u64)
        .expect("append b");
    drop(fa);
    drop(fb);
    // The earlier commit's append first, then the later one's.
    let want = b"first line\nappended by a\nappended by b\n";
    wait_for_bytes(&p.a.path("log.txt"), want);
    wait_for_bytes(&p.b.path("log.txt"), want);
}

/// Both mounts open `rel` (twenty lines), change line 5 differently and
/// close, a first: returns (a's content, b's content).
fn same_line_on_both(p: &Pair, rel: &str) -> (Vec<u8>, Vec<u8>) {
    let l = lines();
    shared(p, rel, &text(&l));
    let (fa, fb) = (open_rw(&p.a.path(rel)), open_rw(&p.b.path(rel)));
    let (by_a, by_b) = (
        text(&edited(&l, 5, "five: a")),
        text(&edited(&l, 5, "five: b")),
    );
    rewrite(&fa, &by_a);
    rewrite(&fb, &by_b);
    drop(fa);
    drop(fb);
    (by_a, by_b)
}

/// What `fragfs conflicts --json` prints on the node of data directory
/// `data` (asserting it succeeds).
fn conflicts_json(data: &Path) -> String {
    let out = std::process::Command::new(fragfs_bin())
        .arg("--data")
        .arg(data)
        .args(["conflicts", "--json"])
        .output()
        .expect("run fragfs conflicts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn t50_the_same_line_keeps_the_later_write_and_a_conflict_copy() {
    let p = pair();
    let (by_a, by_b) = same_line_on_both(&p, "plan.txt");
    // b committed later: b's content holds the name; a's is the copy.
    wait_for_bytes(&p.a.path("plan.txt"), &by_b);
    wait_for_bytes(&p.b.path("plan.txt"), &by_b);
    for m in [&p.a, &p.b] {
        let ok = wait_until(SEE, || conflict_copies(&m.mnt, "plan", ".txt").len() == 1);
        assert!(
            ok,
            "one conflict copy in {}: {:?}",
            m.mnt.display(),
            names(&m.mnt)
        );
        let copy = &conflict_copies(&m.mnt, "plan", ".txt")[0];
        assert_eq!(fs::read(m.mnt.join(copy)).expect("read the copy"), by_a);
        // plan.conflict-YYYYMMDD-HHMMSS-<author>.txt
        let mid = &copy["plan.conflict-".len()..copy.len() - ".txt".len()];
        let parts: Vec<&str> = mid.splitn(3, '-').collect();
        assert_eq!(parts.len(), 3, "{copy}");
        assert!(
            parts[0].len() == 8 && parts[0].bytes().all(|b| b.is_ascii_digit()),
            "{copy}"
        );
        assert!(
            parts[1].len() == 6 && parts[1].bytes().all(|b| b.is_ascii_digit()),
            "{copy}"
        );
        assert!(!parts[2].is_empty(), "{copy}");
    }
    // No conflict markers in the user's file.
    assert!(
        !String::from_utf8_lossy(&fs::read(p.a.path("plan.txt")).expect("read")).contains("<<<<")
    );
    // Recorded: `fragfs conflicts` on either node lists it, with the copy.
    let copy = &conflict_copies(&p.a.mnt, "plan", ".txt")[0];
    for data in [p.d.0.data.path(), p.d.1.data.path()] {
        let out = conflicts_json(data);
        assert!(
            out.contains("/plan.txt") && out.contains(copy.as_str()),
            "{out}"
        );
    }
}

#[test]
fn t60_under_lww_the_later_write_wins_and_both_stay_in_history() {
    let p = pair();
    fs::create_dir(p.a.path("lww")).expect("mkdir");
    set_policy(&p.a.path("lww"), "lww");
    let (by_a, by_b) = same_line_on_both(&p, "lww/plan.txt");
    wait_for_bytes(&p.a.path("lww/plan.txt"), &by_b);
    assert_eq!(
        names(&p.a.path("lww")),
        vec!["plan.txt".to_string()],
        "no copy"
    );
    // Both versions in history: the base, a's, b's.
    let hist = p.a.path(".fragfs/history/lww/plan.txt");
    let ok = wait_until(SEE, || names(&hist).len() == 3);
    assert!(ok, "three versions: {:?}", names(&hist));
    let contents: Vec<Vec<u8>> = names(&hist)
        .iter()
        .map(|n| fs::read(hist.join(n)).expect("read a version"))
        .collect();
    assert!(contents.contains(&by_a), "a's overridden version is kept");
    assert!(contents.contains(&by_b));
    let out = conflicts_json(p.d.0.data.path());
    assert!(
        out.contains("/lww/plan.txt") && out.to_lowercase().contains("overr"),
        "{out}"
    );
}

#[test]
fn t70_a_change_to_a_file_deleted_elsewhere_brings_it_back() {
    let p = pair();
    fs::create_dir(p.a.path("dir")).expect("mkdir");
    shared(&p, "dir/keep.txt", b"before\n");
    let fa = open_rw(&p.a.path("dir/keep.txt"));
    fs::remove_file(p.b.path("dir/keep.txt")).expect("delete on b");
    fa.write_all_at(b"after, written on a\n", 0)
        .expect("write on a");
    drop(fa);
    let want = b"after, written on a\n";
    wait_for_bytes(&p.a.path("dir/keep.txt"), want);
    wait_for_bytes(&p.b.path("dir/keep.txt"), want);
    let out = conflicts_json(p.d.1.data.path());
    assert!(
        out.contains("/dir/keep.txt") && out.contains("resurrect"),
        "{out}"
    );
}

#[test]
fn t80_an_edit_follows_a_file_renamed_elsewhere() {
    let p = pair();
    shared(&p, "old.txt", b"draft\n");
    let fa = open_rw(&p.a.path("old.txt"));
    fs::rename(p.b.path("old.txt"), p.b.path("new.txt")).expect("rename on b");
    fa.write_all_at(b"final\n", 0).expect("write on a");
    drop(fa);
    wait_for_bytes(&p.b.path("new.txt"), b"final\n");
    wait_for_bytes(&p.a.path("new.txt"), b"final\n");
    assert!(!p.a.path("old.txt").exists() && !p.b.path("old.txt").exists());
}
