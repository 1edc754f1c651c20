#!/usr/bin/env bash
# Metadata ops/s (create, mkdir, stat, rename, 32-in-flight creates, readdir of
# a 10,000-entry directory) on 1 and 3 voters beside the local disk, one run.
#   benches/meta.sh [--ops 2000] [--dir-entries 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --bin fragfs
exec target/debug/fragfs bench-meta "$@"
