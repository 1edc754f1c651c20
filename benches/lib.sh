# Shared by the bench scripts: processes started on the bench's behalf,
# stopped only by the pids this script holds. The caller defines say, die,
# WORK, FRAGFS, BOOT and NODE_PIDS before it sources this file.

plain_log() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }

alive() {
    local s
    s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $s != Z* ]]
}

# SIGTERM, up to 15 s to stop, then SIGKILL. Only children of this script.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 75; i++)); do
        alive "$pid" || break
        sleep 0.2
    done
    if alive "$pid"; then
        say "warning: process $pid did not stop after SIGTERM within 15 s; killed" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# Waits until log $2 of process $1 holds a line matching $3 (30 s); on
# failure prints the log's tail and returns 1.
wait_for_line() {
    local pid=$1 log=$2 pattern=$3 i
    for ((i = 0; i < 150; i++)); do
        grep -q -- "$pattern" "$log" 2>/dev/null && return 0
        alive "$pid" || break
        sleep 0.2
    done
    plain_log "$log" | tail -n 20 >&2
    if alive "$pid"; then
        say "no '$pattern' in $log after 30 s" >&2
    else
        say "process $pid stopped; its log above" >&2
    fi
    return 1
}

start_node() {
    local name=$1 log=$WORK/$1.log
    local args=(--data "$WORK/$name" node --listen /ip4/127.0.0.1/tcp/0 --no-mdns)
    # A bench network is open (a lab bench): the first node founds it so.
    if [[ -n $BOOT ]]; then args+=(--peer "$BOOT"); else args+=(--open); fi
    "$FRAGFS" "${args[@]}" >"$log" 2>&1 &
    NODE_PIDS+=($!)
    wait_for_line "$!" "$log" 'listening on /ip4/127.0.0.1/tcp/' || die "peer $name did not start"
}

storage_peers() {
    "$FRAGFS" --data "$WORK/m" peers --json 2>/dev/null |
        python3 -c 'import json,sys; print(sum(1 for p in json.load(sys.stdin) if p.get("storage")))' 2>/dev/null ||
        echo 0
}

unmount_path() {
    mountpoint -q "$1" 2>/dev/null || return 0
    umount -l "$1" 2>/dev/null || fusermount3 -u -z "$1" 2>/dev/null ||
        say "warning: could not unmount $1" >&2
}

# The EXIT trap of a script that sources this file after defining WORK,
# MNT, KEEP, MOUNT_PID and NODE_PIDS: stops the mount and the peers (by
# their pids), unmounts MNT, and removes WORK unless KEEP=1 (KEPT_NOTE
# says what is in it) or MNT is still mounted.
cleanup() {
    local rc=$? i
    set +e
    trap - EXIT INT TERM
    if [[ -n $MOUNT_PID ]]; then stop_pid "$MOUNT_PID"; fi
    unmount_path "$MNT"
    for ((i = ${#NODE_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${NODE_PIDS[i]}"; done
    if mountpoint -q "$MNT" 2>/dev/null; then
        say "warning: $MNT still mounted; $WORK left in place" >&2
    elif [[ $KEEP == 1 ]]; then
        say "kept: $WORK${KEPT_NOTE:-}"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
