"""Runner start lateness: how long after its scheduled start does a run really start?

Posts N tasks (noop, or rtt to 127.0.0.1 with count 1) with explicit absolute start times
spread over about 50 s, all posted ahead of the first start; then reads each run's `started`
(recorded by the runner when it claims the run) minus its `start-time`.

Usage: .venv/bin/python bench/runner.py [--url HOST:PORT] [-n 200] [--test noop|rtt]
Goal (issue 4): p99 < 50 ms on a 2-core machine (the original starts tools 3 s early and
polls every 15 s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import urllib.parse

from _node import BenchNode, percentile, request


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def task_for(test: str, start: dt.datetime) -> bytes:
    if test == "rtt":
        spec = {"test": {"type": "rtt", "spec": {"dest": "127.0.0.1", "count": 1}}}
    else:
        spec = {"test": {"type": "noop", "spec": {"data": 1}}}
    return json.dumps({**spec, "schedule": {"start": iso(start)}}).encode()


def path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="host:port of a running node (default: start one)")
    parser.add_argument("-n", type=int, default=200, help="runs to schedule")
    parser.add_argument("--spread", type=int, default=50, help="seconds the starts cover")
    parser.add_argument("--ahead", type=int, default=15, help="seconds before the first start")
    parser.add_argument("--test", choices=("noop", "rtt"), default="noop")
    args = parser.parse_args()
    node = None if args.url else BenchNode()
    host = args.url or node.host
    try:
        first = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(
            seconds=args.ahead
        )
        tasks = []
        for i in range(args.n):
            start = first + dt.timedelta(seconds=i * args.spread // args.n)
            status, body = request("POST", host, "/pscheduler/tasks", task_for(args.test, start))
            if status != 200:
                raise SystemExit(f"POST /tasks: {status} {body.decode(errors='replace')}")
            tasks.append(path_of(json.loads(body)))
        posted = dt.datetime.now(dt.timezone.utc)
        if posted >= first:
            raise SystemExit(f"posting took too long ({posted - first} past the first start)")
        last = first + dt.timedelta(seconds=(args.n - 1) * args.spread // args.n)
        print(f"{args.n} {args.test} runs posted; starts {iso(first)} .. {iso(last)}")
        time.sleep(max(0.0, (last - dt.datetime.now(dt.timezone.utc)).total_seconds()) + 3)
        late_ms, never = [], []
        for path in tasks:
            status, body = request("GET", host, path + "/runs/first?wait=30")
            run = json.loads(body) if status == 200 else {}
            if not run.get("started"):
                never.append(run.get("state", status))
                continue
            late = parse(run["started"]) - parse(run["start-time"])
            late_ms.append(late.total_seconds() * 1000)
        if never:
            print(f"{len(never)} run(s) never started: {sorted(set(map(str, never)))}")
        if not late_ms:
            raise SystemExit("no run started")
        mean = sum(late_ms) / len(late_ms)
        print(
            f"start lateness (started - start-time), n={len(late_ms)}: "
            f"mean={mean:.2f} ms  p50={percentile(late_ms, 50):.2f} ms  "
            f"p95={percentile(late_ms, 95):.2f} ms  p99={percentile(late_ms, 99):.2f} ms  "
            f"max={max(late_ms):.2f} ms  min={min(late_ms):.2f} ms  (goal: p99 < 50 ms)"
        )
    finally:
        if node:
            node.close()


if __name__ == "__main__":
    main()
