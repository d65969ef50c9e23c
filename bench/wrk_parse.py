#!/usr/bin/env python3
"""wrk --latency output on stdin → NAME|CONNECTIONS|req/s|p50 ms|p99 ms|non-2xx"""
import re
import sys

name, conns = sys.argv[1], sys.argv[2]
text = sys.stdin.read()


def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        return float("nan")
    n, u = float(m.group(1)), m.group(2)
    return n * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[u]


rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
p50 = re.search(r"\s50%\s+(\S+)", text)
p99 = re.search(r"\s99%\s+(\S+)", text)
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errs = re.search(r"Socket errors: (.*)", text)
print("|".join([
    name, conns,
    rps.group(1) if rps else "nan",
    f"{ms(p50.group(1)):.2f}" if p50 else "nan",
    f"{ms(p99.group(1)):.2f}" if p99 else "nan",
    (bad.group(1) if bad else "0") + (" sock:" + errs.group(1).strip() if errs else ""),
]))
