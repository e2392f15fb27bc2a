"""API latency with a new TLS connection per request, as the original's clients make them.

Usage: .venv/bin/python bench/api.py [--url HOST:PORT] [-n 300]
Goals (issue 2/3): spec/is-valid mean < 10 ms (original 289 ms), GET / < 8 ms,
POST /tasks mean < 15 ms (original 1.39-1.88 s).
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.parse

from _node import BenchNode, request, summary


def timed(n: int, fn) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        status = fn()
        out.append((time.perf_counter() - began) * 1000)
        assert status in (200, 303), status
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="host:port of a running node (default: start one)")
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    node = None if args.url else BenchNode()
    host = args.url or node.host
    try:
        spec = urllib.parse.quote(json.dumps({"schema": 1, "dest": "127.0.0.1"}))
        test = "rtt"
        if request("GET", host, "/pscheduler/tests/rtt")[0] != 200:
            test, spec = "idle", urllib.parse.quote(json.dumps({"duration": "PT1S"}))
        path = f"/pscheduler/tests/{test}/spec/is-valid?spec={spec}"
        timed(20, lambda: request("GET", host, path)[0])  # warm up every worker
        print(
            summary(
                f"GET /tests/{test}/spec/is-valid",
                timed(args.n, lambda: request("GET", host, path)[0]),
                "(goal: mean < 10 ms)",
            )
        )
        print(
            summary(
                "GET /",
                timed(args.n, lambda: request("GET", host, "/pscheduler/")[0]),
                "(goal: mean < 8 ms)",
            )
        )
        later = json.dumps(
            {"test": {"type": "idle", "spec": {"duration": "PT1S"}}, "schedule": {"start": "PT1H"}}
        ).encode()
        print(
            summary(
                "POST /tasks (idle, starting in an hour)",
                timed(args.n, lambda: request("POST", host, "/pscheduler/tasks", later)[0]),
                "(goal: mean < 15 ms)",
            )
        )
        now = json.dumps({"test": {"type": "noop", "spec": {"data": 1}}, "schedule": {}}).encode()
        print(
            summary(
                "POST /tasks (noop, running at once alongside)",
                timed(args.n, lambda: request("POST", host, "/pscheduler/tasks", now)[0]),
                "(goal: mean < 15 ms)",
            )
        )
    finally:
        if node:
            node.close()


if __name__ == "__main__":
    main()
