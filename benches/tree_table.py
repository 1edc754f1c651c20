#!/usr/bin/env python3
"""The table of the source-tree steps (benches/tree_steps.sh lines): each
step's seconds per system, fragfs's ratio to the faster anchor, and
unpack plus commit against the local disk."""
import sys

ANCHORS = ("gluster_r3", "moosefs_g3")


def main(path, labels):
    times = {}
    steps = []
    for line in open(path):
        label, step, secs = line.rstrip("\n").split("\t")
        times[(label, step)] = float(secs)
        if step not in steps:
            steps.append(step)
    head = "| step | " + " | ".join(labels) + " | fragfs ÷ faster anchor |"
    print(head)
    print("|" + "---|" * (len(labels) + 2))
    for step in steps:
        cells = [f"{times[(l, step)]:.2f}" if (l, step) in times else "–" for l in labels]
        anchors = [times[(a, step)] for a in ANCHORS if (a, step) in times]
        ratio = "–"
        if anchors and ("fragfs", step) in times:
            ratio = f"{times[('fragfs', step)] / max(min(anchors), 0.01):.2f}"
        print(f"| {step} | " + " | ".join(cells) + f" | {ratio} |")
    pair = ("tar -x", "git add+commit")
    if all((l, s) in times for l in ("fragfs", "local") for s in pair):
        f = sum(times[("fragfs", s)] for s in pair)
        loc = sum(times[("local", s)] for s in pair)
        print(f"\nunpack + commit: fragfs {f:.2f} s, local {loc:.2f} s = {f / max(loc, 0.01):.1f}× (target: within 4×)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
