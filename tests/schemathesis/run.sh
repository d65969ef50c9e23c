#!/usr/bin/env bash
# Hostile-input proof (issue 8): schemathesis against the release binary on a fresh database,
# once per credential, every check, failing on any failure.
#
#   tests/schemathesis/run.sh [path/to/moments-gate]     (default: the release build)
#
# Environment: ST_MAX_EXAMPLES (default 100), ST_SEED (default fixed, below), ST_PHASES
# (default all four), ST_LOG_DIR (keep st's output and the server's log there; default: a
# temp folder, removed), CARGO_TARGET_DIR (where the binary and the virtualenv live).
#
# What it does:
# - installs schemathesis $ST_VERSION from PyPI into its own virtualenv under the target dir
#   (kept between runs; python3-venv is installed by apt when missing);
# - starts the binary with no DATABASE_URL, so it starts its own PostgreSQL in a fresh temp
#   folder and loads the demo data (users of every role, brands, seasons, applications in every
#   status), so the generated requests reach real objects; the server and its PostgreSQL are
#   stopped and the folder removed on exit (trap);
# - runs `st run --checks all` as a marketer, a reviewer, an API key (only the gate, which is
#   all a key may call: SPEC §1, §5) and an admin, in that order: the admin's run may disable
#   users and revoke keys (stateful links from GET /v1/users and GET /v1/api-keys), so it goes
#   last.
#
# Settings and why:
# - ANON_RATE_PER_MINUTE=1000000 on this server: st sends hundreds of sign-ups and sign-ins a
#   minute from one address, and past 30 a minute each would be 429 `too_many_requests`
#   (documented on those endpoints, and tested in tests/api/accounts.rs), so the bodies behind
#   them would never be examined.
# - --max-examples 100 and --workers 1: the four runs then generate about 24,000 test cases
#   in 5-7 minutes on this 2-core machine while other builds run on it (measured 2026-12-05:
#   marketer 87-98 s, reviewer 108-134 s, API key 9-11 s, admin 99-110 s; 6.5 minutes with
#   another seed), inside the 10-15 minutes this
#   step may take of .ci/run's 90, with room for a slower machine. At 25 the runs took 2.5
#   minutes and found the same faults as at 100; the extra examples buy reach (more of the
#   stateful chains, more shapes of each body) for time that CI has. One worker, because the
#   server under test shares the two cores, and because Hypothesis' lambda introspection is
#   not thread-safe on Python 3.11 (st reported a spurious "AST constructor recursion depth
#   mismatch" with two workers).
# - --request-timeout 10: the server answers within REQUEST_TIMEOUT_MS (2.5 s) or 503; a
#   request still open after 10 s is a hang, and fails the run.
# - a fixed --seed, so CI is repeatable and a failure can be replayed; set ST_SEED to explore.
#
# Exclusions (nothing is excluded from `--checks all`; two answers are filtered, in hooks.py,
# where each filtered `code` is listed with the SPEC rule behind it):
# - positive_data_acceptance reports every 422 that a business rule of the SPEC gives to a
#   schema-valid request (a common password, a season whose close precedes its open, a store
#   URL off tmall.com, a time outside [2000, 2100) written with an offset, an unknown season,
#   …): those rules relate fields to each other or to the database, which JSON Schema cannot
#   state. Only a 422 whose every field error carries one of those codes is dropped; any other
#   refusal of valid data (a format the document misstates) still fails the run, and so does
#   a problem whose own code is `out_of_range` with no field (the database refusing a value).
# - missing_required_header expects 400/401/403/406/422 for a request without a required
#   header; a PATCH without `If-Match` is 428 `precondition_required` by SPEC §5 ("428
#   without"). Only that answer, for that header, is dropped.
set -euo pipefail
cd "$(dirname "$0")/../.."

ST_VERSION=4.32.5
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-100}"
SEED="${ST_SEED:-20261205}"
PHASES="${ST_PHASES:-examples,coverage,fuzzing,stateful}"
target="${CARGO_TARGET_DIR:-target}"
bin="${1:-$target/release/moments-gate}"
[ -x "$bin" ] || { echo "no binary at $bin: run cargo build --release first" >&2; exit 1; }

venv="$(cd "$target" && pwd)/schemathesis-venv"
if ! "$venv/bin/st" --version 2>/dev/null | grep -qx "st, version $ST_VERSION"; then
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        echo "installing python3-venv (for schemathesis)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

# The postgres user must reach the data folder (the server runs initdb as postgres when root).
work="$(mktemp -d /var/tmp/moments-gate-st.XXXXXX)"
chmod 755 "$work"
server_pid=
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    # If the server died without stopping its PostgreSQL, stop it here.
    if [ -f "$work/pg/data/postmaster.pid" ]; then
        pg_ctl="$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | tail -1)"
        if [ "$(id -u)" = 0 ]; then
            runuser -u postgres -- "$pg_ctl" stop -m immediate -D "$work/pg/data" >/dev/null 2>&1 || true
        else
            "$pg_ctl" stop -m immediate -D "$work/pg/data" >/dev/null 2>&1 || true
        fi
    fi
    rm -rf "$work"
}
trap stop_server EXIT
logs="${ST_LOG_DIR:-$work}"
mkdir -p "$logs"
logs="$(cd "$logs" && pwd)"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
PGBOOT_DIR="$work/pg" BIND="127.0.0.1:$port" ANON_RATE_PER_MINUTE=1000000 \
    RUST_LOG="${RUST_LOG:-warn}" "$bin" serve >"$logs/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$logs/server.log" >&2; exit 1; }
    sleep 0.5
done
curl -fsS "$base/readyz" >/dev/null || { echo "server not ready" >&2; cat "$logs/server.log" >&2; exit 1; }

password=moments-gate-demo
login() {
    curl -fsS -X POST "$base/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"$password\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

export PYTHONPATH="$PWD/tests/schemathesis${PYTHONPATH:+:$PYTHONPATH}"
export SCHEMATHESIS_HOOKS=hooks PYTHONDONTWRITEBYTECODE=1
export MG_BASE_URL="$base" MG_FILTERED_LOG="$logs/dropped.txt"
: >"$MG_FILTERED_LOG"

failed=()
# run NAME TOKEN [extra st options]
run() {
    local name="$1" token="$2"
    shift 2
    echo "== schemathesis as $name (max-examples $MAX_EXAMPLES, seed $SEED)"
    local start=$SECONDS
    # From the temp folder: st and Hypothesis keep their example databases in the working
    # directory, and a run starts from nothing (repeatable with the seed).
    if (cd "$work" && MG_TOKEN="$token" "$venv/bin/st" run "$base/openapi.json" \
        --checks all \
        --phases "$PHASES" \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --workers 1 \
        --request-timeout 10 \
        --suppress-health-check all \
        --output-truncate false \
        "$@" >"$logs/st-$name.log" 2>&1); then
        sed -n '/^Test cases:/,$p' "$logs/st-$name.log"
    else
        cat "$logs/st-$name.log"
        failed+=("$name")
    fi
    echo "   ($name: $((SECONDS - start)) s)"
}

# Every credential is made before any run: st learns users' emails (GET /v1/me, brand
# members) and sends them to /v1/auth/login with wrong passwords, and ten failures lock an
# account for 15 minutes (SPEC §5).
marketer="$(login jadepeak@demo.example)"
reviewer="$(login reviewer2@demo.example)"
admin="$(login admin@demo.example)"
api_key="$(curl -fsS -X POST "$base/v1/api-keys" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' -d '{"name":"schemathesis"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')"

run marketer "$marketer"
run reviewer "$reviewer"
run api-key "$api_key" --include-path-regex '^/v1/gate/'
run admin "$admin"

# What the hooks dropped (see "Exclusions" above), by check, operation, status and codes.
if [ -s "$MG_FILTERED_LOG" ]; then
    echo "== dropped as the SPEC's answers (hooks.py), by count:"
    sort "$MG_FILTERED_LOG" | uniq -c | sort -rn
fi

# Whatever st sent, the server must still be up and must have logged no panic.
curl -fsS "$base/healthz" >/dev/null || { echo "server stopped answering /healthz" >&2; failed+=(healthz); }
if grep -n 'panicked' "$logs/server.log" >&2; then
    failed+=(panic)
fi
# The server's peak resident memory through the runs (issue 10: under 200 MB through the
# bench, fuzzing included). Reported, not enforced: it depends on the machine's cores (one
# 19 MiB argon2 block per hashing thread).
peak_kb="$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)"
echo "== server peak resident memory through the runs: $((peak_kb / 1024)) MB"

# SPEC §7: after some 25,000 requests of every kind, no usable secret is readable from the
# database: neither the credentials handed out above nor anything shaped like a session token
# or an API key (`mgs_`/`mgk_` and 43 base64url characters), in any table.
dump="$work/dump.sql"
pg_dump="$(command -v pg_dump || ls /usr/lib/postgresql/*/bin/pg_dump 2>/dev/null | tail -1)"
PGPASSWORD="$(cat "$work/pg/password")" "$pg_dump" --no-owner -h 127.0.0.1 \
    -p "$(cat "$work/pg/port")" -U postgres -d moments_gate >"$dump"
grep -q 'COPY public.api_keys' "$dump" || { echo "the dump is empty" >&2; failed+=(dump); }
for secret in "$marketer" "$reviewer" "$admin" "$api_key" "$password"; do
    if grep -qF -- "$secret" "$dump"; then
        echo "a secret handed out is in the database dump" >&2
        failed+=(secret-in-dump)
    fi
done
if grep -qE 'mg[sk]_[A-Za-z0-9_-]{43}' "$dump"; then
    echo "something shaped like a token or key is in the database dump:" >&2
    grep -oE 'mg[sk]_[A-Za-z0-9_-]{4}' "$dump" | head -3 >&2
    failed+=(token-in-dump)
fi
case " ${failed[*]} " in
    *dump*) ;;
    *) echo "== database dump after the runs: $(wc -c <"$dump") bytes, no token, key or password in it" ;;
esac

if [ "${#failed[@]}" -gt 0 ]; then
    echo "schemathesis failed: ${failed[*]}" >&2
    exit 1
fi
echo "schemathesis: all runs passed"
