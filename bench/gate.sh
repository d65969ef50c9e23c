#!/usr/bin/env bash
# Requests per second of the gate next to /healthz, on loopback, with a private PostgreSQL.
#
#   bench/gate.sh            # build release, start, load fixtures, measure, stop
#
# Env: DURATION (seconds per run, default 10), CONNECTIONS (default 64), THREADS (default 2),
# CAMPAIGNS (fixtures, default 5000). Needs wrk (`apt-get install -y wrk`), psql and the
# PostgreSQL server programs. Everything runs on 127.0.0.1 and is stopped at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
CAMPAIGNS=${CAMPAIGNS:-5000}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is missing" >&2; exit 1; }

echo "== building (release)"
cargo build --release --quiet
BIN=target/release/moments-gate

WORK=$(mktemp -d /var/tmp/moments-gate-bench.XXXXXX)
chmod 755 "$WORK"
export PGBOOT_DIR="$WORK/pg"
SERVER_PID=""

cleanup() {
    set +e
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    if [ -f "$PGBOOT_DIR/data/PG_VERSION" ]; then
        PG_CTL=$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1)
        PG_CTL=${PG_CTL:-$(command -v pg_ctl)}
        if [ "$(id -u)" = 0 ]; then
            runuser -u postgres -- "$PG_CTL" stop -m fast -w -D "$PGBOOT_DIR/data" >/dev/null
        else
            "$PG_CTL" stop -m fast -w -D "$PGBOOT_DIR/data" >/dev/null
        fi
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting a private PostgreSQL in $PGBOOT_DIR"
env -u DATABASE_URL "$BIN" migrate >/dev/null
DATABASE_URL="postgres://postgres:$(cat "$PGBOOT_DIR/password")@127.0.0.1:$(cat "$PGBOOT_DIR/port")/moments_gate"
export DATABASE_URL

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
ADMIN_EMAIL="bench-admin@platform.example"
ADMIN_PASSWORD="bench passphrase $(date +%s)"

echo "== starting the server on $BASE"
BIND="127.0.0.1:$PORT" BOOTSTRAP_ADMIN_EMAIL="$ADMIN_EMAIL" BOOTSTRAP_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    RUST_LOG=warn "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$BASE/healthz" >/dev/null || { echo "the server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
TOKEN=$(curl -fsS -X POST "$BASE/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | json_field token)
KEY=$(curl -fsS -X POST "$BASE/v1/api-keys" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d '{"name":"bench"}' | json_field key)

echo "== inserting $CAMPAIGNS campaigns"
psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -v n="$CAMPAIGNS" <<'SQL'
CREATE TEMP TABLE ids AS SELECT id FROM users WHERE email = 'bench-admin@platform.example';
INSERT INTO brands (id, name, kind, tmall_store_url, verification, created_by)
    SELECT '00000000-0000-4000-8000-000000000001', 'Bench brand', 'brand', 'https://bench.tmall.com', 'verified', id FROM ids;
INSERT INTO seasons (id, code, name, applications_open_at, applications_close_at, starts_at, ends_at)
    VALUES ('00000000-0000-4000-8000-000000000002', 'bench', 'Bench', now() - interval '20 days',
            now() - interval '10 days', now() - interval '5 days', now() + interval '25 days');
INSERT INTO whitelist_entries (id, brand_id, season_id, status, valid_from, valid_until, granted_by)
    SELECT gen_random_uuid(), '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002',
           'active', now() - interval '5 days', now() + interval '25 days', id FROM ids;
INSERT INTO applications (id, brand_id, season_id, title, status, submitted_at, decided_at, created_by,
        creative, landing, requested_starts_at, requested_ends_at, budget_total_fen, budget_cpm_bid_fen)
    SELECT md5('app' || g)::uuid, '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002',
           'Bench ' || g, 'approved', now(), now(), ids.id,
           '{"headline": "Bench", "card_label": "Tmall flagship store", "logo_url": "https://img.example.com/l.png",
             "image_urls": ["https://img.example.com/1.png"]}',
           '{"app_url": "tmall://page.tm/shop?id=1", "web_url": "https://shop.tmall.com/"}',
           now() - interval '1 day', now() + interval '20 days', 1000000, 3000
    FROM generate_series(1, :n) g, ids;
INSERT INTO campaigns (id, application_id, brand_id, season_id, title, starts_at, ends_at, paused)
    SELECT md5('campaign' || g)::uuid, md5('app' || g)::uuid, '00000000-0000-4000-8000-000000000001',
           '00000000-0000-4000-8000-000000000002', 'Bench ' || g,
           now() - interval '1 day', now() + interval '20 days', g % 10 = 0
    FROM generate_series(1, :n) g;
SQL
CAMPAIGN=$(psql -tA "$DATABASE_URL" -c "SELECT md5('campaign1')::uuid")
psql -tA "$DATABASE_URL" -c "SELECT md5('campaign' || g)::uuid FROM generate_series(1, 1000) g" \
    | python3 -c 'import json,sys; print(json.dumps({"checks": [{"campaign_id": l.strip()} for l in sys.stdin if l.strip()]}))' \
    >"$WORK/batch.json"

# Sanity: the gate answers and the batch works.
curl -fsS "$BASE/v1/gate/campaigns/$CAMPAIGN" -H "authorization: Bearer $KEY" | grep -q '"reason":"ok"'
curl -fsS -X POST "$BASE/v1/gate/batch" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
    --data-binary @"$WORK/batch.json" | grep -q '"results"'

cat >"$WORK/batch.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$WORK/batch.json", "r")
wrk.body = f:read("*a")
f:close()
LUA

# Prints requests/s of one wrk run.
rps() {
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" >"$WORK/wrk.out" 2>&1
    if grep -q "Non-2xx" "$WORK/wrk.out"; then
        echo "non-2xx answers during the run:" >&2
        cat "$WORK/wrk.out" >&2
        exit 1
    fi
    awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out"
    awk '/ 99%/ {print "    p99 latency " $2}' "$WORK/wrk.out" >&2
}

echo "== measuring: $THREADS threads, $CONNECTIONS connections, ${DURATION}s each"
HEALTH=$(rps "$BASE/healthz")
echo "GET /healthz                       $HEALTH req/s"
GATE=$(rps -H "Authorization: Bearer $KEY" "$BASE/v1/gate/campaigns/$CAMPAIGN")
echo "GET /v1/gate/campaigns/{id}        $GATE req/s"
BATCH=$(rps -H "Authorization: Bearer $KEY" -s "$WORK/batch.lua" "$BASE/v1/gate/batch")
echo "POST /v1/gate/batch (1000 checks)  $BATCH req/s"

python3 - "$HEALTH" "$GATE" "$BATCH" <<'PY'
import sys
h, g, b = (float(x) for x in sys.argv[1:])
print(f"gate/healthz ratio                 {g / h:.2f}")
print(f"batch checks/s                     {b * 1000:,.0f}")
PY
