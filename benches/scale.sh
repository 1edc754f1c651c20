#!/usr/bin/env bash
# fragfs at scale on one machine: many full peers in one process (own
# swarm, store and data directory each, libp2p over loopback TCP).
#   benches/scale.sh                 # 10 peers, then 50: memory per peer,
#                                    # lookup hops, repair after 10% stop
#   SCALE_PEERS="10 25 50" SCALE_REDUNDANCY=rs:4+2 benches/scale.sh
# For each size it prints the resident memory per peer, the hops of DHT
# provider lookups (each request of a lookup is one hop: parallelism 1)
# beside log2(N), and, for the largest size, the time until every file is
# back at full redundancy after SCALE_KILL percent of the peers stopped
# for good, with the bytes repair moved. Knobs: SCALE_PEERS ("10 50"),
# SCALE_FILES (20), SCALE_FILE_SIZE (1M), SCALE_REDUNDANCY (replicas:3),
# SCALE_KILL (10), SCALE_REPAIR_AFTER (5s), SCALE_LOOKUPS (200).
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${SCALE_PEERS:-10 50}
largest=$(printf '%s\n' $PEERS | sort -n | tail -1)
cargo build -q --bin fragfs
ulimit -n 65536 2>/dev/null || true
echo "fragfs benches/scale.sh on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
for n in $PEERS; do
    kill=0
    [ "$n" = "$largest" ] && kill=${SCALE_KILL:-10}
    echo
    target/debug/fragfs bench-scale --peers "$n" \
        --files "${SCALE_FILES:-20}" --file-size "${SCALE_FILE_SIZE:-1M}" \
        --redundancy "${SCALE_REDUNDANCY:-replicas:3}" \
        --lookups "${SCALE_LOOKUPS:-200}" --kill-percent "$kill" \
        --repair-after "${SCALE_REPAIR_AFTER:-5s}"
done
