#!/usr/bin/env bash
# Resident memory of a mount under a long mixed workload: 3 storage peers
# (`fragfs node`) on 127.0.0.1 and a `fragfs-mountd` joined to them with 3
# replicas and a fragment cache of MEM_CACHE; then, for MEM_MINUTES, rounds
# of: large files written and read back (sequential and at random offsets),
# a directory tree of many small files created, listed, renamed and
# deleted, all at once. Every second the daemon's VmRSS and VmHWM
# (/proc/PID/status) are sampled; the report prints the peak against the
# cap: cache size + 128 MiB (the margin documented in mountd/DESIGN.md).
#   benches/memory.sh                       # 5 minutes, 512 MiB cache
#   MEM_MINUTES=1 MEM_CACHE=32M benches/memory.sh
# Knobs: MEM_MINUTES (5), MEM_CACHE (512M), MEM_BIG (256M: size of each
# large file), MEM_WRITERS (8: large files written at once), MEM_FILES
# (2000: files per tree), MEM_KEEP=1 (keep the
# temporary directory and its logs). Exit status 1 when the peak is over
# the cap. Needs /dev/fuse and python3. Only loopback is used.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${MEM_MINUTES:-5}
CACHE=${MEM_CACHE:-512M}
BIG=${MEM_BIG:-256M}
NFILES=${MEM_FILES:-2000}
WRITERS=${MEM_WRITERS:-8}
KEEP=${MEM_KEEP:-0}
MARGIN_MIB=128

say() { printf '%s\n' "$*"; }
die() { printf 'benches/memory.sh: %s\n' "$*" >&2; exit 2; }

[[ $MINUTES =~ ^[0-9]+$ && $NFILES =~ ^[0-9]+$ && $WRITERS =~ ^[1-9][0-9]*$ ]] ||
    die "MEM_MINUTES, MEM_FILES and MEM_WRITERS are whole numbers"
[[ $CACHE =~ ^[0-9]+[KMG]$ && $BIG =~ ^[0-9]+[KMG]$ ]] || die "MEM_CACHE and MEM_BIG are sizes such as 32M or 1G"
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"
command -v python3 >/dev/null || die "python3 is missing"

mib() { # 32M -> 32, 1G -> 1024, 512K -> 0
    local n=${1%?}
    case ${1: -1} in K) echo $((n / 1024)) ;; M) echo "$n" ;; G) echo $((n * 1024)) ;; esac
}
CACHE_MIB=$(mib "$CACHE")
BIG_MIB=$(mib "$BIG")
CAP_MIB=$((CACHE_MIB + MARGIN_MIB))

cargo build -q --bin fragfs --bin fragfs-mountd
FRAGFS=$PWD/target/debug/fragfs
MOUNTD=$PWD/target/debug/fragfs-mountd

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fragfs-mem.XXXXXX")
MNT=$WORK/mnt
mkdir -p "$MNT"
NODE_PIDS=()
LOAD_PIDS=()
MOUNT_PID=
SAMPLER=
BOOT=
. benches/lib.sh # (the working directory is the repository)

cleanup() {
    local rc=$? i p
    set +e
    trap - EXIT INT TERM
    for p in "${LOAD_PIDS[@]}" $SAMPLER; do stop_pid "$p"; done
    [[ -n $MOUNT_PID ]] && stop_pid "$MOUNT_PID"
    if mountpoint -q "$MNT" 2>/dev/null; then
        umount -l "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null
    fi
    for ((i = ${#NODE_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${NODE_PIDS[i]}"; done
    if mountpoint -q "$MNT" 2>/dev/null; then
        say "warning: $MNT still mounted; $WORK left in place" >&2
    elif [[ $KEEP == 1 ]]; then
        say "kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "3 storage peers on 127.0.0.1 and a mount (cache $CACHE, replicas 3)"
start_node p1
BOOT=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/p1.log" | grep -o '/ip4/127.0.0.1/tcp/[0-9]*/p2p/[A-Za-z0-9]*' | head -n 1)
[[ -n $BOOT ]] || die "no address of the first peer in its log"
start_node p2
start_node p3
"$MOUNTD" --data "$WORK/m" --listen /ip4/127.0.0.1/tcp/0 --no-mdns --peer "$BOOT" \
    --replicas 3 --no-store --cache-size "$CACHE" "$MNT" >"$WORK/mountd.log" 2>&1 &
MOUNT_PID=$!
wait_for_line "$MOUNT_PID" "$WORK/mountd.log" '^mounted at ' || die "the mount did not start"
for ((i = 0; i < 150; i++)); do
    (($(storage_peers) >= 3)) && break
    sleep 0.2
done

# ---- sampling ----

SAMPLES=$WORK/rss.tsv
sample() {
    local t=0
    while alive "$MOUNT_PID"; do
        awk -v t="$t" '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {print t "\t" r "\t" h}' \
            "/proc/$MOUNT_PID/status" >>"$SAMPLES" 2>/dev/null || break
        sleep 1
        t=$((t + 1))
    done
}
sample &
SAMPLER=$!

# ---- workload ----

DEADLINE=$((SECONDS + MINUTES * 60))

big_files() { # large files: written in parallel, read back, read at random, replaced
    local r=0 w sum
    while ((SECONDS < DEADLINE)); do
        for ((w = 1; w < WRITERS; w++)); do
            head -c "$((BIG_MIB << 20))" /dev/urandom >"$MNT/par.$w" &
        done
        sum=$(head -c "$((BIG_MIB << 20))" /dev/urandom | tee "$MNT/big.$r" | sha256sum)
        wait
        [[ $(sha256sum <"$MNT/big.$r") == "$sum" ]] || say "big.$r reads back differently" >&2
        python3 - "$MNT/big.$r" "$((BIG_MIB << 20))" <<'PY'
import os, random, sys
fd = os.open(sys.argv[1], os.O_RDWR)
size = int(sys.argv[2])
for _ in range(200):
    os.pread(fd, 65536, random.randrange(0, size))
for _ in range(20):
    os.pwrite(fd, os.urandom(4096), random.randrange(0, size))
os.close(fd)
PY
        rm -f "$MNT/big.$((r - 1))"
        r=$((r + 1))
    done
    rm -f "$MNT"/big.* "$MNT"/par.*
}

trees() { # many small files: created, listed, renamed, deleted
    local r=0
    while ((SECONDS < DEADLINE)); do
        python3 - "$MNT/tree.$r" "$NFILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, str(i % 20), str(i % 7))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%d" % i), "wb") as f:
        f.write(os.urandom(100 + i % 5000))
PY
        ls -lR "$MNT/tree.$r" >/dev/null
        mv "$MNT/tree.$r" "$MNT/moved.$r"
        for ((d = 0; d < 20; d++)); do mv "$MNT/moved.$r/$d" "$MNT/moved.$r/r$d"; done
        ls -lR "$MNT/moved.$r" >/dev/null
        rm -rf "$MNT/moved.$r"
        r=$((r + 1))
    done
}

say "mixed workload for $MINUTES minute(s): $WRITERS writers of $BIG files, trees of $NFILES files"
big_files &
LOAD_PIDS+=($!)
trees &
LOAD_PIDS+=($!)
for p in "${LOAD_PIDS[@]}"; do wait "$p" || say "a workload failed (status $?)" >&2; done
LOAD_PIDS=()

# ---- report ----

read -r PEAK_KIB LAST_KIB HWM_KIB < <(awk '$2 > p {p = $2} {l = $2; h = $3} END {print p + 0, l + 0, h + 0}' "$SAMPLES")
N=$(wc -l <"$SAMPLES")
say ""
say "samples: $N (1/s)"
say "peak VmRSS: $((PEAK_KIB / 1024)) MiB; VmHWM: $((HWM_KIB / 1024)) MiB; at the end: $((LAST_KIB / 1024)) MiB"
say "cap: cache $CACHE_MIB MiB + margin $MARGIN_MIB MiB = $CAP_MIB MiB"
if ((HWM_KIB / 1024 > CAP_MIB)); then
    say "OVER the cap by $((HWM_KIB / 1024 - CAP_MIB)) MiB"
    exit 1
fi
say "within the cap ($((CAP_MIB - HWM_KIB / 1024)) MiB to spare)"
