#!/usr/bin/env python3
"""compare_ratios.py RESULTS LABEL... -- fragfs's figures beside the
anchors' (the bench.sh results of one run under RESULTS) and its ratio to
the best anchor: above 1 means fragfs is ahead (for times, the anchor's
time over fragfs's)."""
import json
import re
import sys

RESULTS, LABELS = sys.argv[1], sys.argv[2:]
ANCHORS = [l for l in LABELS if l in ('gluster_r3', 'moosefs_g3')]


def fio(label, name, kind, key):
    try:
        with open(f'{RESULTS}/{label}/{name}.json') as f:
            return json.load(f)['jobs'][0][kind][key]
    except (OSError, KeyError, IndexError, ValueError):
        return None


def logged(label, pattern):
    try:
        with open(f'{RESULTS}/{label}/log.txt') as f:
            found = [m.group(1) for m in map(re.compile(pattern).search, f) if m]
    except OSError:
        return None
    return float(found[-1]) if found else None


# (name, getter, higher is better)
JOBS = [
    ('seq write MB/s', lambda l: (fio(l, 'seqwrite', 'write', 'bw_bytes') or 0) / 1e6 or None, True),
    ('cold seq read MB/s', lambda l: (fio(l, 'seqread', 'read', 'bw_bytes') or 0) / 1e6 or None, True),
    ('4 KiB rand read QD1 IOPS', lambda l: fio(l, 'rr4k_qd1', 'read', 'iops'), True),
    ('4 KiB rand read QD16 IOPS', lambda l: fio(l, 'rr4k_qd16', 'read', 'iops'), True),
    ('create 4 KiB files/s', lambda l: logged(l, r'small create .*= (\d+) files/s'), True),
    ('fs_mark (fsync each) files/s', lambda l: logged(l, r'fs_mark -S1 \(fsync each\): ([0-9.]+) files/s'), True),
    ('ls -lR cold s', lambda l: logged(l, r'ls -lR cold .*: ([0-9.]+)s'), False),
    ('ls -lR warm s', lambda l: logged(l, r'ls -lR warm: ([0-9.]+)s'), False),
    ('read small files cold files/s', lambda l: logged(l, r'small read cold: .*= (\d+) files/s'), True),
    ('rm -rf s', lambda l: logged(l, r'small delete: ([0-9.]+)s'), False),
]


def fmt(v):
    return '–' if v is None else (f'{v:,.2f}' if v < 10 else f'{v:,.0f}')


def main():
    cols = [l for l in LABELS if l != 'fragfs']
    print()
    print('| job | fragfs | ' + ' | '.join(cols) + ' | fragfs ÷ best anchor |')
    print('|---|' + '---|' * (len(cols) + 2))
    for name, get, higher in JOBS:
        ours = get('fragfs')
        theirs = [v for v in (get(a) for a in ANCHORS) if v]
        ratio = None
        if ours and theirs:
            ratio = ours / max(theirs) if higher else min(theirs) / ours
        row = [name, fmt(ours)] + [fmt(get(c)) for c in cols] + [fmt(ratio)]
        print('| ' + ' | '.join(row) + ' |')


main()
