#!/usr/bin/env bash
# Put/get throughput of one file across 3 local peers with 3 replicas, beside
# raw SHA3-256/BLAKE3 speed and a plain local file copy, in one run.
#   benches/core.sh                 # 256 MiB, SHA3-256 and BLAKE3 ids
#   benches/core.sh --size 1G --hash sha3-256
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --bin fragfs
exec target/debug/fragfs bench "$@"
