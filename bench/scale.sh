#!/usr/bin/env bash
# Every endpoint at a realistic size, next to /healthz, in one run.
#
#   bench/scale.sh                 # full size: 100k brands, 1M applications, 5M audit events
#   SCALE=0.1 DURATION=3 bench/scale.sh   # a quick run
#
# Builds the release binary, starts a private PostgreSQL under $BENCH_DIR (kept between runs:
# seeding the full size takes minutes; delete the folder to start afresh), applies the
# migrations, seeds bench/seed.sql once per scale, then:
#   1. starts the server with its default settings and times start-up to ready;
#   2. asks each endpoint once with auto_explain on (EXPLAIN ANALYZE, BUFFERS of every
#      statement it ran): the SQL time and the indexes used, full plans in $OUT/plans.txt;
#   3. restarts the server (auto_explain off) and loads each endpoint with wrk, 1 and 8
#      connections, DURATION seconds each, /healthz first with the same header;
#   4. logins: 32 clients logging in while the gate is measured, and the argon2 rate alone;
#   5. prints one table (also written to $OUT/table.md) and the server's peak RSS.
#
# Env: SCALE (1), DURATION (5 s per run), SKIP_BUILD=1 to use the binary as built (BIN: another one), BENCH_DIR (/var/tmp/moments-gate-scale-$SCALE),
# OUT ($BENCH_DIR/out), PERF=1 to `perf record` the server during the gate run,
# GATE_X10=1 to time start-up to ready with ten times the gate's data (bench/seed-gate.sql,
# a database of its own in the same cluster, seeded once: about 2 GB),
# ONLY=regex to explain and load only the endpoints whose name matches (the gate, the CSV
# export and the logins always run), e.g. ONLY='dashboard|halted'.
# Needs wrk (apt-get install -y wrk), psql, python3 and the PostgreSQL server programs.
# Everything listens on 127.0.0.1 only; every load run is bounded by DURATION.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
SCALE=${SCALE:-1}
DURATION=${DURATION:-5}
BENCH_DIR=${BENCH_DIR:-/var/tmp/moments-gate-scale-$SCALE}
OUT=${OUT:-$BENCH_DIR/out}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/moments-gate}
ADMIN_EMAIL=bench-admin@platform.example
ADMIN_PASSWORD="bench passphrase for loopback only"

for tool in wrk psql python3 curl; do
    command -v $tool >/dev/null || { echo "$tool is missing (wrk: apt-get install -y wrk)" >&2; exit 1; }
done

if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== building (release)"
    cargo build --release --quiet
fi

PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1)")
[ -x "$PG_BIN/pg_ctl" ] || PG_BIN=$(dirname "$(command -v pg_ctl)")
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

mkdir -p "$BENCH_DIR" "$OUT"
chmod 755 "$BENCH_DIR"
[ "$(id -u)" = 0 ] && chown postgres "$BENCH_DIR"
DATA=$BENCH_DIR/data
PGLOG=$BENCH_DIR/pg.log
SERVER_PID=""
PG_STARTED=""

cleanup() {
    set +e
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$PG_STARTED" ] && as_pg "$PG_BIN/pg_ctl" stop -m fast -w -D "$DATA" >/dev/null
}
trap cleanup EXIT

if [ ! -f "$DATA/PG_VERSION" ]; then
    echo "== initdb in $DATA"
    as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
    # Throwaway data: durability off so seeding is quick. Memory as a small production box.
    cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
shared_buffers = '1GB'
effective_cache_size = '4GB'
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = '8GB'
CONF
fi
PGPORT=$(free_port)
: >"$PGLOG"
chmod 666 "$PGLOG"
as_pg "$PG_BIN/pg_ctl" start -w -D "$DATA" -l "$PGLOG" -o "-p $PGPORT" >/dev/null
PG_STARTED=1
export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/moments_gate"
PSQL="psql -X -q -v ON_ERROR_STOP=1"
psql -X -tA "postgres://postgres@127.0.0.1:$PGPORT/postgres" -c "SELECT 1 FROM pg_database WHERE datname = 'moments_gate'" | grep -q 1 ||
    psql -X -q "postgres://postgres@127.0.0.1:$PGPORT/postgres" -c "CREATE DATABASE moments_gate"

echo "== migrations"
MIGRATE_START=$(date +%s.%N)
"$BIN" migrate >/dev/null
MIGRATE_S=$(python3 -c "import time; print(f'{time.time() - $MIGRATE_START:.1f}')")
echo "   took ${MIGRATE_S}s"

if [ "$(cat "$BENCH_DIR/seeded" 2>/dev/null)" != "$SCALE" ]; then
    echo "== seeding at scale $SCALE"
    ADMIN_PASSWORD="$ADMIN_PASSWORD" "$BIN" create-admin "$ADMIN_EMAIL" >/dev/null
    SEED_START=$(date +%s)
    $PSQL -v scale="$SCALE" -v admin="$ADMIN_EMAIL" -f bench/seed.sql "$DATABASE_URL"
    echo "   seeded in $(($(date +%s) - SEED_START))s"
    echo "$SCALE" >"$BENCH_DIR/seeded"
fi
$PSQL -c "VACUUM ANALYZE" "$DATABASE_URL"

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"

# Starts the server with its default settings (only DATABASE_URL and BIND are set, and the
# per-address limit of anonymous requests is lifted: every bench client is 127.0.0.1, and
# the login phase measures hashing, not that limit) and waits for /readyz; READY_S is the
# seconds it took. (Not in a subshell: SERVER_PID must stay set for stopping it.)
start_server() {
    local t0
    t0=$(date +%s.%N)
    BIND="127.0.0.1:$PORT" ANON_RATE_PER_MINUTE=100000000 "$BIN" serve >"$OUT/server-$1.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 600); do
        curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server-$1.log" >&2; exit 1; }
        sleep 0.05
    done
    curl -fsS "$BASE/readyz" >/dev/null || { echo "not ready after 30 s" >&2; exit 1; }
    READY_S=$(python3 -c "import time; print(f'{time.time() - $t0:.2f}')")
}
stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=""
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }

# --- the requests to measure -----------------------------------------------------------
q() { psql -X -tA "$DATABASE_URL" -c "$1"; }
OLD_SEASON=$(q "SELECT md5('s2')::uuid")
NOW_SEASON=$(q "SELECT md5('s8')::uuid")
BRAND=$(q "SELECT brand_id FROM applications WHERE status = 'approved' LIMIT 1")
ENTITY=$(q "SELECT entity_id FROM audit_events WHERE entity_type = 'application' LIMIT 1")
RARE_BRAND=$(q "SELECT split_part(name, ' ', 2) FROM brands ORDER BY id LIMIT 1" | tr 'A-Z' 'a-z')
RARE_USER=$(q "SELECT split_part(display_name, ' ', 2) FROM users WHERE role = 'marketer' ORDER BY id LIMIT 1" | tr 'A-Z' 'a-z')
# A cursor halfway down: base64url of {"t": created_at, "id": id}.
cursor() { q "$1" | python3 -c 'import sys,json,base64; t,i=sys.stdin.read().strip().split("|"); print(base64.urlsafe_b64encode(json.dumps({"t":t,"id":i}).encode()).decode().rstrip("="))'; }
APPS=$(q "SELECT count(*) FROM applications")
DEEP_APP=$(cursor "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), id FROM applications ORDER BY created_at DESC, id DESC OFFSET $((APPS / 2)) LIMIT 1")
EVENTS=$(q "SELECT count(*) FROM audit_events")
DEEP_AUDIT=$(cursor "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), id FROM audit_events ORDER BY at DESC, id DESC OFFSET $((EVENTS / 2)) LIMIT 1")
q "SELECT id FROM campaigns ORDER BY random() LIMIT 10000" >"$OUT/campaign-ids.txt"

# name|path (GET with the session token unless the path starts with "gate:")
cat >"$OUT/endpoints.txt" <<EOF
applications: first page|/v1/applications
applications: deep cursor|/v1/applications?cursor=$DEEP_APP
applications: old season|/v1/applications?season_id=$OLD_SEASON
applications: status=submitted|/v1/applications?status=submitted
applications: brand|/v1/applications?brand_id=$BRAND
review queue|/v1/review/queue
review queue: season|/v1/review/queue?season_id=$NOW_SEASON
brands: first page|/v1/brands
brands: q=rare word|/v1/brands?q=$RARE_BRAND
brands: verification=pending|/v1/brands?verification=pending
users: first page|/v1/users
users: q=rare word|/v1/users?q=$RARE_USER
campaigns: first page|/v1/campaigns
campaigns: state=live|/v1/campaigns?state=live
campaigns: state=halted|/v1/campaigns?state=halted
campaigns: old season|/v1/campaigns?season_id=$OLD_SEASON
whitelist: first page|/v1/whitelist
whitelist: old season|/v1/whitelist?season_id=$OLD_SEASON
whitelist: status=suspended|/v1/whitelist?status=suspended
audit: first page|/v1/audit
audit: deep cursor|/v1/audit?cursor=$DEEP_AUDIT
audit: entity_type=brand|/v1/audit?entity_type=brand
audit: entity_id|/v1/audit?entity_id=$ENTITY
seasons|/v1/seasons
dashboard: all seasons|/v1/dashboard/summary
dashboard: one season|/v1/dashboard/summary?season_id=$NOW_SEASON
EOF
if [ -n "${ONLY:-}" ]; then
    grep -E -- "^[^|]*($ONLY)[^|]*\|" "$OUT/endpoints.txt" >"$OUT/endpoints.only" || true
    mv "$OUT/endpoints.only" "$OUT/endpoints.txt"
fi

# --- 1. start-up, and the SQL of each endpoint under auto_explain ----------------------
echo "== SQL of each endpoint (auto_explain: EXPLAIN ANALYZE, BUFFERS)"
$PSQL "$DATABASE_URL" <<SQL
ALTER DATABASE moments_gate SET session_preload_libraries = 'auto_explain';
ALTER DATABASE moments_gate SET auto_explain.log_min_duration = 0;
ALTER DATABASE moments_gate SET auto_explain.log_analyze = on;
ALTER DATABASE moments_gate SET auto_explain.log_buffers = on;
SQL
start_server explain
TOKEN=$(curl -fsS -X POST "$BASE/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | json_field token)
KEY=$(curl -fsS -X POST "$BASE/v1/api-keys" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d '{"name":"bench"}' | json_field key)
: >"$OUT/sql.txt"
: >"$OUT/plans.txt"
while IFS='|' read -r name path; do
    for _ in 1 2; do curl -fsS -o /dev/null "$BASE$path" -H "authorization: Bearer $TOKEN"; done
    sleep 0.3
    before=$(stat -c %s "$PGLOG")
    curl -fsS -o /dev/null "$BASE$path" -H "authorization: Bearer $TOKEN" || echo "   FAILED: $name" >&2
    sleep 0.3
    python3 bench/plans.py "$name" "$PGLOG" "$before" "$OUT/plans.txt" >>"$OUT/sql.txt"
done <"$OUT/endpoints.txt"
stop_server
$PSQL -c "ALTER DATABASE moments_gate RESET ALL" "$DATABASE_URL"

echo "== start-up to ready (default settings)"
start_server load
echo "   ${READY_S}s"
# Resident memory through the run: sampled every 0.2 s (the peak is also VmHWM), and
# noted after each phase.
rss_kb() { awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status; }
(while kill -0 "$SERVER_PID" 2>/dev/null; do
    echo "$(date +%s.%N) $(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status 2>/dev/null)"
    sleep 0.2
done) >"$OUT/rss.txt" &
RSS_SAMPLER=$!
RSS_PHASES="ready:$(rss_kb)"

# --- 2. load --------------------------------------------------------------------------
cat >"$OUT/gate.lua" <<LUA
local ids = {}
for line in io.lines("$OUT/campaign-ids.txt") do ids[#ids + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
    return wrk.format("GET", "/v1/gate/campaigns/" .. ids[math.random(#ids)])
end
LUA
python3 - "$OUT/campaign-ids.txt" >"$OUT/batch.json" <<'PY'
import json, random, sys
ids = [l.strip() for l in open(sys.argv[1]) if l.strip()]
print(json.dumps({"checks": [{"campaign_id": random.choice(ids)} for _ in range(1000)]}))
PY
cat >"$OUT/batch.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$OUT/batch.json", "r")
wrk.body = f:read("*a")
f:close()
LUA
cat >"$OUT/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
    n = n + 1
    local body = '{"email":"reviewer' .. (1 + n % 32) .. '@platform.example","password":"$ADMIN_PASSWORD"}'
    return wrk.format("POST", "/v1/auth/login", nil, body)
end
LUA

: >"$OUT/load.txt"
# load NAME CONNECTIONS wrk-args...: appends "name|c|rps|p50_ms|p99_ms|non2xx" to load.txt.
load() {
    local name=$1 c=$2 t=1
    shift 2
    [ "$c" -gt 1 ] && t=2
    wrk -t"$t" -c"$c" -d"${DURATION}s" --latency "$@" >"$OUT/wrk.out" 2>&1 || true
    python3 bench/wrk_parse.py "$name" "$c" <"$OUT/wrk.out" >>"$OUT/load.txt"
}

echo "== load: 1 and 8 connections, ${DURATION}s each"
AUTH_KEY="Authorization: Bearer $KEY"
AUTH_TOKEN="Authorization: Bearer $TOKEN"
for c in 1 8 64; do
    load "/healthz" "$c" -H "$AUTH_KEY" "$BASE/healthz"
    if [ -n "${PERF:-}" ] && [ "$c" = 64 ] && command -v perf >/dev/null; then
        perf record -F 499 -g -p "$SERVER_PID" -o "$OUT/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
        PERF_PID=$!
        load "gate: one check" "$c" -H "$AUTH_KEY" -s "$OUT/gate.lua" "$BASE"
        wait "$PERF_PID" || true
    else
        load "gate: one check" "$c" -H "$AUTH_KEY" -s "$OUT/gate.lua" "$BASE"
    fi
    load "gate: batch of 1000" "$c" -H "$AUTH_KEY" -s "$OUT/batch.lua" "$BASE/v1/gate/batch"
    [ "$c" = 64 ] && continue
    load "/healthz (session token)" "$c" -H "$AUTH_TOKEN" "$BASE/healthz"
    while IFS='|' read -r name path; do
        load "$name" "$c" -H "$AUTH_TOKEN" "$BASE$path"
    done <"$OUT/endpoints.txt"
done

RSS_PHASES="$RSS_PHASES lists+gate:$(rss_kb)"
echo "== CSV export of a season's whitelist"
RSS_BEFORE=$(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status)
CSV=$(curl -fsS -o "$OUT/export.csv" -w '%{time_total} %{size_download}' "$BASE/v1/whitelist?season_id=$NOW_SEASON&limit=200" \
    -H "$AUTH_TOKEN" -H 'accept: text/csv')
RSS_AFTER=$(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status)
CSV_ROWS=$(($(wc -l <"$OUT/export.csv") - 1))

# --- 3. logins never slow the gate ----------------------------------------------------
echo "== logins: the gate with and without 32 clients logging in"
load "gate alone (8 conns)" 8 -H "$AUTH_KEY" -s "$OUT/gate.lua" "$BASE"
wrk -t1 -c32 -d"${DURATION}s" --timeout 10s --latency -s "$OUT/login.lua" "$BASE" >"$OUT/wrk-login-alone.out" 2>&1 || true
python3 bench/wrk_parse.py "logins alone (32 clients)" 32 <"$OUT/wrk-login-alone.out" >>"$OUT/load.txt"
wrk -t1 -c32 -d"$((DURATION + 2))s" --timeout 10s --latency -s "$OUT/login.lua" "$BASE" >"$OUT/wrk-login.out" 2>&1 &
LOGIN_WRK=$!
sleep 1
load "gate during 32 logins (8 conns)" 8 -H "$AUTH_KEY" -s "$OUT/gate.lua" "$BASE"
wait "$LOGIN_WRK" || true
python3 bench/wrk_parse.py "logins during the gate run (32 clients)" 32 <"$OUT/wrk-login.out" >>"$OUT/load.txt"
RSS_PHASES="$RSS_PHASES logins:$(rss_kb)"
HASH_RATE=$("$BIN" hash-bench --seconds "$DURATION" 2>/dev/null || echo 0)
# Idle for 31 s: what memory settles at (there is no periodic full reload of the gate).
sleep 31
RSS_PHASES="$RSS_PHASES idle:$(rss_kb)"

PEAK_RSS=$(awk '/VmHWM/ {print $2}' /proc/$SERVER_PID/status)
RSS_END=$(rss_kb)
curl -fsS "$BASE/metrics" >"$OUT/metrics.txt" || true
stop_server
kill "$RSS_SAMPLER" 2>/dev/null || true

SIZES=$(q "SELECT (SELECT count(*) FROM brands) || ' brands, ' || (SELECT count(*) FROM applications) || ' applications, ' || (SELECT count(*) FROM campaigns) || ' campaigns, ' || (SELECT count(*) FROM whitelist_entries) || ' whitelist entries, ' || (SELECT count(*) FROM audit_events) || ' audit events, ' || pg_size_pretty(pg_database_size('moments_gate'))")
python3 bench/report.py "$OUT" "$SIZES" "$READY_S" "$PEAK_RSS" "$RSS_END" "$HASH_RATE" \
    "$CSV $CSV_ROWS $RSS_BEFORE $RSS_AFTER" "$RSS_PHASES" | tee "$OUT/table.md"
# --- 5. ten times the gate's data (GATE_X10=1): still fully loaded before it is ready ----
if [ -n "${GATE_X10:-}" ]; then
    echo "== start-up to ready with ten times the gate's data (bench/seed-gate.sql)"
    X10_URL="postgres://postgres@127.0.0.1:$PGPORT/moments_gate_x10"
    if [ "$(cat "$BENCH_DIR/seeded-gate-x10" 2>/dev/null)" != 10 ]; then
        psql -X -q "postgres://postgres@127.0.0.1:$PGPORT/postgres" \
            -c "DROP DATABASE IF EXISTS moments_gate_x10" -c "CREATE DATABASE moments_gate_x10"
        DATABASE_URL=$X10_URL "$BIN" migrate >/dev/null
        SEED_START=$(date +%s)
        $PSQL -v mult=10 -f bench/seed-gate.sql "$X10_URL"
        $PSQL -c "VACUUM ANALYZE" "$X10_URL"
        echo "   seeded in $(($(date +%s) - SEED_START))s"
        echo 10 >"$BENCH_DIR/seeded-gate-x10"
    fi
    X10_SIZES=$(psql -X -tA "$X10_URL" -c "SELECT (SELECT count(*) FROM campaigns) || ' campaigns, ' || (SELECT count(*) FROM whitelist_entries) || ' whitelist entries, ' || (SELECT count(*) FROM brands WHERE verification = 'verified') || ' verified brands'")
    DATABASE_URL=$X10_URL start_server x10
    X10_LOAD=$(curl -fsS "$BASE/metrics" | awk '/^gate_cache_last_reload_duration_seconds / {printf "%.2f", $2}')
    X10_RSS=$(($(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status) / 1024))
    stop_server
    echo "Ten times the gate's data ($X10_SIZES): ready in ${READY_S} s with the state fully loaded (its load took ${X10_LOAD} s); resident memory then ${X10_RSS} MB." | tee -a "$OUT/table.md"
fi
if [ -f "$OUT/perf.data" ]; then
    perf report -i "$OUT/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -40 >"$OUT/perf-top.txt" || true
    echo "perf: $OUT/perf-top.txt"
fi
