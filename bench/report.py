#!/usr/bin/env python3
"""Prints bench/scale.sh's table (markdown) from OUT/load.txt and OUT/sql.txt."""
import math
import sys

out, sizes, ready_s, peak_kb, end_kb, hash_rate, csv = sys.argv[1:8]
phases = sys.argv[8] if len(sys.argv) > 8 else ""
load = {}
order = []
for line in open(f"{out}/load.txt"):
    name, c, rps, p50, p99, bad = line.rstrip("\n").split("|")
    load[(name, c)] = (float(rps), float(p50), float(p99), bad)
    if name not in order:
        order.append(name)
sql = {}
for line in open(f"{out}/sql.txt"):
    name, total, slowest, plan = line.rstrip("\n").split("|")
    sql[name] = (float(total), float(slowest), plan)


def cell(name, c, base):
    if (name, c) not in load:
        return "| | "
    rps, p50, p99, bad = load[(name, c)]
    b = load.get((base, c))
    ratio = f" ({rps / b[0]:.2f}×)" if b and b[0] else ""
    p99r = f" ({p99 / b[2]:.1f}×)" if b and b[2] else ""
    warn = "" if bad.startswith("0") and "sock" not in bad else f" ⚠{bad}"
    return f"| {rps:,.0f}{ratio} | {p50:.1f} / {p99:.1f}{p99r}{warn} "


print(f"Data: {sizes}. Start-up to ready (gate state loaded): {ready_s} s.\n")
print("Throughput in req/s (ratio to /healthz with the same header and connections); "
      "latency p50 / p99 in ms (p99 ratio to /healthz's).\n")
print("| endpoint | SQL ms (slowest stmt) | plan of the slowest statement | 1 conn req/s | 1 conn p50 / p99 | 8 conns req/s | 8 conns p50 / p99 |")
print("|---|---|---|---|---|---|---|")
special = {"gate alone (8 conns)", "gate during 32 logins (8 conns)",
           "logins alone (32 clients)", "logins during the gate run (32 clients)"}
for name in order:
    if name in special:
        continue
    base = "/healthz" if name.startswith(("gate", "/healthz")) else "/healthz (session token)"
    s = sql.get(name)
    sq = f"{s[0]:.2f} ({s[1]:.2f})" if s else ""
    plan = s[2] if s else ""
    print(f"| {name} | {sq} | {plan} " + cell(name, "1", base) + cell(name, "8", base) + "|")

print("\nAt 64 connections (the gate's own figures):\n")
print("| endpoint | req/s | p50 / p99 ms |")
print("|---|---|---|")
for name in ("/healthz", "gate: one check", "gate: batch of 1000"):
    if (name, "64") in load:
        print(f"| {name} " + cell(name, "64", "/healthz") + "|")
b = load.get(("gate: batch of 1000", "64"))
if b:
    print(f"\nBatch: {b[0] * 1000:,.0f} checks/s at 64 connections.")
a = load.get(("gate alone (8 conns)", "8"))
d = load.get(("gate during 32 logins (8 conns)", "8"))
lg = load.get(("logins alone (32 clients)", "32"))
lg2 = load.get(("logins during the gate run (32 clients)", "32"))
if a and d:
    print(f"Gate p99 alone {a[2]:.2f} ms, during 32 clients logging in {d[2]:.2f} ms "
          f"({d[2] / a[2]:.2f}×); gate req/s {a[0]:,.0f} → {d[0]:,.0f}.")
if lg:
    hr = float(hash_rate) if hash_rate else 0
    rel = f" = {lg[0] / hr:.2f}× the argon2 rate hashing alone ({hr:.1f} hashes/s)" if hr else ""
    bad = "" if lg[3].startswith("0") else f" ⚠ {lg[3]} answers not 2xx"
    print(f"Logins, 32 clients alone: {lg[0]:.1f}/s{rel}; login p99 {lg[2]:.0f} ms{bad}.")
if lg2:
    print(f"Logins while the gate is loaded: {lg2[0]:.1f}/s (sharing the 2 cores with it).")
t, size, rows, before, after = (csv.split() + ["0"] * 5)[:5]
print(f"CSV export of one season's whitelist: {int(rows):,} rows, {int(float(size)) / 1e6:.1f} MB in "
      f"{float(t):.2f} s; server RSS {int(before) // 1024} → {int(after) // 1024} MB.")
print(f"Server resident memory: peak {int(peak_kb) // 1024} MB, at the end {int(end_kb) // 1024} MB.")
if phases:
    after = ", ".join(f"{p.split(':')[0]} {int(p.split(':')[1]) // 1024} MB" for p in phases.split())
    print(f"Resident memory after each phase: {after} (the last: after 31 s idle).")
