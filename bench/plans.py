#!/usr/bin/env python3
"""Reads the auto_explain entries one request left in the PostgreSQL log.

usage: plans.py NAME LOGFILE OFFSET PLANS_OUT
Prints one line, NAME|total SQL ms|slowest statement ms|what the slowest plan reads, and
appends every plan to PLANS_OUT.
"""
import re
import sys

name, log, offset, plans_out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(log, errors="replace") as f:
    f.seek(offset)
    text = f.read()

entries = []  # (ms, [lines])
cur = None
for line in text.splitlines():
    m = re.search(r"LOG:  duration: ([\d.]+) ms  plan:", line)
    if m:
        cur = (float(m.group(1)), [])
        entries.append(cur)
    elif cur is not None and (line.startswith("\t") or line.startswith(" ")):
        cur[1].append(line)
    else:
        cur = None

# The session check runs for every request; the rest is the endpoint's own SQL.
total = sum(ms for ms, _ in entries)
slowest = max(entries, default=(0.0, []), key=lambda e: e[0])
nodes = []
for l in slowest[1]:
    m = re.search(r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan|Parallel Seq Scan)"
                  r"(?: Backward)?(?: using| on) (\S+)", l)
    if m:
        kind = {"Index Only Scan": "ios", "Index Scan": "idx", "Bitmap Index Scan": "bitmap",
                "Seq Scan": "SEQ", "Parallel Seq Scan": "SEQ"}[m.group(1)]
        nodes.append(f"{kind} {m.group(2)}")
    if "Sort Method" in l:
        nodes.append("sort")
seen = []
for n in nodes:
    if n not in seen:
        seen.append(n)
with open(plans_out, "a") as out:
    out.write(f"\n===== {name}: {len(entries)} statements, {total:.2f} ms\n")
    for ms, lines in entries:
        out.write(f"--- {ms:.3f} ms\n" + "\n".join(lines) + "\n")
print(f"{name}|{total:.2f}|{slowest[0]:.2f}|{', '.join(seen[:4])}")
