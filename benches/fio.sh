#!/usr/bin/env bash
# fio on a fragfs mount beside the local disk, in one run: 3 storage peers
# (`fragfs node`) on 127.0.0.1 and a `fragfs-mountd` joined to them with 3
# replicas; the same jobs on the mount and on a directory of the local disk:
#   1. sequential write of FIO_SIZE, bs=1M, fsync at the end (end_fsync=1)
#   2. sequential read of it, cold (mount daemon restarted, page cache dropped)
#   3. 4 KiB random reads at queue depth 1 (psync), warm (after one full pass)
#   4. creation of FIO_FILES files of 4 KiB (create, write, close)
# then a table: fragfs, local disk, ratio, and the target for a 2-core box.
#   benches/fio.sh                        # 1 GiB
#   FIO_SIZE=64M benches/fio.sh           # a quick check
# Knobs: FIO_SIZE (1G), FIO_RUNTIME (12: seconds of random reads),
# FIO_FILES (10000), FIO_TIMEOUT (900: seconds before one job is abandoned),
# FIO_KEEP=1 (keep the temporary directory and its logs).
# Needs /dev/fuse, fio and python3; run as root so the page cache can be
# dropped (fio is installed with apt-get when missing and root).
# Only loopback is used. A failed job is reported and the run goes on.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${FIO_SIZE:-1G}
RUNTIME=${FIO_RUNTIME:-12}
NFILES=${FIO_FILES:-10000}
JOB_TIMEOUT=${FIO_TIMEOUT:-900}
KEEP=${FIO_KEEP:-0}

say() { printf '%s\n' "$*"; }
die() { printf 'benches/fio.sh: %s\n' "$*" >&2; exit 1; }

[[ $RUNTIME =~ ^[0-9]+$ && $NFILES =~ ^[0-9]+$ && $JOB_TIMEOUT =~ ^[0-9]+$ ]] ||
    die "FIO_RUNTIME, FIO_FILES and FIO_TIMEOUT are whole numbers"
[[ $SIZE =~ ^[0-9]+[KMGkmg]?$ ]] || die "FIO_SIZE is a size such as 64M or 1G"
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"
command -v python3 >/dev/null || die "python3 is missing"
if ! command -v fio >/dev/null; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq fio >/dev/null ||
            { apt-get update -qq && apt-get install -y -qq fio >/dev/null; }
    fi
    command -v fio >/dev/null || die "fio is missing (apt-get install -y fio)"
fi

cargo build -q --bin fragfs --bin fragfs-mountd
FRAGFS=$PWD/target/debug/fragfs
MOUNTD=$PWD/target/debug/fragfs-mountd

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fragfs-fio.XXXXXX")
MNT=$WORK/mnt
LOCAL=$WORK/local
OUT=$WORK/out
mkdir -p "$MNT" "$LOCAL" "$OUT"
NODE_PIDS=()
MOUNT_PID=
MOUNTS=0
BOOT=

# ---- processes ----
. benches/lib.sh # (the working directory is the repository)

KEPT_NOTE=" (logs: $WORK/*.log, fio output: $OUT)"

# Starts the mount daemon (a new process: empty fragment cache) and waits
# until it is mounted and sees the 3 storage peers. Sets MOUNT_OK.
MOUNT_OK=0
start_mount() {
    local log=$WORK/mountd.$MOUNTS.log i
    MOUNTS=$((MOUNTS + 1))
    MOUNT_OK=0
    "$MOUNTD" --data "$WORK/m" --listen /ip4/127.0.0.1/tcp/0 --no-mdns \
        --peer "$BOOT" --replicas 3 --no-store --hash "$HASH" "$MNT" >"$log" 2>&1 &
    MOUNT_PID=$!
    wait_for_line "$MOUNT_PID" "$log" '^mounted at ' || return 1
    for ((i = 0; i < 150; i++)); do
        if (($(storage_peers) >= 3)); then
            MOUNT_OK=1
            return 0
        fi
        sleep 0.2
    done
    say "the mount sees $(storage_peers) storage peer(s) after 30 s; 3 needed" >&2
    return 1
}

stop_mount() {
    [[ -n $MOUNT_PID ]] && stop_pid "$MOUNT_PID"
    MOUNT_PID=
    unmount_path "$MNT"
}

CACHE_NOTE=
drop_caches() {
    sync
    if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
        CACHE_NOTE="page cache NOT dropped (needs root): cold reads may be warm"
    fi
}

# ---- jobs ----

declare -A FR LO NOTE
fail() { # job where message
    NOTE[$1]+="${NOTE[$1]:+; }$2 failed: $3"
    say "  FAILED on $2: $3"
}

# fio with JSON output into $OUT/$1.json; prints a failure's stderr tail.
run_fio() {
    local name=$1 rc=0
    shift
    # --thread: one process, so the timeout stops every job with it;
    # --foreground: Ctrl-C reaches fio.
    timeout --foreground --kill-after=30 "$JOB_TIMEOUT" fio --thread --output-format=json \
        --output="$OUT/$name.json" --name="$name" --ioengine=psync "$@" 2>"$OUT/$name.err" || rc=$?
    if ((rc != 0)); then
        tail -n 3 "$OUT/$name.err" | sed 's/^/    fio: /' >&2
    fi
    return "$rc"
}

# How a job's exit status reads in the report.
exit_text() {
    case $1 in
    124 | 137) echo "timed out after $JOB_TIMEOUT s (FIO_TIMEOUT)" ;;
    *) echo "exit $1" ;;
    esac
}

# From fio's JSON file $1, direction $2 (read/write): prints
# "MB/s IOPS clat-p50-ms clat-p99-ms" (MB = 10^6 bytes); fails on a job error.
fio_result() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
job = json.loads(text[text.index("{"):])["jobs"][0]
if job.get("error"):
    sys.exit(f"fio error {job['error']}")
d = job[sys.argv[2]]
if d["io_bytes"] == 0:
    sys.exit("no bytes moved")
pct = d.get("clat_ns", {}).get("percentile", {})
p = lambda k: pct.get(k, 0) / 1e6
print(f'{d["bw_bytes"] / 1e6:.1f} {d["iops"]:.0f} {p("50.000000"):.3f} {p("99.000000"):.3f}')
EOF
}

# record JOB WHERE FIELD NAME DIRECTION: keeps field 1 (MB/s) or 2 (IOPS) of
# fio run NAME as the figure of JOB on WHERE (fragfs|local).
record() {
    local job=$1 where=$2 field=$3 name=$4 r bw iops p50 p99 v
    if r=$(fio_result "$OUT/$name.json" "$5" 2>&1); then
        read -r bw iops p50 p99 <<<"$r"
        if ((field == 1)); then v=$bw; else v=$iops; fi
        if [[ $where == fragfs ]]; then FR[$job]=$v; else LO[$job]=$v; fi
        say "  $where: $bw MB/s, $iops IOPS, clat p50 $p50 ms, p99 $p99 ms"
    else
        fail "$job" "$where" "$r"
    fi
}

seq_write() { # where dir
    local name=seqwrite-$1
    if run_fio "$name" --directory="$2" --filename=seq.dat --rw=write --bs=1M \
        --size="$SIZE" --end_fsync=1; then
        record seqwrite "$1" 1 "$name" write
    else
        fail seqwrite "$1" "fio $(exit_text $?)"
    fi
}

seq_read_cold() {
    local name=seqread-$1
    if run_fio "$name" --directory="$2" --filename=seq.dat --rw=read --bs=1M --size="$SIZE"; then
        record seqread "$1" 1 "$name" read
    else
        fail seqread "$1" "fio $(exit_text $?)"
    fi
}

rand_read_warm() {
    local name=randread-$1
    if ! run_fio "warmup-$1" --directory="$2" --filename=seq.dat --rw=read --bs=1M \
        --size="$SIZE" --invalidate=0; then
        fail randread "$1" "warm-up pass: fio $(exit_text $?)"
        return 0
    fi
    local w
    w=$(fio_result "$OUT/warmup-$1.json" read 2>/dev/null) && say "  $1 warm-up pass (sequential, 1M): ${w%% *} MB/s"
    if run_fio "$name" --directory="$2" --filename=seq.dat --rw=randread --bs=4k \
        --iodepth=1 --size="$SIZE" --invalidate=0 --time_based --runtime="$RUNTIME"; then
        record randread "$1" 2 "$name" read
    else
        fail randread "$1" "fio $(exit_text $?)"
    fi
}

# Creates $NFILES files of 4 KiB (O_CREAT|O_EXCL, one write, close) in a new
# directory, then one syncfs; prints "files/s p50-ms p99-ms seconds
# first-tenth-files/s last-tenth-files/s" (does a growing directory slow it).
small_files() {
    local r rc=0
    r=$(timeout --foreground --kill-after=30 "$JOB_TIMEOUT" python3 - "$2/small" "$NFILES" <<'EOF' 2>&1
import ctypes, os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
os.mkdir(d)
buf = os.urandom(4096)
lat = []
t0 = time.monotonic()
for i in range(n):
    t = time.monotonic()
    fd = os.open(f"{d}/f{i:06d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if os.write(fd, buf) != len(buf):
            sys.exit(f"short write on file {i}")
    finally:
        os.close(fd)
    lat.append(time.monotonic() - t)
fd = os.open(d, os.O_RDONLY)
ctypes.CDLL(None).syncfs(fd)
os.close(fd)
el = time.monotonic() - t0
tenth = max(1, n // 10)
first, last = tenth / sum(lat[:tenth]), tenth / sum(lat[-tenth:])
lat.sort()
print(f"{n / el:.0f} {lat[len(lat) // 2] * 1e3:.3f} {lat[min(len(lat) - 1, len(lat) * 99 // 100)] * 1e3:.3f} {el:.1f} {first:.0f} {last:.0f}")
EOF
    ) || rc=$?
    if ((rc != 0)); then
        fail smallfiles "$1" "$(exit_text "$rc")${r:+: $(tail -n 1 <<<"$r")}"
        return 0
    fi
    local fps p50 p99 el first last
    read -r fps p50 p99 el first last <<<"$r"
    if [[ $1 == fragfs ]]; then FR[smallfiles]=$fps; else LO[smallfiles]=$fps; fi
    say "  $1: $fps files/s ($el s), per file p50 $p50 ms, p99 $p99 ms; first tenth $first/s, last tenth $last/s"
}

# Bytes of fragments each storage peer holds after the write: about 3x the
# file in total when every fragment has its 3 copies.
store_use() {
    local d used=()
    for d in a b c m; do
        used+=("$("$FRAGFS" --data "$WORK/$d" status --json 2>/dev/null |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["store"]["used"])' 2>/dev/null ||
            echo 0)")
    done
    python3 - "$SIZE_BYTES" "${used[@]}" <<'PY'
import sys
size, *u = [int(x) for x in sys.argv[1:]]
peers = "/".join(f"{x / 1e6:.0f}" for x in u[:3])
print(f"  fragments stored: peers a/b/c {peers} MB, the mount's node {u[3] / 1e6:.0f} MB; {sum(u) / size:.2f}x the file")
PY
}

SIZE_BYTES=$(python3 -c '
import sys
s = sys.argv[1].upper()
m = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
print(int(s[:-1]) * m[s[-1]] if s[-1] in m else int(s))' "$SIZE")

HASH=${FIO_HASH:-blake3}

# ---- the run ----

say "fragfs fio bench: $SIZE file, 3 storage peers + fragfs-mountd on 127.0.0.1, R=3"
say "machine: $(nproc) cores, $(uname -r); local disk: $(df -T "$LOCAL" | awk 'NR == 2 {print $2 " on " $1}')"
say "build: dev profile (dependencies optimised), $(fio --version)"
say "fragment ids: $HASH (FIO_HASH=sha3-256 for the default); whole-file SHA3-256 on sequential writes"
say "the mount stores nothing itself (--no-store): every fragment has its 3 copies on the 3 peers"

start_node a
BOOT=$(grep -m1 -o '/ip4/127\.0\.0\.1/tcp/[0-9]*/p2p/[A-Za-z0-9]*' "$WORK/a.log")
start_node b
start_node c
start_mount || die "the mount did not start"
say "peers up: a (metadata voter) $BOOT, b, c; mount at $MNT"
say

say "1. sequential write, $SIZE, bs=1M, end_fsync=1"
seq_write fragfs "$MNT"
say "  mount daemon peak RSS: $(awk '/^VmHWM/ {printf "%.0f MB", $2 * 1024 / 1e6}' "/proc/$MOUNT_PID/status" 2>/dev/null || echo '?')"
seq_write local "$LOCAL"
store_use

say "2. sequential read, $SIZE, bs=1M, cold (mount daemon restarted, page cache dropped)"
stop_mount
if start_mount; then
    drop_caches
    seq_read_cold fragfs "$MNT"
else
    fail seqread fragfs "the mount daemon did not restart; no further fragfs jobs"
fi
drop_caches
seq_read_cold local "$LOCAL"
[[ -n $CACHE_NOTE ]] && say "  note: $CACHE_NOTE"

say "3. random read, 4 KiB, QD1 (psync), warm (one sequential pass first), ${RUNTIME} s"
if ((MOUNT_OK)); then rand_read_warm fragfs "$MNT"; else fail randread fragfs "no mount"; fi
rand_read_warm local "$LOCAL"

say "4. create $NFILES files of 4 KiB (create, write, close; one syncfs at the end)"
if ((MOUNT_OK)); then small_files fragfs "$MNT"; else fail smallfiles fragfs "no mount"; fi
small_files local "$LOCAL"

if [[ -n $MOUNT_PID ]] && ! alive "$MOUNT_PID"; then
    say "the mount daemon (pid $MOUNT_PID) stopped during the run"
fi
for log in "$WORK"/mountd.*.log; do
    warns=$(plain_log "$log" | grep -cE ' (WARN|ERROR) ' || true)
    if ((warns > 0)); then
        say "$(basename "$log"): $warns warning/error line(s), the last ones:"
        plain_log "$log" | grep -E ' (WARN|ERROR) ' | tail -n 5 | cut -c1-240 | sed 's/^/  /'
    fi
done

say
printf '%-36s %14s %14s %9s   %-18s %s\n' job fragfs "local disk" ratio "target (fragfs)" ""
row() { # job label unit target
    local job=$1 label=$2 unit=$3 target=$4 f=${FR[$1]:-} l=${LO[$1]:-} ratio=- mark
    if [[ -n $f && -n $l ]]; then
        ratio=$(python3 -c "import sys; l = float(sys.argv[2]); print(f'{float(sys.argv[1]) / l:.3g}' if l else '-')" "$f" "$l")
    fi
    if [[ -z $f ]]; then
        mark="FAILED"
    elif python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$f" "$target"; then
        mark="met"
    else
        mark="not met"
    fi
    printf '%-36s %14s %14s %9s   %-18s %s\n' "$label" "${f:-FAILED} ${f:+$unit}" "${l:-FAILED} ${l:+$unit}" \
        "$ratio" ">= $target $unit" "$mark"
    [[ -n ${NOTE[$job]:-} ]] && say "    ${NOTE[$job]}"
    return 0
}
row seqwrite "seq write $SIZE, 1M, end_fsync" MB/s 280
row seqread "seq read $SIZE, 1M, cold" MB/s 550
row randread "rand read 4K, QD1, warm" IOPS 10000
row smallfiles "create $NFILES x 4 KiB files" files/s 500
say "(MB = 10^6 bytes; ratio = fragfs / local disk)"
