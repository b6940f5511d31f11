#!/usr/bin/env python3
"""Prints a process's resident pages by mapping, from /proc/PID/smaps:
Badger's tables (sst), value log (vlog), memtable logs (mem), anonymous
memory (anon) and the rest (other), in MiB. usage: 2026-12-05-smaps.py PID"""
import collections
import re
import sys

cur, tot = None, collections.Counter()
for line in open(f'/proc/{sys.argv[1]}/smaps'):
    p = line.split()
    if re.match(r'^[0-9a-f]+-[0-9a-f]+ ', line):
        path = p[5] if len(p) > 5 else ''
        ext = path.rsplit('.', 1)[-1]
        cur = ext if ext in ('sst', 'vlog', 'mem') else 'anon' if path == '' else 'other'
    elif p[0] == 'Rss:':
        tot[cur] += int(p[1])
print(' '.join(f'{k}={v // 1024}MiB' for k, v in sorted(tot.items(), key=lambda x: -x[1]) if v >= 1024))
