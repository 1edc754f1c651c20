#!/usr/bin/env bash
# Encryption at rest against the same directory unencrypted, in one run:
# a private network of 3 storage peers (`fragfs node`, joined with
# tickets) on 127.0.0.1, user alice owning group team, /enc shared with
# team encrypted and /plain shared with team --plain, one `fragfs-mountd`
# acting for alice (--no-store, 3 replicas). For each directory:
#   1. sequential write of SEAL_SIZE, bs=1M, fsync at the end
#   2. sequential read of it, cold (mount restarted, page cache dropped)
# then a table with the encrypted ÷ plain ratio (the target: at least
# 0.85), beside the raw AES-256-GCM-SIV speed of one core (`fragfs-seal`'s
# aead_speed example).
#   benches/seal.sh                 # 1 GiB
#   SEAL_SIZE=128M benches/seal.sh  # a quick check
# Knobs: SEAL_SIZE (1G), SEAL_KEEP=1 (keep the temporary directory).
# Needs /dev/fuse, fio and python3; run as root (page cache drop). Only
# loopback is used.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${SEAL_SIZE:-1G}
KEEP=${SEAL_KEEP:-0}
JOB_TIMEOUT=900
say() { printf '%s\n' "$*"; }
die() { printf 'benches/seal.sh: %s\n' "$*" >&2; exit 1; }
[[ $SIZE =~ ^[0-9]+[KMGkmg]?$ ]] || die "SEAL_SIZE is a size such as 128M or 1G"
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"
command -v fio >/dev/null || die "fio is missing (apt-get install -y fio)"

cargo build -q --bin fragfs --bin fragfs-mountd
AEAD=$(cargo run -q -p fragfs-seal --example aead_speed 2>/dev/null | tail -n 1)
FRAGFS=$PWD/target/debug/fragfs
MOUNTD=$PWD/target/debug/fragfs-mountd

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fragfs-seal.XXXXXX")
MNT=$WORK/mnt
OUT=$WORK/out
mkdir -p "$MNT" "$OUT"
NODE_PIDS=()
MOUNT_PID=
BOOT=
export XDG_CONFIG_HOME=$WORK/alice
unset FRAGFS_USER FRAGFS_PASSPHRASE
. benches/lib.sh

node() { # name [args…]
    local name=$1 log=$WORK/$1.log
    shift
    "$FRAGFS" --data "$WORK/$name" node --listen /ip4/127.0.0.1/tcp/0 --no-mdns "$@" >"$log" 2>&1 &
    NODE_PIDS+=($!)
    wait_for_line "$!" "$log" 'listening on /ip4/127.0.0.1/tcp/' || die "peer $name did not start"
}
ticket() { "$FRAGFS" --data "$WORK/a" invite --role "$1" 2>/dev/null | tail -n 1; }
fr() { "$FRAGFS" --data "$WORK/a" "$@" >/dev/null; }

node a
node b --join "$(ticket storage)"
node c --join "$(ticket storage)"
fr user add alice
fr group create team
fr mkdir /enc /plain
fr share /enc team
fr share /plain team --plain

mount_alice() {
    local log=$WORK/mountd.$RANDOM.log i
    "$MOUNTD" --data "$WORK/m" --listen /ip4/127.0.0.1/tcp/0 --no-mdns \
        --join "$(ticket client)" --replicas 3 --no-store "$MNT" >"$log" 2>&1 &
    MOUNT_PID=$!
    wait_for_line "$MOUNT_PID" "$log" '^mounted at ' || die "the mount did not start"
    for ((i = 0; i < 150; i++)); do
        (($(storage_peers) >= 3)) && return 0
        sleep 0.2
    done
    die "the mount sees $(storage_peers) storage peer(s) after 30 s; 3 needed"
}
stop_mount() {
    [[ -n $MOUNT_PID ]] && stop_pid "$MOUNT_PID"
    MOUNT_PID=
    unmount_path "$MNT"
    rm -rf "$WORK/m"
}

# fio job $1 in directory $2, direction $3 (write|read): prints MB/s.
job() {
    local args=(--thread --output-format=json --output="$OUT/$1.json" --name="$1"
        --ioengine=psync --directory="$2" --filename=seq.dat --bs=1M --size="$SIZE")
    case $3 in
    write) args+=(--rw=write --end_fsync=1) ;;
    read) args+=(--rw=read) ;;
    esac
    timeout --foreground --kill-after=30 "$JOB_TIMEOUT" fio "${args[@]}" 2>"$OUT/$1.err" ||
        { tail -n 3 "$OUT/$1.err" >&2; echo "failed"; return 0; }
    python3 - "$OUT/$1.json" "$3" <<'PY'
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("{"):])["jobs"][0][sys.argv[2]]
print(f'{d["bw_bytes"] / 1e6:.1f}')
PY
}

declare -A W R
for d in plain enc; do
    mount_alice
    say "sequential write of $SIZE in /$d …"
    W[$d]=$(job "write-$d" "$MNT/$d" write)
    stop_mount
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || say "page cache NOT dropped (needs root)"
    mount_alice
    say "cold sequential read of /$d …"
    R[$d]=$(job "read-$d" "$MNT/$d" read)
    stop_mount
done

ratio() { python3 -c "import sys; a,b=sys.argv[1:]; print(f'{float(a)/float(b):.2f}' if b not in ('0','failed') and a!='failed' else '-')" "$1" "$2"; }
say ""
say "fragfs encryption at rest, $SIZE, 3 storage peers, R=3, $(date -u +%F)"
printf '| %-34s | %10s | %10s | %10s |\n' "job (MB/s)" "plain" "encrypted" "enc÷plain"
printf '|%s|%s|%s|%s|\n' "------------------------------------" "------------" "------------" "------------"
printf '| %-34s | %10s | %10s | %10s |\n' "seq write, fsync at end" "${W[plain]}" "${W[enc]}" "$(ratio "${W[enc]}" "${W[plain]}")"
printf '| %-34s | %10s | %10s | %10s |\n' "cold seq read" "${R[plain]}" "${R[enc]}" "$(ratio "${R[enc]}" "${R[plain]}")"
say "raw AEAD on one core: $AEAD"
