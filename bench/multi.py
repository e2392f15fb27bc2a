"""Bench: two-node throughput tasks, from POST /tasks to the first run placed on both nodes.

Starts nodes A (127.0.0.2) and B (127.0.0.3) with their own databases, posts N throughput
tasks A→B (start in the future, so nothing runs), and prints for each the time from the POST
to the run being visible on A and on B, plus the HTTP calls the lead made per run placed
(from its placement log lines).  Goal: < 2 s to placement.

    .venv/bin/python bench/multi.py [--tasks N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import Cluster, Node  # noqa: E402

PLACED = re.compile(r"placement placed a run with (\d+) HTTP call\(s\) in ([\d.]+) s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5)
    args = parser.parse_args()
    cluster = Cluster()
    a = Node(cluster.new_database(), host="127.0.0.2").start()
    b = Node(cluster.new_database(), host="127.0.0.3").start()
    try:
        times = []
        for i in range(args.tasks):
            spec = {"schema": 1, "dest": b.host, "dest-node": b.address, "duration": "PT5S"}
            body = {
                "schema": 1,
                "test": {"type": "throughput", "spec": spec},
                "schedule": {"start": f"PT{10 + 5 * i}M"},
            }
            t0 = time.monotonic()
            response = a.post("tasks", json=body)
            response.raise_for_status()
            task = response.json().rsplit("/", 1)[1]
            run = a.get(f"tasks/{task}/runs/first", params={"wait": 20}).json()
            run_uuid = run["href"].rsplit("/", 1)[1]
            assert run["state"] == "pending", run
            there = b.get(f"tasks/{task}/runs/{run_uuid}")
            there.raise_for_status()
            elapsed = time.monotonic() - t0
            times.append(elapsed)
            print(f"task {i + 1}: POST -> run placed on A and B in {elapsed:.3f} s")
        log = a.log()
        placed = [(int(c), float(s)) for c, s in PLACED.findall(log)]
        print(
            f"POST -> first run on both nodes: median {statistics.median(times):.3f} s, "
            f"max {max(times):.3f} s (goal < 2 s)"
        )
        if placed:
            calls = [c for c, _ in placed]
            print(
                f"HTTP calls by the lead per run placed: {statistics.mean(calls):.1f} "
                f"(2 participants); placement itself: median "
                f"{statistics.median(s for _, s in placed):.3f} s"
            )
    finally:
        a.cleanup()
        b.cleanup()
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
