#!/usr/bin/env bash
# Runs every benchmark once and prints each one's summary lines (each bench measures its own
# baseline in the same run and prints the ratio). Release builds; loopback only.
#
# Usage: benches/run.sh
#   BENCH_DATABASE_URL=postgres://…/postgres  also run the PostgreSQL variants (and cross_replica,
#   BENCH_REDIS_URL=redis://…                 which needs both)
# The PostgreSQL job-queue run migrates the database it is given; point it at a scratch server.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n## %s\n' "$*"; }
summary() { grep -E '^(  |[a-z_]+ \(|backend|baseline|claim|ratio|live_pipeline|many_sockets|webhook|pgbench)' || true; }

say "job queue, SQLite"
env -u BENCH_DATABASE_URL cargo bench --quiet -p leadline-api --bench job_queue 2>/dev/null | summary
say "live pipeline, SQLite"
env -u BENCH_DATABASE_URL cargo bench --quiet -p leadline-api --bench live_pipeline 2>/dev/null | summary
say "support sessions, SQLite + in-process bus"
env -u BENCH_DATABASE_URL -u BENCH_REDIS_URL cargo bench --quiet --bench support_sessions 2>/dev/null | summary
say "10,000 subscribed sockets on one server process, SQLite + in-process bus"
cargo bench --quiet --bench many_sockets 2>/dev/null | summary
say "webhook ingest, SQLite"
env -u BENCH_DATABASE_URL cargo bench --quiet --bench webhook_ingest 2>/dev/null | summary

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  say "job queue, PostgreSQL"
  cargo bench --quiet -p leadline-api --bench job_queue 2>/dev/null | summary
  say "live pipeline, PostgreSQL"
  cargo bench --quiet -p leadline-api --bench live_pipeline 2>/dev/null | summary
  say "webhook ingest, PostgreSQL (pgbench baseline)"
  cargo bench --quiet --bench webhook_ingest 2>/dev/null | summary
  if [ -n "${BENCH_REDIS_URL:-}" ]; then
    say "support sessions, PostgreSQL + Redis"
    cargo bench --quiet --bench support_sessions 2>/dev/null | summary
    say "events across two replicas, PostgreSQL + Redis"
    cargo bench --quiet --bench cross_replica 2>/dev/null | summary
  fi
fi
say "leads(first: 20) against /healthz (needs wrk)"
if command -v wrk >/dev/null; then benches/http_load.sh; else echo "wrk is not installed; skipped"; fi
