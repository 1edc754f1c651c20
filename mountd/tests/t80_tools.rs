//! What ordinary tools set stays set, through a real mount: `cp -a` and
//! `tar -x` reproduce modes, owners and times; `sed -i` keeps the mode;
//! POSIX ACLs (`setfacl`/`getfacl`) grant and deny and are inherited; times
//! set on a file still open for writing survive its close; supplementary
//! groups count for chown; a non-owner's write clears setuid/setgid; fstat
//! of an open unlinked file works. Tests that act as other users need root
//! and are skipped without it.

use crate::common;
use common::*;
use std::{
    fs,
    io::{Read, Seek, SeekFrom, Write},
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::Path,
    process::Command,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

const USER: u32 = 4242;
const GROUP: u32 = 4343;

/// Runs `cmd`, failing the test with its stderr when it fails.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sh(script: &str, mnt: &Path) -> String {
    run(Command::new("sh").args(["-c", script]).env("M", mnt))
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
        .mode()
        & 0o7777
}

/// `stat` of every path under `root` (relative names, sorted): name, mode,
/// owner, group and modification time in nanoseconds.
fn tree_stat(root: &Path) -> String {
    run(Command::new("sh").arg("-c").arg(
        "cd \"$R\" && find . -mindepth 1 | LC_ALL=C sort | xargs -d '\\n' stat -c '%n %A %a %u %g %.9Y'",
    ).env("R", root))
}

/// A source tree on the local disk with varied modes, owners, a setgid
/// and a sticky directory, symlinks and old times.
fn source_tree(src: &Path) {
    sh(
        "set -e; cd \"$M\"
         mkdir -p d/sub sgid sticky
         printf 'hello\\n' > d/a; printf 'secret' > d/private; printf '#!/bin/sh\\n' > d/run
         printf 'ro' > sgid/ro; printf 'suid' > d/suid
         ln -s a d/link; ln -s ../d sgid/up
         chmod 0644 d/a; chmod 0600 d/private; chmod 0755 d/run; chmod 0444 sgid/ro
         chmod 4755 d/suid; chmod 2775 sgid; chmod 1777 sticky; chmod 0700 d/sub
         chown 4242:4343 d/a d/sub; chown 4242:4343 d/private; chown -h 4242:4343 d/link
         chown 0:4343 sgid sgid/ro; chmod 2775 sgid; chmod 4755 d/suid
         touch -h -d '2001-02-03 04:05:06.123456789' d/a d/private d/run sgid/ro d/suid d/link sgid/up
         touch -d '1999-12-31 23:59:59' d/sub sgid sticky d",
        src,
    );
}

#[test]
fn t10_cp_a_and_tar_x_reproduce_modes_owners_and_times() {
    if !is_root() {
        eprintln!("skipped: needs root to give files other owners");
        return;
    }
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let src = tempfile::tempdir().expect("source dir");
    source_tree(src.path());
    let want = tree_stat(src.path());
    assert!(want.contains("2775") && want.contains("4755") && want.contains("1777"));

    run(Command::new("cp")
        .arg("-a")
        .arg(src.path())
        .arg(m.path("cp")));
    assert_eq!(tree_stat(&m.path("cp")), want, "cp -a");

    fs::create_dir(m.path("tar")).expect("mkdir tar");
    run(Command::new("sh")
        .args([
            "-c",
            "set -e; tar -C \"$S\" --format=posix -cf - . | tar -C \"$M/tar\" -xpf -",
        ])
        .env("S", src.path())
        .env("M", &m.mnt));
    assert_eq!(tree_stat(&m.path("tar")), want, "tar -x");
}

#[test]
fn t20_sed_i_keeps_the_mode() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let f = m.path("conf");
    fs::write(&f, b"colour=red\n").expect("write");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).expect("chmod");
    run(Command::new("sed").args(["-i", "s/red/blue/"]).arg(&f));
    assert_eq!(fs::read(&f).expect("read"), b"colour=blue\n");
    assert_eq!(mode(&f), 0o644);
    fs::set_permissions(&f, fs::Permissions::from_mode(0o751)).expect("chmod");
    run(Command::new("sed").args(["-i", "s/blue/green/"]).arg(&f));
    assert_eq!(mode(&f), 0o751);
}

#[test]
fn t30_an_acl_entry_grants_and_denies_another_user() {
    if !is_root() {
        eprintln!("skipped: needs root to act as another user");
        return;
    }
    let d = Dirs::new();
    let m = Mount::start(&d, &["--allow-other"]);
    let f = m.path("secret");
    fs::write(&f, b"s3cret").expect("write");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).expect("chmod");
    let read = || as_user(USER, GROUP, &[], &m.mnt, "cat \"$M/secret\"");
    assert!(!read().status.success(), "0600 of root: denied");

    run(Command::new("setfacl").args(["-m", "u:4242:r"]).arg(&f));
    let out = read();
    assert!(out.status.success(), "granted by the ACL entry");
    assert_eq!(out.stdout, b"s3cret");
    // The mask shows as the group bits.
    assert_eq!(mode(&f), 0o640);
    let acl = run(Command::new("getfacl").args(["-cp"]).arg(&f));
    assert!(acl.contains("user:4242:r--"), "{acl}");
    assert!(acl.contains("mask::r--"), "{acl}");
    // cp -a carries the ACL over.
    run(Command::new("cp").arg("-a").arg(&f).arg(m.path("copy")));
    let copied = run(Command::new("getfacl").args(["-cp"]).arg(m.path("copy")));
    assert_eq!(copied, acl, "cp -a keeps the ACL");
    assert_eq!(mode(&m.path("copy")), 0o640);

    // chmod moves the mask: the entry stays but grants nothing.
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).expect("chmod");
    let acl = run(Command::new("getfacl").args(["-cp"]).arg(&f));
    assert!(acl.contains("mask::---"), "{acl}");
    assert!(!read().status.success(), "masked out: denied");

    // Removing every extended entry leaves the mode alone.
    run(Command::new("setfacl").arg("-b").arg(&f));
    let acl = run(Command::new("getfacl").args(["-cp"]).arg(&f));
    assert!(!acl.contains("4242"), "{acl}");
    assert_eq!(mode(&f), 0o600);
    assert!(!read().status.success(), "no entry: denied");

    // A group entry, on a directory: write access through it.
    let dir = m.path("drop");
    fs::create_dir(&dir).expect("mkdir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).expect("chmod");
    let put = |groups: &[u32]| as_user(USER, GROUP, groups, &m.mnt, "echo x > \"$M/drop/f\"");
    assert!(!put(&[4444]).status.success());
    run(Command::new("setfacl").args(["-m", "g:4444:rwx"]).arg(&dir));
    assert!(!put(&[]).status.success(), "not in the group");
    assert!(
        put(&[4444]).status.success(),
        "granted to a supplementary group"
    );
}

#[test]
fn t40_a_default_acl_is_inherited_and_replaces_the_umask() {
    if !is_root() {
        eprintln!("skipped: needs root to act as another user");
        return;
    }
    let d = Dirs::new();
    let m = Mount::start(&d, &["--allow-other"]);
    let dir = m.path("team");
    fs::create_dir(&dir).expect("mkdir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    run(Command::new("setfacl")
        .args(["-d", "-m", "u:4242:rwx"])
        .arg(&dir));

    sh(
        "set -e; umask 077; echo data > \"$M/team/f\"; mkdir \"$M/team/sub\"; echo y > \"$M/plain\"",
        &m.mnt,
    );
    // 0666 limited by the default ACL (not by the umask 077).
    assert_eq!(mode(&m.path("team/f")), 0o664);
    assert_eq!(mode(&m.path("team/sub")), 0o775);
    // Without a default ACL the umask applies.
    assert_eq!(mode(&m.path("plain")), 0o600);
    let acl = run(Command::new("getfacl").args(["-cp"]).arg(m.path("team/f")));
    assert!(acl.contains("user:4242:rwx\t#effective:rw-"), "{acl}");
    let sub = run(Command::new("getfacl")
        .args(["-cp"])
        .arg(m.path("team/sub")));
    assert!(sub.contains("default:user:4242:rwx"), "{sub}");
    assert!(sub.contains("\nuser:4242:rwx"), "{sub}");

    let out = as_user(USER, GROUP, &[], &m.mnt, "echo more >> \"$M/team/f\"");
    assert!(out.status.success(), "the inherited entry grants writing");
    assert_eq!(fs::read(m.path("team/f")).expect("read"), b"data\nmore\n");
}

#[test]
fn t50_times_set_while_open_for_writing_survive_the_close() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let f = m.path("f");
    let old = UNIX_EPOCH + Duration::new(981_173_106, 123_456_789);
    let mut file = fs::File::create(&f).expect("create");
    file.write_all(b"content").expect("write");
    file.set_times(fs::FileTimes::new().set_accessed(old).set_modified(old))
        .expect("futimens");
    drop(file);
    let md = fs::metadata(&f).expect("stat");
    assert_eq!(md.modified().expect("mtime"), old, "mtime after close");
    assert_eq!(fs::read(&f).expect("read"), b"content");

    // A later write moves it again.
    let mut file = fs::OpenOptions::new().append(true).open(&f).expect("open");
    file.write_all(b"!").expect("write");
    drop(file);
    let now = fs::metadata(&f).expect("stat").modified().expect("mtime");
    assert!(now > SystemTime::now() - Duration::from_secs(60), "{now:?}");
}

#[test]
fn t60_chown_to_a_supplementary_group_and_setgid_in_it() {
    if !is_root() {
        eprintln!("skipped: needs root to act as another user");
        return;
    }
    let d = Dirs::new();
    let m = Mount::start(&d, &["--allow-other"]);
    fs::set_permissions(&m.mnt, fs::Permissions::from_mode(0o777)).expect("chmod root");
    let out = as_user(
        USER,
        GROUP,
        &[4444, 4545],
        &m.mnt,
        "set -e; echo x > \"$M/f\"; chgrp 4545 \"$M/f\"; chmod 2755 \"$M/f\"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = fs::metadata(m.path("f")).expect("stat");
    assert_eq!((md.uid(), md.gid()), (USER, 4545));
    assert_eq!(
        md.mode() & 0o7777,
        0o2755,
        "setgid kept: the owner is in the group"
    );
    // A group the caller is not in is still refused.
    let out = as_user(USER, GROUP, &[4444], &m.mnt, "chgrp 4646 \"$M/f\"");
    assert!(!out.status.success());
    assert_eq!(fs::metadata(m.path("f")).expect("stat").gid(), 4545);
}

#[test]
fn t70_a_non_owner_write_clears_setuid_and_setgid() {
    if !is_root() {
        eprintln!("skipped: needs root to act as another user");
        return;
    }
    let d = Dirs::new();
    let m = Mount::start(&d, &["--allow-other"]);
    let f = m.path("tool");
    fs::write(&f, b"#!/bin/sh\n").expect("write");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o6777)).expect("chmod");
    assert_eq!(mode(&f), 0o6777);
    let out = as_user(USER, GROUP, &[], &m.mnt, "echo 'echo hi' >> \"$M/tool\"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&f), 0o777);
    assert_eq!(fs::read(&f).expect("read"), b"#!/bin/sh\necho hi\n");
    // The owner is untouched by the rule: still root's.
    assert_eq!(fs::metadata(&f).expect("stat").uid(), 0);
}

#[test]
fn t80_fstat_of_an_open_unlinked_file() {
    let d = Dirs::new();
    let m = Mount::start(&d, &[]);
    let f = m.path("tmp");
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&f)
        .expect("create");
    file.write_all(b"scratch data").expect("write");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).expect("chmod");
    fs::remove_file(&f).expect("unlink");
    assert!(!f.exists());
    let md = file.metadata().expect("fstat after unlink");
    assert_eq!(md.nlink(), 0);
    assert_eq!(md.len(), 12);
    assert_eq!(md.mode() & 0o7777, 0o640);
    file.write_all(b"!").expect("write after unlink");
    assert_eq!(file.metadata().expect("fstat").len(), 13);
    file.seek(SeekFrom::Start(0)).expect("seek");
    let mut back = Vec::new();
    file.read_to_end(&mut back).expect("read");
    assert_eq!(back, b"scratch data!");
    drop(file);
    assert!(fs::read_dir(&m.mnt).expect("root").next().is_none());
}
