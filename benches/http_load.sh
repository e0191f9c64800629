#!/usr/bin/env bash
# Load benchmark for issue 2: requests/s and latency of `leads(first: 20)` against the release
# build, next to `/healthz` measured the same way in the same run as the baseline.
#
# Usage: benches/http_load.sh [DATABASE_URL] [REDIS_URL]
#   default database: a fresh SQLite file; pass postgres://… to measure on PostgreSQL (an empty
#   scratch database: the tenant's leads are counted).
#   LEADS=100000      leads in the tenant (default 100): 100 through createLead, the rest copied
#                     in SQL (sqlite3 or psql), so p99 can be compared across tenant sizes
#   COUNT_TOTAL=0     measure the page without `totalCount` (default 1: with it)
#   LEADLINE_BIN=…    serve this binary instead of building target/release/leadline (to
#                     alternate a before and an after build in one session)
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

LEADS=${LEADS:-100}
COUNT_TOTAL=${COUNT_TOTAL:-1}
if [ -z "${LEADLINE_BIN:-}" ]; then
  cargo build --release --quiet
  LEADLINE_BIN=./target/release/leadline
fi
export DATABASE_URL=${1:-sqlite://$WORK/leadline.db?mode=rwc}
[ -n "${2:-}" ] && export REDIS_URL=$2
LEADLINE_ADDR=127.0.0.1:$PORT RUST_LOG=warn "$LEADLINE_BIN" serve > "$WORK/out.log" 2> "$WORK/err.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

gql() { curl -sf "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} -d "$1"; }
slug="load-$(date +%s%N | tail -c 9)"
TOKEN=$(gql "{\"query\":\"mutation { signUp(input:{email:\\\"o@$slug.test\\\", password:\\\"load test password\\\", tenantName:\\\"Load\\\", tenantSlug:\\\"$slug\\\"}) { token } }\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["signUp"]["token"])')
for i in $(seq 1 100); do gql "{\"query\":\"mutation { createLead(input:{name:\\\"Lead $i\\\", email:\\\"l$i@x.test\\\"}) { lead { id } } }\"}" >/dev/null; done
if [ "$LEADS" -gt 100 ]; then
  # Copies of the 100 leads, each under a new random id, so listings walk a big tenant.
  copies=$(( (LEADS - 100 + 99) / 100 ))
  columns="tenant_id, name, email, phone, company, status, score, temperature, source_channel, notes, handler, assigned_user_id, metadata, last_contacted_at, call_consent, call_consent_at, time_zone, created_at, updated_at"
  tenant="(SELECT id FROM tenants WHERE slug = '$slug')"
  case "$DATABASE_URL" in
    postgres*) psql -q "$DATABASE_URL" -c "INSERT INTO leads (id, $columns) SELECT gen_random_uuid(), ${columns/name,/name || ' ' || g,} FROM leads, generate_series(1, $copies) g WHERE tenant_id = $tenant" ;;
    *) file=${DATABASE_URL#sqlite://}; sqlite3 "${file%%\?*}" ".timeout 5000" "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $copies) INSERT INTO leads (id, $columns) SELECT randomblob(16), ${columns/name,/name || ' ' || n,} FROM leads, g WHERE tenant_id = $tenant" ;;
  esac
fi

TOTAL_FIELD=$([ "$COUNT_TOTAL" = 0 ] || echo totalCount)
echo "== $(gql '{"query":"{ leads(first: 1) { totalCount } }"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["leads"]["totalCount"])') leads in the tenant; totalCount selected: $COUNT_TOTAL"
cat > "$WORK/leads.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $TOKEN"
wrk.body = '{"query":"{ leads(first: 20) { $TOTAL_FIELD edges { node { id name email score temperature status } } pageInfo { hasNextPage endCursor } } }"}'
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
