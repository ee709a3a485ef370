#!/usr/bin/env bash
# Load benchmark of issue 6: throughput and tail latency under concurrent load, on SQLite and
# PostgreSQL, with the ratios the issue asks for, measured in the same run. Not part of CI's
# pass/fail: run it by hand on a quiet machine and copy the table into bench/RESULTS.md.
#
#   bash bench/load.sh                                  # 1M values, 16 connections, 10 s a case
#   VALUES=10000 DURATION=3 bash bench/load.sh          # a smoke run
#   BACKENDS=postgres PG_URL=postgres://postgres@127.0.0.1:5432 bash bench/load.sh
#
# Settings (environment): VALUES (1000000), PLANS (10), UNITS (100), DURATION seconds (10),
# CONNECTIONS (16), THREADS of wrk (2), BACKENDS ("sqlite postgres"), PG_URL (loopback only),
# PORT (18310), POST_RATE_CAP (4000: the POST case gets enough free slots for this many
# creates per second over DURATION), PAIRS (5: turns of the reads and of the SQL run
# directly, for the medians of record and the ratios), LIST_QUERY, OUT (the JSON lines file). The service's own
# settings (WORKERS, DB_POOL_SIZE, …) pass through from the environment.
#
# Per backend: seed a fresh database (SQLite file; PostgreSQL database created here and dropped
# on exit), ANALYZE, start `serve` on 127.0.0.1, log in as the bootstrap admin, then wrk per
# case, pgbench / SQLite timings of the same SQL, and the service's peak RSS (VmHWM) before
# stopping it. Everything is bounded: fixed durations, `timeout` around every client, bounded
# waits; the server is killed and the database dropped by the EXIT trap.
set -euo pipefail
cd "$(dirname "$0")/.."

VALUES="${VALUES:-1000000}"
PLANS="${PLANS:-10}"
UNITS="${UNITS:-100}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-16}"
THREADS="${THREADS:-2}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT="${PORT:-18310}"
POST_RATE_CAP="${POST_RATE_CAP:-4000}"
PAIRS="${PAIRS:-5}"
PLAN=1
AS_OF=2025-12-31
# One unit's reports of one plan and one period: the (plan_id, unit_code, period) unique index.
LIST_QUERY="${LIST_QUERY:-plan_id=$PLAN&unit=SYN-U0001&period=2023}"
OUT="${OUT:-bench/results/load-$(date -u +%Y%m%dT%H%M%SZ).jsonl}"
PASSWORD="Bench-root-2025x"
export JWT_SECRET="bench-secret-bench-secret-bench-secret"

case "$PG_URL" in
  postgres://*@127.0.0.1[:/]* | postgres://*@127.0.0.1 | postgres://*@localhost[:/]* | postgres://*@localhost) ;;
  *) echo "PG_URL must point at 127.0.0.1 or localhost" >&2; exit 2 ;;
esac
for tool in wrk curl jq python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done
if [[ " $BACKENDS " == *" postgres "* ]]; then
  for tool in psql pgbench; do
    command -v "$tool" >/dev/null || { echo "$tool is required for PostgreSQL" >&2; exit 2; }
  done
fi

if curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz"; then
  echo "something already answers on port $PORT (a server left running?): stop it or set PORT" >&2
  exit 2
fi
cargo build --release --quiet
bin=target/release/plan-tracker
work=$(mktemp -d)
mkdir -p "$(dirname "$OUT")"
: >"$OUT"
server=""
pgdb=""

cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  if [ -n "$pgdb" ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

base="http://127.0.0.1:$PORT"
bound=$((DURATION + 60)) # the longest any client may take, for `timeout`
periods_per_unit=95      # 5 years × (year, 2 halves, 4 quarters, 12 months)
post_units=$(((POST_RATE_CAP * DURATION + periods_per_unit - 1) / periods_per_unit))

record() { echo "$1" >>"$OUT"; }

jq -nc --arg date "$(date -u +%Y-%m-%dT%H:%MZ)" \
  --arg machine "$(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), wrk, service and database sharing them" \
  --arg commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src migrations Cargo.lock || echo '+dirty')" \
  --arg wrk "$(wrk -v 2>&1 | head -1 | cut -c1-60)" \
  --arg workers "${WORKERS:-the CPU count}" \
  --argjson values "$VALUES" --argjson plans "$PLANS" --argjson units "$UNITS" \
  --argjson duration "$DURATION" --argjson connections "$CONNECTIONS" --argjson threads "$THREADS" \
  '{kind:"meta",date:$date,machine:$machine,commit:$commit,wrk:$wrk,workers:$workers,values:$values,plans:$plans,
    units:$units,duration:$duration,connections:$connections,threads:$threads}' >>"$OUT"

# wrk_case NAME PATH [MODE [CONNECTIONS [THREADS]]]: one wrk run, recorded; sets $last_json.
wrk_case() {
  local name=$1 path=$2 mode=${3:-get} conns=${4:-$CONNECTIONS} threads=${5:-$THREADS} out json
  out=$(BENCH_MODE=$mode BENCH_THREADS=$threads timeout "$bound" \
    wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 10s --latency \
    -s bench/wrk/load.lua "$base$path")
  json=$(grep '^WRK_JSON ' <<<"$out" | cut -d' ' -f2-)
  [ -n "$json" ] || { echo "wrk printed no summary for $name:" >&2; echo "$out" >&2; exit 1; }
  last_json=$(jq -c --arg b "$backend" --arg c "$name" --arg p "$path" \
    --argjson conns "$conns" --argjson threads "$threads" --argjson healthz "${healthz_rps:-0}" \
    '{kind:"wrk",backend:$b,case:$c,path:$p,connections:$conns,threads:$threads} + .
     + (if $healthz > 0 then {ratio_healthz: ((.rps / $healthz * 1000 | round) / 1000)} else {} end)' \
    <<<"$json")
  record "$last_json"
  jq -r '"  \(.case): \(.rps) req/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, HTTP errors \(.non2xx), socket errors \(.socket_errors | add)"' <<<"$last_json"
  sleep 1
}

# sql_case NAME CLIENTS JSON: records a raw-SQL measurement.
sql_case() {
  local json
  json=$(jq -c --arg b "$backend" --arg c "$1" --argjson n "$2" \
    '{kind:"sql",backend:$b,case:$c,clients:$n} + .' <<<"$3")
  record "$json"
  jq -r '"  SQL \(.case), clients \(.clients): \(.rps) /s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms"' <<<"$json"
}

# pgbench_case NAME SCRIPT CLIENTS [-D …]: pgbench over the same database, latency from its log.
# Over plain TCP, as the service talks to PostgreSQL (its libpq is compiled without TLS): the
# system's pgbench would otherwise negotiate TLS (sslmode=prefer, and Debian's server has ssl
# on), which cost it about a third of its rate here and flattered every ratio to it.
pgbench_case() {
  local name=$1 script=$2 clients=$3 jobs out tps lat log
  shift 3
  log="$work/pgb-${name//[^A-Za-z0-9]/_}"
  jobs=$((clients < THREADS ? clients : THREADS))
  out=$(timeout "$bound" pgbench -n -M prepared -c "$clients" -j "$jobs" \
    -T "$DURATION" -f "$script" "$@" --log --log-prefix="$log" "$url?sslmode=disable" 2>&1) ||
    { echo "pgbench $name failed:" >&2; echo "$out" >&2; exit 1; }
  tps=$(grep -oP 'tps = \K[0-9.]+' <<<"$out" | head -1)
  lat=$(python3 bench/load_helper.py pgbench-log --prefix "$log.")
  rm -f "$log".*
  sql_case "$name" "$clients" "$(jq -c --argjson tps "$tps" '{rps: ($tps * 10 | round / 10)} + .' <<<"$lat")"
  sleep 1
}

# progress_sql CLIENTS ROUND: the progress endpoint's aggregation run directly, recorded.
progress_sql() {
  local clients=$1 round=$2 timing
  if [ "$backend" = postgres ]; then
    pgbench_case "progress yearly_totals (pgbench), turn $round/$PAIRS" bench/sql/yearly_totals.pg.sql \
      "$clients" -D plan="$PLAN" -D statuses='{accepted}' -D year_type=year -D last_year="${AS_OF:0:4}"
  else
    timing=$(timeout "$bound" python3 bench/load_helper.py sqlite-time --db "$dbfile" \
      --sql bench/sql/yearly_totals.sqlite.sql --params "[$PLAN, \"accepted\", \"year\", \"${AS_OF:0:4}\"]" \
      --seconds "$DURATION" --clients "$clients")
    sql_case "progress yearly_totals (python sqlite3), turn $round/$PAIRS" "$clients" "$timing"
    sleep 1
  fi
}

for backend in $BACKENDS; do
  echo "== $backend: seeding $VALUES values ($PLANS plans, $UNITS units)"
  if [ "$backend" = sqlite ]; then
    dbfile="$work/load.db"
    url="sqlite://$dbfile"
  else
    pgdb="plan_tracker_load_$$"
    PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $pgdb" \
      -c "CREATE DATABASE $pgdb" >/dev/null
    url="$PG_URL/$pgdb"
  fi
  DATABASE_URL="$url" RUST_LOG=warn timeout 3600 "$bin" seed-synthetic \
    --plans "$PLANS" --units "$UNITS" --values "$VALUES"
  # seed-synthetic ends with ANALYZE already; again here so the statistics are fresh whatever
  # the generator does. The bulk load's own aftermath is settled before anything is measured:
  # on PostgreSQL, autovacuum of a million fresh rows and the checkpoint that flushes them
  # would otherwise run during the cases (seen as p99 stalls of a quarter second); on SQLite,
  # the WAL is folded back into the database file.
  if [ "$backend" = sqlite ]; then
    python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("ANALYZE"); c.commit(); c.execute("PRAGMA wal_checkpoint(TRUNCATE)")' "$dbfile"
  else
    psql "$url" -qc "VACUUM (ANALYZE)" -c "CHECKPOINT" >/dev/null
  fi

  DATABASE_URL="$url" BIND="127.0.0.1:$PORT" BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" RUST_LOG=warn \
    "$bin" serve >"$work/server-$backend.log" 2>&1 &
  server=$!
  for _ in $(seq 1 150); do
    curl -sf "$base/readyz" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server-$backend.log" >&2; exit 1; }
    sleep 0.2
  done
  curl -sf "$base/readyz" >/dev/null || { echo "service not ready" >&2; exit 1; }

  echo "== $backend: creating $post_units units for the POST case"
  prep=$(timeout 600 python3 bench/load_helper.py prepare --base "$base" --password "$PASSWORD" \
    --plan "$PLAN" --units "$post_units" --prefix BENCH-)
  export BENCH_TOKEN BENCH_PLAN=$PLAN BENCH_UNIT_PREFIX=BENCH- BENCH_UNIT_COUNT=$post_units
  BENCH_TOKEN=$(jq -r .token <<<"$prep")
  export BENCH_YEARS BENCH_INDICATORS
  BENCH_YEARS=$(jq -r .years <<<"$prep")
  BENCH_INDICATORS=$(jq -r .indicators <<<"$prep")
  indicator_id=$(jq -r .indicator_id <<<"$prep")

  indicator_path="/api/v1/indicators/$indicator_id"
  list_path="/api/v1/submissions?$LIST_QUERY"
  progress_path="/api/v1/plans/$PLAN/progress?as_of=$AS_OF"
  # Each read answers 200 once before it is measured (and the list finds something).
  for path in "$indicator_path" "$list_path" "$progress_path"; do
    code=$(curl -s -o "$work/answer.json" -w '%{http_code}' -H "Authorization: Bearer $BENCH_TOKEN" "$base$path")
    [ "$code" = 200 ] || { echo "$path answered $code: $(head -c 500 "$work/answer.json")" >&2; exit 1; }
  done
  listed=$(curl -s -H "Authorization: Bearer $BENCH_TOKEN" "$base$list_path" | jq '.items | length')
  [ "$listed" -gt 0 ] || { echo "$list_path lists nothing: pick another LIST_QUERY" >&2; exit 1; }

  echo "== $backend: wrk, $CONNECTIONS connections, $DURATION s per case"
  healthz_rps=""
  wrk_case "GET /healthz" /healthz
  healthz_rps=$(jq .rps <<<"$last_json")
  sed -i '$d' "$OUT" # the healthz line again, with its ratio to itself
  record "$(jq -c '.ratio_healthz = 1' <<<"$last_json")"

  # Each comparison with the database's own rate or latency is made in PAIRS turns, the
  # service's case and the same SQL run directly seconds apart: on a shared machine the load
  # of others moved pgbench's rate for one SELECT by a third between minutes of one run, so
  # two measurements minutes apart say more about the neighbours than about the service. The
  # ratio of record is the median of the pairs'. The reads' own rates and tails are taken in
  # the same turns, their medians of record for the same reason: one 10 s sample of the list
  # gave p99 5.9 ms in one run and 12.9 ms in another with the same p50.
  echo "== $backend: the service and the same SQL run directly, in $PAIRS turns"
  indicator_pairs="[]"
  progress_pairs="[]"
  reads="[]"
  for round in $(seq 1 "$PAIRS"); do
    wrk_case "GET /indicators/{id}, turn $round/$PAIRS" "$indicator_path"
    service=$last_json
    reads=$(jq -c --argjson s "$service" '. + [$s + {read: "indicator"}]' <<<"$reads")
    if [ "$backend" = postgres ]; then
      pgbench_case "indicator SELECT by id, turn $round/$PAIRS" bench/sql/indicator_by_id.pg.sql \
        "$CONNECTIONS" -D id="$indicator_id"
      indicator_pairs=$(jq -c --argjson s "$service" --argjson q "$(tail -1 "$OUT")" \
        '. + [$s.rps / $q.rps]' <<<"$indicator_pairs")
    fi
    wrk_case "GET /submissions?plan_id&unit&period, turn $round/$PAIRS" "$list_path"
    reads=$(jq -c --argjson s "$last_json" '. + [$s + {read: "list"}]' <<<"$reads")
    for clients in 1 "$CONNECTIONS"; do
      wrk_case "GET /plans/{id}/progress, $clients conn., turn $round/$PAIRS" \
        "$progress_path" get "$clients" "$((clients < THREADS ? clients : THREADS))"
      service=$last_json
      progress_sql "$clients" "$round"
      progress_pairs=$(jq -c --argjson s "$service" --argjson q "$(tail -1 "$OUT")" --argjson c "$clients" \
        '. + [{clients: $c, p50: ($s.p50_ms / $q.p50_ms), p99: ($s.p99_ms / $q.p99_ms)}]' <<<"$progress_pairs")
    done
  done

  # Writes last: the reads above see the seeded data set, not it plus thousands of drafts.
  drafts_before=$(curl -s -H "Authorization: Bearer $BENCH_TOKEN" "$base/api/v1/submissions?status=draft&limit=1" | jq .total)
  wrk_case "POST /plans/{id}/submissions (draft, 20 values)" "/api/v1/plans/$PLAN/submissions" post
  post=$last_json
  drafts_after=$(curl -s -H "Authorization: Bearer $BENCH_TOKEN" "$base/api/v1/submissions?status=draft&limit=1" | jq .total)

  rss=$(awk '/^VmHWM/{print $2}' "/proc/$server/status")
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
  summary=$(jq -nc --arg b "$backend" --argjson rss "$rss" \
    --argjson ind "$([ "$backend" = postgres ] && echo "$indicator_pairs" || echo null)" \
    --argjson prog "$progress_pairs" --argjson n "$CONNECTIONS" --argjson reads "$reads" \
    --argjson post "$post" --argjson before "$drafts_before" --argjson after "$drafts_after" \
    'def r: (. * 100 | round) / 100;
     def median: sort | (.[(length - 1) / 2 | floor] + .[length / 2 | floor]) / 2 | r;
     def at($c; f): [$prog[] | select(.clients == $c) | f];
     def read($r; f): [$reads[] | select(.read == $r) | f];
     {kind:"summary",backend:$b,peak_rss_kib:$rss,
      indicator_rps:(read("indicator"; .rps) | median | round),
      indicator_p99_ms:(read("indicator"; .p99_ms) | median),
      indicator_p99_ms_turns:read("indicator"; .p99_ms | r),
      list_rps:(read("list"; .rps) | median | round),
      list_p99_ms:(read("list"; .p99_ms) | median),
      list_p99_ms_turns:read("list"; .p99_ms | r),
      indicator_vs_pgbench:(if $ind then ($ind | median) else null end),
      indicator_vs_pgbench_pairs:(if $ind then ($ind | map(r)) else null end),
      progress_p50_vs_sql_1:(at(1; .p50) | median),
      progress_p99_vs_sql_1:(at(1; .p99) | median),
      progress_p99_vs_sql_1_pairs:(at(1; .p99 | r)),
      progress_p99_vs_sql_n:(at($n; .p99) | median),
      progress_p99_vs_sql_n_pairs:(at($n; .p99 | r)),
      post_requests:$post.requests, post_http_errors:$post.non2xx,
      drafts_created:($after - $before)}')
  record "$summary"
  jq -r '"  medians of the turns: GET indicator \(.indicator_rps) req/s, p99 \(.indicator_p99_ms) ms (turns \(.indicator_p99_ms_turns)); list \(.list_rps) req/s, p99 \(.list_p99_ms) ms (turns \(.list_p99_ms_turns));
  peak RSS \(.peak_rss_kib) KiB; GET indicator ÷ pgbench SELECT: median \(.indicator_vs_pgbench) of the pairs \(.indicator_vs_pgbench_pairs);
  progress ÷ raw SQL, medians: p50 \(.progress_p50_vs_sql_1) and p99 \(.progress_p99_vs_sql_1) at 1 connection (pairs \(.progress_p99_vs_sql_1_pairs)), p99 \(.progress_p99_vs_sql_n) at '"$CONNECTIONS"' (pairs \(.progress_p99_vs_sql_n_pairs));
  POST: \(.post_requests) requests answered, \(.post_http_errors) HTTP errors, \(.drafts_created) drafts stored (more by the requests in flight when wrk stopped)"' <<<"$summary"

  if [ "$backend" = postgres ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE $pgdb WITH (FORCE)" >/dev/null
    pgdb=""
  fi
done

echo
echo "Results: $OUT"
echo
python3 bench/load_helper.py report "$OUT"
