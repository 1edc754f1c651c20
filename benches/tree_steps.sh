#!/bin/bash
# The source-tree steps of a user's day, timed on one filesystem: unpack a
# tree of sources, `git init; git add -A; git commit`, `git status`,
# `grep -r`, `find`, `rm -rf`. Appends "LABEL<TAB>STEP<TAB>SECONDS" lines
# to OUT and prints them.
#
#   benches/tree_steps.sh LABEL DIR TARBALL OUT
#
# TARBALL is made by benches/compare.sh (`tree_tarball`): the same tree
# for every system of a run.
set -euo pipefail
LABEL=$1 DIR=$2 TAR=$3 OUT=$4
T=$DIR/tree-bench.$$
mkdir -p "$T"
cd "$T"

step() {
    local name=$1 s e
    shift
    s=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "$LABEL: $name failed" >&2; return 1; }
    e=$(date +%s.%N)
    printf '%s\t%s\t%.2f\n' "$LABEL" "$name" "$(echo "$e - $s" | bc -l)" | tee -a "$OUT"
}

git_commit() {
    git init -q . && git add -A &&
        git -c user.name=bench -c user.email=bench@localhost commit -qm tree
}

step "tar -x" tar -xf "$TAR"
step "git add+commit" git_commit
step "git status" git status --porcelain
step "grep -r" grep -r -l "fn main" .
step "find" find . -name "*.rs"
cd "$DIR"
step "rm -rf" rm -rf "$T"
