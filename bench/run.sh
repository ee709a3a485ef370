#!/usr/bin/env bash
# Latency of the aggregation endpoints (sequential requests; bench/load.sh is the load
# benchmark under concurrency) at 10k, 100k and 1M accepted values, on SQLite
# and PostgreSQL. Not part of CI's pass/fail: run it by hand and read bench/RESULTS.md.
# Traffic goes to 127.0.0.1 only; every loop is bounded.
#   PG_URL=postgres://postgres@127.0.0.1:5432 bash bench/run.sh [sizes…]
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-10000 100000 1000000}")
read -r -a sizes <<<"${sizes[*]}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT="${PORT:-18300}"
PASSWORD="Bench-root-2025x"
cargo build --release --quiet
bin=target/release/plan-tracker
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

results="$work/results.jsonl"
for backend in sqlite postgres; do
  for n in "${sizes[@]}"; do
    if [ "$backend" = sqlite ]; then
      url="sqlite://$work/bench-$n.db"
    else
      db="plan_tracker_bench_$n"
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
      url="$PG_URL/$db"
    fi
    seeded=$(DATABASE_URL="$url" RUST_LOG=warn "$bin" seed-synthetic --plans 10 --units 100 --values "$n")
    DATABASE_URL="$url" BIND="127.0.0.1:$PORT" BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" \
      JWT_SECRET="bench-secret-bench-secret-bench-secret" RUST_LOG=warn "$bin" serve &
    server=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
    latency=$(python3 bench/latency.py --base "http://127.0.0.1:$PORT" --password "$PASSWORD" --requests 100)
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
    echo "{\"backend\":\"$backend\",\"values\":$n,\"seeded\":\"$seeded\",\"latency\":$latency}" | tee -a "$results"
    [ "$backend" = postgres ] && psql "$PG_URL/postgres" -qc "DROP DATABASE $db" >/dev/null
  done
done
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| backend | accepted values | progress p50 / p95 (ms) | compliance p50 / p95 | series p50 / p95 |")
print("|---|---|---|---|---|")
for r in rows:
    l = r["latency"]
    cells = [f'{l[k]["p50_ms"]} / {l[k]["p95_ms"]}' for k in ("progress", "compliance", "series")]
    print(f'| {r["backend"]} | {r["values"]:,} | ' + " | ".join(cells) + " |")
PY
