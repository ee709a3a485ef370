#!/usr/bin/env python3
"""Measures the latency of plan-tracker's aggregation endpoints on a running service.

Bounded: a fixed number of sequential requests to one loopback address, then it stops.
Prints one JSON object: per endpoint, the median and 95th percentile in milliseconds.
"""
import argparse
import json
import statistics
import time
import urllib.request


def call(url, token=None, body=None):
    request = urllib.request.Request(url, data=body)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="e.g. http://127.0.0.1:18300")
    parser.add_argument("--password", required=True, help="the admin password")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    if not args.base.startswith(("http://127.", "http://localhost")):
        raise SystemExit("only loopback targets are allowed")
    login = json.dumps({"username": "admin", "password": args.password}).encode()
    _, body = call(f"{args.base}/api/v1/auth/token", body=login)
    token = json.loads(body)["access_token"]
    endpoints = {
        "progress": "/api/v1/plans/1/progress?as_of=2025-12-31",
        "compliance": "/api/v1/plans/1/compliance?period=2024&as_of=2025-12-31",
        "series": "/api/v1/indicators/1/series",
    }
    results = {}
    for name, path in endpoints.items():
        call(f"{args.base}{path}", token)  # warm-up
        timings = []
        for _ in range(args.requests):
            started = time.perf_counter()
            status, _ = call(f"{args.base}{path}", token)
            timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
        timings.sort()
        results[name] = {
            "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
