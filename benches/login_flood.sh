#!/usr/bin/env bash
# Trust (issue 11): what one request with 500 aliased `login` fields costs, next to one ordinary
# wrong-password login (one Argon2 verification) measured the same way in the same run as the
# baseline. Before the one-authentication-mutation rule the flood ran Argon2 500 times.
#
# Usage: benches/login_flood.sh        (BIN=target/release/leadline to measure a release build)
# Prints the median of 7 requests of each kind and their ratio. Needs curl and python3; loopback
# only; the limits are raised for the run so neither request is refused by a rate limit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/leadline}
PORT=${PORT:-18431}
[ -x "$BIN" ] || cargo build --all-features --quiet
WORK=$(mktemp -d /tmp/leadline-flood.XXXXXX)
cleanup() { [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
DATABASE_URL="sqlite://$WORK/flood.db?mode=rwc" LEADLINE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
  LEADLINE_LOGIN_RATE_PER_MINUTE=100000 LEADLINE_LOGIN_IP_RATE_PER_MINUTE=100000 \
  LEADLINE_LOGIN_GLOBAL_RATE_PER_MINUTE=100000 "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -sf "127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
post() { curl -s "127.0.0.1:$PORT/graphql" -H 'content-type: application/json' -d "$1" -o "$WORK/out.json"; }
post '{"query":"mutation { signUp(input:{email:\"o@flood.test\",password:\"correct horse battery\",tenantName:\"Flood\",tenantSlug:\"flood\"}) { token } }"}'
ONE='{"query":"mutation { login(input:{email:\"o@flood.test\",password:\"wrong password 1\"}) { token } }"}'
MANY=$(python3 -c 'import json; print(json.dumps({"query": "mutation { " + " ".join("a%d: login(input:{email:\"o@flood.test\",password:\"wrong %d\"}) { token }" % (i, i) for i in range(500)) + " }"}))')
median_us() {
  for _ in 1 2 3 4 5 6 7; do
    start=$(date +%s%N); post "$1"; end=$(date +%s%N); echo $(((end - start) / 1000))
  done | sort -n | sed -n 4p
}
ONE_US=$(median_us "$ONE")
MANY_US=$(median_us "$MANY")
echo "one login (one Argon2 verification): median ${ONE_US} us"
echo "500 aliased logins in one request:   median ${MANY_US} us  ($(head -c 120 "$WORK/out.json")...)"
python3 -c "print('ratio flood / one login: %.3f' % ($MANY_US / $ONE_US))"
