#!/usr/bin/env bash
# What a commit costs when it must merge, in one run: 3 peers on 127.0.0.1
# (3 metadata voters, 3 replicas) committing through the Volume as a
# mount's close does. Prints commits/s and p50/p99 latency of a plain
# commit, a commit merged at fragment level and one merged line by line;
# then a 16 MiB text changed on both sides in the same fragment: the whole
# merging commit, the line merge alone, and `git merge-file` on the same
# three files on the local disk as the baseline.
#   benches/versions.sh                       # 50 commits per row, 16 MiB
#   benches/versions.sh --commits 20 --text-mib 4
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --bin fragfs
exec target/debug/fragfs bench-versions "$@"
