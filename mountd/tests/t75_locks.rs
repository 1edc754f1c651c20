//! File locks across mounts: two `fragfs-mountd` processes on two nodes
//! sharing one namespace; each lock is taken by a process of its own
//! (python3's `fcntl.flock`/`fcntl.lockf`), `F_GETLK` by this test.

use crate::common;

use common::{wait_until, Dirs, Mount};
use std::{
    fs,
    io::{BufRead, BufReader, Write},
    os::fd::AsRawFd,
    path::Path,
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// Takes and drops locks on one file as told, one command per line:
/// `flock ex|sh|un nb|wait`, `lockf ex|sh|un nb|wait START LEN`, `close`.
/// Answers `ok` or `err ERRNO`.
const LOCKER: &str = r#"
import fcntl, sys
f = open(sys.argv[1], 'r+b')
print('ready', flush=True)
for line in sys.stdin:
    w = line.split()
    try:
        if w[0] == 'close':
            f.close()
        else:
            op = {'ex': fcntl.LOCK_EX, 'sh': fcntl.LOCK_SH, 'un': fcntl.LOCK_UN}[w[1]]
            if w[2] == 'nb' and w[1] != 'un':
                op |= fcntl.LOCK_NB
            if w[0] == 'flock':
                fcntl.flock(f, op)
            else:
                fcntl.lockf(f, op, int(w[4]), int(w[3]))
        print('ok', flush=True)
    except OSError as e:
        print('err', e.errno, flush=True)
    except Exception as e:
        print('error', e, flush=True)
"#;

const OK: &str = "ok";
/// What a lock that would block answers (EAGAIN = EWOULDBLOCK).
const BLOCKED: &str = "err 11";
const ANSWER: Duration = Duration::from_secs(30);

/// A process holding `path` open, locking as told. Dropping it kills it.
struct Locker {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: mpsc::Receiver<String>,
}

impl Locker {
    fn open(path: &Path) -> Locker {
        let mut child = Command::new("python3")
            .args(["-c", LOCKER])
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python3");
        let stdin = child.stdin.take();
        let out = child.stdout.take().expect("stdout");
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let l = Locker {
            child,
            stdin,
            answers,
        };
        assert_eq!(l.answer(ANSWER).as_deref(), Some("ready"), "locker opened");
        l
    }

    fn send(&mut self, cmd: &str) {
        let stdin = self.stdin.as_mut().expect("locker stdin");
        writeln!(stdin, "{cmd}").expect("write to the locker");
        stdin.flush().expect("flush to the locker");
    }

    fn answer(&self, wait: Duration) -> Option<String> {
        self.answers.recv_timeout(wait).ok()
    }

    fn ask(&mut self, cmd: &str) -> String {
        self.send(cmd);
        self.answer(ANSWER)
            .unwrap_or_else(|| panic!("no answer to {cmd:?} within {ANSWER:?}"))
    }

    /// SIGKILL: the process dies holding whatever it held.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Locker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `F_GETLK` from this process: (type, start, len, pid) of the lock in the
/// way of a write lock on `start..start+len`.
fn getlk(path: &Path, start: i64, len: i64) -> (i32, i64, i64, i32) {
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open for F_GETLK");
    // SAFETY: a zeroed flock is a valid value of the plain C struct.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as i16;
    fl.l_whence = libc::SEEK_SET as i16;
    fl.l_start = start;
    fl.l_len = len;
    // SAFETY: fcntl(F_GETLK) on an open fd with a valid flock pointer.
    let rc = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl) };
    assert_eq!(rc, 0, "F_GETLK: {}", std::io::Error::last_os_error());
    (i32::from(fl.l_type), fl.l_start, fl.l_len, fl.l_pid)
}

/// Two joined mounts and a file both see, created through `a`.
fn pair_with_file(extra: &[&str]) -> (Dirs, Dirs, Mount, Mount) {
    let (da, db) = (Dirs::new(), Dirs::new());
    let (a, b) = Mount::start_pair(&da, &db, extra);
    fs::write(a.path("f"), b"0123456789").expect("create through a");
    assert!(
        wait_until(Duration::from_secs(10), || b.path("f").exists()),
        "b sees the file"
    );
    (da, db, a, b)
}

#[test]
fn t10_flock_on_one_mount_excludes_the_other_and_a_waiter_gets_it_on_unlock() {
    let (_da, _db, a, b) = pair_with_file(&[]);
    let mut la = Locker::open(&a.path("f"));
    let mut lb = Locker::open(&b.path("f"));
    assert_eq!(la.ask("flock ex nb"), OK);
    assert_eq!(
        lb.ask("flock ex nb"),
        BLOCKED,
        "LOCK_NB on b while a holds it"
    );
    assert_eq!(lb.ask("flock sh nb"), BLOCKED, "shared is refused too");

    lb.send("flock ex wait");
    // It blocks while a holds the lock…
    assert_eq!(lb.answer(Duration::from_secs(1)), None, "b waits");
    assert_eq!(la.ask("flock un nb"), OK);
    // …and returns once a lets go.
    assert_eq!(lb.answer(ANSWER).as_deref(), Some(OK), "b got the lock");
    assert_eq!(la.ask("flock sh nb"), BLOCKED, "now b holds it");
    assert_eq!(lb.ask("flock sh nb"), OK, "b downgrades to shared");
    assert_eq!(la.ask("flock sh nb"), OK, "two shared holders");
}

#[test]
fn t20_fcntl_ranges_conflict_only_where_they_overlap_and_getlk_reports_the_holder() {
    let (_da, _db, a, b) = pair_with_file(&[]);
    let mut la = Locker::open(&a.path("f"));
    let mut lb = Locker::open(&b.path("f"));
    assert_eq!(la.ask("lockf ex nb 0 100"), OK);
    assert_eq!(
        lb.ask("lockf ex nb 50 100"),
        BLOCKED,
        "overlapping write locks"
    );
    assert_eq!(
        lb.ask("lockf sh nb 99 1"),
        BLOCKED,
        "a read lock on a's last byte"
    );
    assert_eq!(lb.ask("lockf ex nb 100 100"), OK, "disjoint write locks");

    // From b: a's lock (another machine's process: pid 0), and lb's own
    // (a process of this mount: its pid).
    assert_eq!(getlk(&b.path("f"), 10, 1), (libc::F_WRLCK, 0, 100, 0));
    let lb_pid = lb.child.id() as i32;
    assert_eq!(
        getlk(&b.path("f"), 150, 0),
        (libc::F_WRLCK, 100, 100, lb_pid)
    );
    assert_eq!(getlk(&a.path("f"), 200, 10).0, libc::F_UNLCK, "past both");

    // Unlocking the middle of a's range splits it: the hole is free, its
    // edges are not.
    assert_eq!(la.ask("lockf un nb 40 20"), OK);
    assert_eq!(lb.ask("lockf ex nb 40 20"), OK, "the hole");
    assert_eq!(lb.ask("lockf ex nb 39 1"), BLOCKED, "left of the hole");
    assert_eq!(lb.ask("lockf ex nb 60 1"), BLOCKED, "right of the hole");
    assert_eq!(getlk(&b.path("f"), 60, 1), (libc::F_WRLCK, 60, 40, 0));
}

#[test]
fn t30_closing_the_file_or_exiting_releases_the_locks() {
    let (_da, _db, a, b) = pair_with_file(&[]);
    let mut la = Locker::open(&a.path("f"));
    let mut lb = Locker::open(&b.path("f"));
    assert_eq!(la.ask("lockf ex nb 0 0"), OK, "the whole file");
    assert_eq!(lb.ask("lockf ex nb 5 1"), BLOCKED);
    // fcntl locks go with any close of the file by their process.
    assert_eq!(la.ask("close"), OK);
    assert_eq!(lb.ask("lockf ex nb 0 0"), OK, "free once a closed it");

    // A process killed while holding locks loses them: b's fcntl lock,
    // then a flock of another process of b.
    let mut la2 = Locker::open(&a.path("f"));
    assert_eq!(la2.ask("lockf ex nb 0 0"), BLOCKED);
    lb.kill();
    assert_eq!(la2.ask("lockf ex nb 0 0"), OK, "free once b's process died");
    // (flock and fcntl locks of one file exclude each other here.)
    assert_eq!(la2.ask("close"), OK);
    let mut lb2 = Locker::open(&b.path("f"));
    assert_eq!(lb2.ask("flock ex nb"), OK);
    let mut la3 = Locker::open(&a.path("f"));
    assert_eq!(la3.ask("flock ex nb"), BLOCKED);
    lb2.kill();
    // The kernel sends the release of a file description in the background.
    let freed = wait_until(Duration::from_secs(10), || la3.ask("flock ex nb") == OK);
    assert!(freed, "flock free once b's process died");
}

#[test]
fn t40_the_locks_of_a_killed_mount_expire_within_the_lease() {
    const LEASE: Duration = Duration::from_secs(5);
    let (_da, _db, a, b) = pair_with_file(&["--lock-lease", "5"]);
    fs::write(a.path("g"), b"g").expect("create through a");
    assert!(wait_until(Duration::from_secs(10), || b.path("g").exists()));
    let mut lb = Locker::open(&b.path("f"));
    assert_eq!(lb.ask("flock ex nb"), OK);
    let mut lb2 = Locker::open(&b.path("g"));
    assert_eq!(lb2.ask("lockf ex nb 0 0"), OK);
    // The lease is renewed while b lives: still held after two leases.
    let mut la = Locker::open(&a.path("f"));
    let mut la2 = Locker::open(&a.path("g"));
    std::thread::sleep(2 * LEASE);
    assert_eq!(la.ask("flock ex nb"), BLOCKED, "renewed while b lives");

    // b's mount dies without a word; its processes stay, holding the files.
    let killed = Instant::now();
    b.kill9();
    assert_eq!(
        la2.ask("lockf ex nb 0 0"),
        BLOCKED,
        "held until the lease ends"
    );
    let expired = wait_until(LEASE + Duration::from_secs(10), || {
        la.ask("flock ex nb") == OK
    });
    assert!(expired, "b's flock expired");
    assert_eq!(la2.ask("lockf ex nb 0 0"), OK, "b's fcntl lock expired too");
    let took = killed.elapsed();
    assert!(
        took >= LEASE - Duration::from_secs(2),
        "expired only after the lease: {took:?}"
    );
    drop((lb, lb2));
}

#[test]
fn t50_a_clean_unmount_drops_its_locks_at_once() {
    let (_da, _db, a, b) = pair_with_file(&["--lock-lease", "600"]);
    let mut lb = Locker::open(&b.path("f"));
    assert_eq!(lb.ask("flock ex nb"), OK);
    let mut la = Locker::open(&a.path("f"));
    assert_eq!(la.ask("flock ex nb"), BLOCKED);
    // SIGTERM detaches b while its process still holds the file open.
    let stopping = std::thread::spawn(move || b.stop());
    assert!(
        wait_until(Duration::from_secs(30), || la.ask("flock ex nb") == OK),
        "b's locks dropped at unmount, long before the 600 s lease"
    );
    lb.kill();
    let log = stopping.join().expect("b stopped");
    assert!(!log.contains("cannot drop this mount's locks"), "{log}");
}

#[test]
fn t60_a_waiter_killed_while_blocked_dies_and_takes_nothing() {
    let (_da, _db, a, b) = pair_with_file(&[]);
    let mut la = Locker::open(&a.path("f"));
    assert_eq!(la.ask("flock ex nb"), OK);
    let mut lb = Locker::open(&b.path("f"));
    lb.send("flock ex wait");
    assert_eq!(lb.answer(Duration::from_millis(500)), None, "b waits");
    // SIGKILL: the process must not stay stuck in the kernel's wait for
    // the lock request's answer.
    // SAFETY: kill(2) on the pid of a child this test started.
    unsafe { libc::kill(lb.child.id() as i32, libc::SIGKILL) };
    let died = wait_until(Duration::from_secs(10), || {
        matches!(lb.child.try_wait(), Ok(Some(_)))
    });
    assert!(died, "the blocked waiter died");
    // Its wait ended: once a lets go, the lock is free for anyone.
    assert_eq!(la.ask("flock un nb"), OK);
    let mut lb2 = Locker::open(&b.path("f"));
    // A wait still running would retry within 500 ms and take the lock:
    // give it twice that (nothing to await: the point is that nothing happens).
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lb2.ask("flock ex nb"), OK, "the dead waiter took nothing");
}
