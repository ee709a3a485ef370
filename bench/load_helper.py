#!/usr/bin/env python3
"""Helpers of bench/load.sh (standard library only; every loop is bounded).

  prepare      log in as the admin, create the units the POST case writes into, and print
               the token, plan years and indicator ids as one JSON object
  sqlite-time  run one SQL statement on a SQLite file for a fixed time, from one or several
               client processes (one connection each): rate, p50, p99
  pgbench-log  p50 / p99 from pgbench's --log files (from the end times of each client)
  report       the Markdown table of a JSON lines file written by load.sh
"""
import argparse
import glob
import json
import multiprocessing
import sqlite3
import sys
import time
import urllib.error
import urllib.request


def call(base, path, token=None, body=None, method=None):
    if not base.startswith(("http://127.", "http://localhost")):
        raise SystemExit("only loopback targets are allowed")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def prepare(args):
    status, body = call(args.base, "/api/v1/auth/token",
                        body={"username": "admin", "password": args.password})
    if status != 200:
        raise SystemExit(f"login answered {status}: {body}")
    token = body["access_token"]
    status, plan = call(args.base, f"/api/v1/plans/{args.plan}", token)
    if status != 200:
        raise SystemExit(f"plan {args.plan} answered {status}: {plan}")
    status, page = call(args.base, f"/api/v1/plans/{args.plan}/indicators?limit=500", token)
    if status != 200:
        raise SystemExit(f"indicators answered {status}: {page}")
    indicators = [f'{i["id"]}{"r" if i["target"]["kind"] == "rank_at_most" else ""}'
                  for i in page["items"]][: args.values_per_draft]
    if len(indicators) < args.values_per_draft:
        raise SystemExit(f"plan {args.plan} has only {len(indicators)} indicators")
    for n in range(1, args.units + 1):
        code = f"{args.prefix}{n:04d}"
        status, body = call(args.base, "/api/v1/units", token, body={
            "code": code, "name": f"Đơn vị đo tải {code}", "kind": "internal"})
        if status not in (200, 201):
            raise SystemExit(f"creating unit {code} answered {status}: {body}")
    print(json.dumps({
        "token": token,
        "years": f'{plan["period_start_year"]}-{plan["period_end_year"]}',
        "indicators": ",".join(indicators),
        "indicator_id": int(indicators[0].rstrip("r")),
    }))


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def _sqlite_client(db, sql, params, deadline, results):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute(sql, params).fetchall()  # warm-up
    local = []
    while time.monotonic() < deadline:
        started = time.perf_counter()
        conn.execute(sql, params).fetchall()
        local.append((time.perf_counter() - started) * 1000)
    conn.close()
    results.put(local)


def sqlite_time(args):
    # One process per client (threads would queue on the GIL and time it, not SQLite).
    sql = open(args.sql).read()
    params = json.loads(args.params)
    deadline = time.monotonic() + args.seconds
    results = multiprocessing.Queue()
    started = time.monotonic()
    clients = [multiprocessing.Process(target=_sqlite_client,
                                       args=(args.db, sql, params, deadline, results))
               for _ in range(args.clients)]
    for c in clients:
        c.start()
    timings = []
    for _ in clients:
        timings.extend(results.get(timeout=args.seconds + 60))
    for c in clients:
        c.join(timeout=60)
    elapsed = time.monotonic() - started
    timings.sort()
    print(json.dumps({
        "requests": len(timings), "rps": round(len(timings) / elapsed, 1),
        "p50_ms": round(percentile(timings, 50), 3), "p99_ms": round(percentile(timings, 99), 3),
    }))


def pgbench_log(args):
    # Each pgbench client runs its transactions back to back, so a transaction's latency is
    # the time between its end and the previous one's end on the same client (the logged
    # per-transaction time of pgbench 15 is sometimes 0 for a transaction that took hundreds
    # of µs: its lazily cached clock). A client's first transaction keeps its logged time.
    ends = {}
    for path in glob.glob(args.prefix + "*"):
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6:
                    client, tx, logged = int(fields[0]), int(fields[1]), int(fields[2])
                    end = int(fields[4]) * 1_000_000 + int(fields[5])
                    ends.setdefault(client, []).append((tx, end, logged))
    timings = []
    for rows in ends.values():
        rows.sort()
        previous = None
        for _, end, logged in rows:
            timings.append((end - previous if previous is not None else logged) / 1000)
            previous = end
    timings.sort()
    print(json.dumps({"p50_ms": round(percentile(timings, 50), 3),
                      "p99_ms": round(percentile(timings, 99), 3), "logged": len(timings)}))


def fmt(x, digits=2):
    return "–" if x is None else f"{x:,.{digits}f}"


def report(args):
    rows = [json.loads(line) for line in open(args.jsonl) if line.strip()]
    meta = next((r for r in rows if r.get("kind") == "meta"), {})
    print(f'Measured {meta.get("date", "?")} with `bash bench/load.sh` on {meta.get("machine", "?")}; '
          f'commit {meta.get("commit", "?")}, release build, HTTP workers (`WORKERS`): '
          f'{meta.get("workers", "the CPU count")}. Data: `seed-synthetic --plans '
          f'{meta.get("plans")} --units {meta.get("units")} --values {meta.get("values")}` then '
          f'the bulk load settled (PostgreSQL: `VACUUM (ANALYZE)`, `CHECKPOINT`; SQLite: `ANALYZE`, '
          f'WAL checkpoint). wrk {meta.get("threads")} threads, {meta.get("connections")} connections, '
          f'{meta.get("duration")} s per case (unless the case says otherwise). HTTP errors: '
          f'answers with status ≥ 400 (wrk\'s count); socket errors: connect, read, write and '
          f'timeout. Raw SQL: the statements in bench/sql/, by pgbench (-M prepared, over plain TCP as the service) or by '
          f'Python sqlite3 (one process per client), on the same database during the same run. '
          f'POST: every request a new draft in a free (unit, period) slot; the drafts stored may '
          f'exceed the 2xx count by the requests still in flight when wrk stopped.\n')
    print("| backend | case | req/s | × /healthz | p50 ms | p99 ms | HTTP errors | socket errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if r.get("kind") != "wrk":
            continue
        s = r["socket_errors"]
        print(f'| {r["backend"]} | {r["case"]} | {fmt(r["rps"], 0)} | {fmt(r.get("ratio_healthz"))} '
              f'| {fmt(r["p50_ms"])} | {fmt(r["p99_ms"])} | {r["non2xx"]} '
              f'| {s["connect"] + s["read"] + s["write"] + s["timeout"]} |')
    print("\n| backend | raw SQL, run directly | clients | rate/s | p50 ms | p99 ms |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        if r.get("kind") == "sql":
            print(f'| {r["backend"]} | {r["case"]} | {r["clients"]} | {fmt(r.get("rps"), 0)} '
                  f'| {fmt(r.get("p50_ms"), 3)} | {fmt(r.get("p99_ms"), 3)} |')
    def pairs(r, key):
        values = r.get(key)
        return f' ({", ".join(fmt(x) for x in values)})' if values else ""

    print("\nReads of record: the median of the turns (each turn's p99 in brackets).\n")
    print("| backend | GET indicator req/s | GET indicator p99 ms | list req/s | list p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        if r.get("kind") == "summary":
            print(f'| {r["backend"]} | {fmt(r["indicator_rps"], 0)} '
                  f'| {fmt(r["indicator_p99_ms"])}{pairs(r, "indicator_p99_ms_turns")} '
                  f'| {fmt(r["list_rps"], 0)} | {fmt(r["list_p99_ms"])}{pairs(r, "list_p99_ms_turns")} |')

    print("\nRatios to the same SQL run directly: the median of the turns (each turn's ratio in "
          "brackets), service and SQL measured seconds apart.\n")
    print("| backend | peak RSS (VmHWM) | GET indicator ÷ pgbench SELECT "
          "| progress p50 ÷ SQL p50 (1 conn) | progress p99 ÷ SQL p99 (1 conn) "
          "| progress p99 ÷ SQL p99 (same clients) | POST: 2xx / drafts stored |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if r.get("kind") == "summary":
            print(f'| {r["backend"]} | {fmt(r["peak_rss_kib"] / 1024, 1)} MiB '
                  f'| {fmt(r.get("indicator_vs_pgbench"))}{pairs(r, "indicator_vs_pgbench_pairs")} '
                  f'| {fmt(r.get("progress_p50_vs_sql_1"))} '
                  f'| {fmt(r.get("progress_p99_vs_sql_1"))}{pairs(r, "progress_p99_vs_sql_1_pairs")} '
                  f'| {fmt(r.get("progress_p99_vs_sql_n"))}{pairs(r, "progress_p99_vs_sql_n_pairs")} '
                  f'| {r["post_requests"] - r["post_http_errors"]:,} / {r["drafts_created"]:,} |')


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--base", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--plan", type=int, default=1)
    p.add_argument("--units", type=int, required=True)
    p.add_argument("--prefix", default="BENCH-")
    p.add_argument("--values-per-draft", type=int, default=20)
    p = sub.add_parser("sqlite-time")
    p.add_argument("--db", required=True)
    p.add_argument("--sql", required=True)
    p.add_argument("--params", default="[]", help="JSON array of bound parameters")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--clients", type=int, default=1, help="processes, one connection each")
    p = sub.add_parser("pgbench-log")
    p.add_argument("--prefix", required=True)
    p = sub.add_parser("report")
    p.add_argument("jsonl")
    args = parser.parse_args()
    {"prepare": prepare, "sqlite-time": sqlite_time, "pgbench-log": pgbench_log,
     "report": report}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
