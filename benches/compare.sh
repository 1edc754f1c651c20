#!/usr/bin/env bash
# fragfs beside the systems a user would pick instead, in one run: the job
# set of ../shared/anchors/bench.sh (seq write and cold read, 4 KiB random
# reads at QD1 and QD16, 10,000 × 4 KiB creates, cold small-file reads,
# `ls -lR`, `rm -rf`, fs_mark) on
#   local    a directory of the local disk,
#   fragfs   3 storage peers (`fragfs node`) and a `fragfs-mountd` joined
#            to them with --no-store and 3 replicas (cold phases restart
#            the mount daemon: an empty fragment cache),
#   gluster  GlusterFS replica 3 (../shared/anchors/setup_gluster.sh),
#   moosefs  MooseFS with three chunkservers, goal 3 (setup_moosefs.sh),
# one after another, then one table (../shared/anchors/make_table.py) and
# each fragfs figure's ratio to the best anchor's.
#   benches/compare.sh                                  # the whole run
#   COMPARE_SYSTEMS="local fragfs" SIZE=64M NFILES=500 RR_RUNTIME=3 \
#       benches/compare.sh                              # a quick check
# Knobs: COMPARE_SYSTEMS (local fragfs gluster moosefs), COMPARE_HASH
# (blake3: fragment ids), COMPARE_KEEP=1 (keep the work directory), and
# bench.sh's own: SIZE (1G), NFILES (10000), RR_RUNTIME (20), FSMARK (1).
# Run as root on an otherwise idle machine; loopback only. The anchors'
# setup scripts install their Debian packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEMS=${COMPARE_SYSTEMS:-local fragfs gluster moosefs}
HASH=${COMPARE_HASH:-blake3}
KEEP=${COMPARE_KEEP:-0}
ANCHORS=$(cd ../shared/anchors 2>/dev/null && pwd) ||
    { echo "benches/compare.sh: ../shared/anchors is missing" >&2; exit 1; }
say() { printf '%s\n' "$*"; }
die() { printf 'benches/compare.sh: %s\n' "$*" >&2; exit 1; }
for s in $SYSTEMS; do
    [[ $s =~ ^(local|fragfs|gluster|moosefs)$ ]] || die "unknown system $s"
done
[[ $EUID -eq 0 ]] || die "run as root (caches are dropped, anchors mounted)"
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"

cargo build -q --bin fragfs --bin fragfs-mountd
export FRAGFS=$PWD/target/debug/fragfs MOUNTD=$PWD/target/debug/fragfs-mountd HASH
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fragfs-compare.XXXXXX")
export WORK MNT=$WORK/mnt PEERS=$WORK/anchors
mkdir -p "$MNT" "$WORK/local" "$PEERS"
# The anchors' daemons run as their own users (MooseFS as mfs).
chmod 755 "$WORK" "$PEERS"
NODE_PIDS=()
MOUNT_PID=
BOOT=
KEPT_NOTE=" (results: $PEERS/results)"
ANCHORS_UP=()

. benches/lib.sh # start_node, storage_peers, unmount_path, cleanup

# The mount daemon, started (again) from a `bash -c` of bench.sh's
# REMOUNT_CMD too: its pid goes to $WORK/mount.pid, which the cleanup
# reads. Waits until it is mounted and sees the 3 storage peers.
fragfs_mount() {
    local pid log=$WORK/mountd.log i
    if [[ -s $WORK/mount.pid ]]; then
        stop_pid "$(cat "$WORK/mount.pid")"
        unmount_path "$MNT"
    fi
    "$MOUNTD" --data "$WORK/m" --listen /ip4/127.0.0.1/tcp/0 --no-mdns \
        --peer "$BOOT" --replicas 3 --no-store --hash "$HASH" "$MNT" >>"$log" 2>&1 &
    echo $! >"$WORK/mount.pid"
    for ((i = 0; i < 300; i++)); do
        if mountpoint -q "$MNT" && (($(storage_peers) >= 3)); then return 0; fi
        sleep 0.2
    done
    echo "the fragfs mount did not come up (log: $log)" >&2
    return 1
}
export -f fragfs_mount storage_peers stop_pid alive unmount_path say
export BOOT

compare_cleanup() {
    local a
    set +e
    [[ -s $WORK/mount.pid ]] && MOUNT_PID=$(cat "$WORK/mount.pid")
    for a in "${ANCHORS_UP[@]}"; do "$ANCHORS/$a" down >/dev/null 2>&1; done
    cleanup
}
trap compare_cleanup EXIT
trap 'exit 130' INT TERM

run_fragfs() {
    local i
    start_node p0
    BOOT=$(grep -o '/ip4/127.0.0.1/tcp/[0-9]*/p2p/[A-Za-z0-9]*' "$WORK/p0.log" | head -n 1)
    export BOOT
    for i in 1 2; do start_node "p$i"; done
    fragfs_mount || die "the fragfs mount did not come up"
    REMOUNT_CMD=fragfs_mount "$ANCHORS/bench.sh" fragfs "$MNT"
    tree_steps fragfs "$MNT"
    fragfs_extras
}

# What only fragfs is asked for: the mount daemon's peak memory while
# writing 1 GiB (VmHWM of a fresh daemon, beside its cache size), and the
# first byte of that file, cold (a fresh daemon, caches dropped).
fragfs_extras() {
    local pid hwm
    fragfs_mount || die "the fragfs mount did not come up"
    pid=$(cat "$WORK/mount.pid")
    head -c 1G /dev/urandom >"$WORK/one-gib"
    cp "$WORK/one-gib" "$MNT/one-gib"
    sync "$MNT/one-gib"
    hwm=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
    say "fragfs: peak memory writing 1 GiB: $hwm MiB (cache 512 MiB: target at most 640 MiB)"
    printf 'fragfs\tpeak MiB writing 1 GiB\t%s\n' "$hwm" >>"$TREE_OUT.extra"
    fragfs_mount || die "the fragfs mount did not come up"
    sync
    echo 3 >/proc/sys/vm/drop_caches
    python3 - "$MNT/one-gib" <<'PY' | tee -a "$TREE_OUT.extra"
import sys, time
t = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    f.read(1)
print(f"fragfs\tfirst byte of a cold 1 GiB file, ms\t{(time.perf_counter() - t) * 1000:.1f}")
PY
    cmp "$WORK/one-gib" "$MNT/one-gib" || die "the 1 GiB file read back differs"
    rm -f "$WORK/one-gib" "$MNT/one-gib"
}

run_gluster() {
    "$ANCHORS/setup_gluster.sh" up
    ANCHORS_UP+=(setup_gluster.sh)
    local m=$PEERS/mnt/gvr3
    REMOUNT_CMD="umount $m && mount -t glusterfs 127.0.0.1:/gvr3 $m" \
        "$ANCHORS/bench.sh" gluster_r3 "$m"
    tree_steps gluster_r3 "$m"
    "$ANCHORS/setup_gluster.sh" down
}

run_moosefs() {
    "$ANCHORS/setup_moosefs.sh" up
    ANCHORS_UP+=(setup_moosefs.sh)
    local m=$PEERS/mnt/mfs
    # Mounted again the way the setup script mounts it (with its loopback
    # shim): a bare mfsmount hangs the cold phases.
    REMOUNT_CMD="umount $m && $ANCHORS/setup_moosefs.sh up" \
        "$ANCHORS/bench.sh" moosefs_g3 "$m"
    tree_steps moosefs_g3 "$m"
    "$ANCHORS/setup_moosefs.sh" down
}

# The source tree of the tree steps: five crates' sources from the cargo
# registry (about 1,250 files and directories, 14 MB), one tarball for
# every system.
tree_tarball() {
    local reg crates=() c
    reg=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ | head -n 1)
    for c in fuser-0.18 openraft-0.9 redb-4 tokio-util-0.7 tokio-1.; do
        crates+=("$(cd "$reg" && ls -d "$c"* | head -n 1)")
    done
    tar -C "$reg" -cf "$WORK/tree.tar" "${crates[@]}"
    say "source tree: ${crates[*]} ($(tar -tf "$WORK/tree.tar" | wc -l) entries, $(du -m "$WORK/tree.tar" | cut -f1) MB)"
}
tree_tarball
TREE_OUT=$WORK/tree.tsv
tree_steps() { benches/tree_steps.sh "$1" "$2" "$WORK/tree.tar" "$TREE_OUT"; }

LABELS=()
for s in $SYSTEMS; do
    say "== $s"
    case $s in
    local)
        "$ANCHORS/bench.sh" local "$WORK/local"
        tree_steps local "$WORK/local"
        LABELS+=(local)
        ;;
    fragfs) run_fragfs; LABELS+=(fragfs) ;;
    gluster) run_gluster; LABELS+=(gluster_r3) ;;
    moosefs) run_moosefs; LABELS+=(moosefs_g3) ;;
    esac
done

say ""
say "fragfs ($HASH ids, 3 peers, R=3) beside the anchors, $(date -u +%F), in one run:"
python3 "$ANCHORS/make_table.py" "${LABELS[@]}"
python3 benches/compare_ratios.py "$PEERS/results" "${LABELS[@]}"
say ""
say "The source-tree steps, seconds (fragfs ÷ best anchor: above 1 is slower):"
python3 benches/tree_table.py "$TREE_OUT" "${LABELS[@]}"
[[ -s $TREE_OUT.extra ]] && { say ""; cat "$TREE_OUT.extra"; }
