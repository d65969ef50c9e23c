#!/usr/bin/env bash
# Fault scenarios at full size, each on its own private PostgreSQL, printing its figures.
#
#   bash bench/faults.sh                 # all seven, about 2 minutes after the build
#   bash bench/faults.sh outage          # one (outage | network_cut | crash | instances | coherence |
#                                        #      graceful_shutdown | housekeeping)
#
# Runs the scenarios of tests/faults/ (release build) with FAULTS_SCALE=full: a 10 s
# PostgreSQL outage under readers, writers and gate checks; an 8 s silent network cut
# between one instance and PostgreSQL; kill -9 after 4 s of writes;
# 3 instances started at once then 1,000 cross-instance races; 100 changes watched through a
# second instance's gate, then 5 killed feed connections; SIGTERM under 8 clients. Everything
# runs on 127.0.0.1 in processes it starts and stops itself. CI runs the same tests at a
# smaller size as part of `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG=$(mktemp /tmp/moments-gate-faults.XXXXXX.log)
status=0
FAULTS_SCALE=full cargo test --release --test faults -- --nocapture --test-threads 1 "$@" >"$LOG" 2>&1 || status=$?
grep -E '^(outage|crash|instances|coherence|shutdown|cut|test |test result)' "$LOG" || true
if [ "$status" != 0 ]; then
    echo "failed; the whole output is in $LOG" >&2
else
    rm -f "$LOG"
fi
exit "$status"
