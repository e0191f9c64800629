#!/usr/bin/env bash
# Load benchmark for issue 2: requests/s and latency of `leads(first: 20)` against the release
# build, next to `/healthz` measured the same way in the same run as the baseline.
#
# Usage: benches/http_load.sh [DATABASE_URL] [REDIS_URL]
#   default database: a fresh SQLite file; pass postgres://… to measure on PostgreSQL.
# Needs: wrk (Debian package `wrk`), curl, python3. Loopback only; bounded duration.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18181}
WORK=$(mktemp -d /tmp/leadline-load.XXXXXX)
cleanup() { [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

cargo build --release --quiet
export DATABASE_URL=${1:-sqlite://$WORK/leadline.db?mode=rwc}
[ -n "${2:-}" ] && export REDIS_URL=$2
LEADLINE_ADDR=127.0.0.1:$PORT RUST_LOG=warn ./target/release/leadline serve > "$WORK/out.log" 2> "$WORK/err.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

gql() { curl -sf "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} -d "$1"; }
slug="load-$(date +%s%N | tail -c 9)"
TOKEN=$(gql "{\"query\":\"mutation { signUp(input:{email:\\\"o@$slug.test\\\", password:\\\"load test password\\\", tenantName:\\\"Load\\\", tenantSlug:\\\"$slug\\\"}) { token } }\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["signUp"]["token"])')
for i in $(seq 1 100); do gql "{\"query\":\"mutation { createLead(input:{name:\\\"Lead $i\\\", email:\\\"l$i@x.test\\\"}) { lead { id } } }\"}" >/dev/null; done

cat > "$WORK/leads.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $TOKEN"
wrk.body = '{"query":"{ leads(first: 20) { totalCount edges { node { id name email score temperature status } } pageInfo { hasNextPage endCursor } } }"}'
LUA
# Check the query answers 20 leads before measuring it.
gql '{"query":"{ leads(first: 20) { edges { node { id } } } }"}' | python3 -c 'import sys,json; n=len(json.load(sys.stdin)["data"]["leads"]["edges"]); assert n==20, n'

run() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" | tee -a "$WORK/report.txt"; }
echo "== baseline: GET /healthz ($DURATION, $CONNECTIONS connections)"
run "http://127.0.0.1:$PORT/healthz"
echo "== leads(first: 20) as a signed-in member"
run -s "$WORK/leads.lua" "http://127.0.0.1:$PORT/graphql"
python3 - "$WORK/report.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = [float(x) for x in re.findall(r"Requests/sec:\s+([\d.]+)", text)]
def ms(v, unit): return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
p = [dict((k, ms(v, u)) for k, v, u in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s)", block)) for block in text.split("Requests/sec")[:2]]
print(f"\nsummary: healthz {rps[0]:.0f} req/s p50 {p[0]['50']:.2f} ms p99 {p[0]['99']:.2f} ms | "
      f"leads(first:20) {rps[1]:.0f} req/s p50 {p[1]['50']:.2f} ms p99 {p[1]['99']:.2f} ms | "
      f"throughput ratio leads/healthz = {rps[1]/rps[0]:.3f}")
PY
