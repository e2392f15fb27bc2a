"""Scheduler figures (issue 3):

1. POST /tasks -> first run finished for a noop task (p95 goal < 1.5 s; original 8.7 s mean).
2. Placement rate with 500 repeating exclusive tasks (PT5M repeat, P1D horizon): runs placed
   per second, conflict-checked (goal >= 1,000/s).  The scheduler is stopped (SIGSTOP) while
   the tasks are posted and resumed to place them all at once; the clock runs from SIGCONT
   until no task has work left within the horizon.

Usage: .venv/bin/python bench/scheduler.py [-n 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import time

import psycopg2
from _node import BenchNode, request, summary


def first_run_latency(node: BenchNode, n: int) -> list[float]:
    body = json.dumps({"test": {"type": "noop", "spec": {"data": 1}}, "schedule": {}}).encode()
    out = []
    for _ in range(n):
        began = time.perf_counter()
        status, raw = request("POST", node.host, "/pscheduler/tasks", body)
        assert status == 200, raw
        path = "/pscheduler/" + json.loads(raw).split("/pscheduler/", 1)[1]
        status, raw = request("GET", node.host, path + "/runs/first?wait-merged&wait=30")
        run = json.loads(raw)
        assert run["state"] == "finished", run
        out.append((time.perf_counter() - began) * 1000)
    return out


def placement_rate(node: BenchNode, tasks: int) -> None:
    conn = psycopg2.connect(node.dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT pid FROM heartbeat WHERE name = 'scheduler'")
    pid = cur.fetchone()[0]
    os.kill(pid, signal.SIGSTOP)
    try:
        start = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=60)
        for i in range(tasks):
            begin = (start + dt.timedelta(seconds=(i * 300) // tasks)).replace(microsecond=0)
            task = {
                "test": {"type": "idleex", "spec": {"duration": "PT0S"}},
                "schedule": {"start": begin.isoformat(), "repeat": "PT5M", "slip": "PT5M"},
            }
            status, raw = request("POST", node.host, "/pscheduler/tasks", json.dumps(task).encode())
            assert status == 200, raw
        cur.execute("SELECT count(*) FROM run")
        before = cur.fetchone()[0]
    finally:
        began = time.perf_counter()
        os.kill(pid, signal.SIGCONT)
    # Done when the count stops jumping: afterwards only the horizon's moving edge adds runs.
    samples = [(0.0, before)]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.02)
        cur.execute("SELECT count(*) FROM run")
        count = cur.fetchone()[0]
        now = time.perf_counter() - began
        if count - samples[-1][1] > 20:
            samples.append((now, count))
        elif len(samples) > 1 and now - samples[-1][0] > 2.0:
            break
    elapsed, counted = samples[-1]
    cur.execute("SELECT state, count(*) FROM run GROUP BY state ORDER BY state")
    states = dict(cur.fetchall())
    placed = counted - before
    cur.execute("""SELECT count(*) FROM run a JOIN run b ON a.id < b.id AND a.times && b.times
                   WHERE a.active AND b.active AND a.conflict_class = 'exclusive'
                     AND b.conflict_class = 'exclusive'""")
    overlaps = cur.fetchone()[0]
    print(
        f"{f'Placement, {tasks} exclusive PT5M tasks, P1D horizon':<48} "
        f"{placed} runs in {elapsed:.2f} s = {placed / elapsed:,.0f} runs/s "
        f"(pending {states.get('pending', 0)}, non-starters {states.get('nonstart', 0)}; "
        f"overlapping exclusive pairs: {overlaps}) (goal: >= 1,000 runs/s)"
    )
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=50, help="noop tasks for the latency figure")
    parser.add_argument("--tasks", type=int, default=500)
    args = parser.parse_args()
    node = BenchNode()
    try:
        latencies = first_run_latency(node, args.n)
        print(summary("POST -> first run finished (noop)", latencies, "(goal: p95 < 1500 ms)"))
        placement_rate(node, args.tasks)
    finally:
        node.close()


if __name__ == "__main__":
    main()
