"""EXPLAIN ANALYZE of every hot API query with a million runs in the table (issue 14).

    .venv/bin/python bench/explain_hot.py [--runs 1000000] [--tasks 1000] [--plans]

Starts its own node, posts --tasks tasks (one run each, two hours ahead), inserts --runs runs
for them straight into the database (tests/scale/fill.py: one generate_series INSERT through
every trigger), then prints for each hot query its execution time, the rows it read from the
run table and whether it scanned the table; --plans prints the plans too.  Goal: every query
a few ms, none reading more than it returns.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
from _node import BenchNode, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pscheduler.db import query  # noqa: E402
from tests.scale.fill import explain, fill_runs, hot_queries, run_rows_read, seq_scans  # noqa: E402

ONE_LATER = json.dumps(
    {"test": {"type": "idle", "spec": {"duration": "PT1S"}}, "schedule": {"start": "PT2H"}}
).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--plans", action="store_true", help="print every plan")
    args = parser.parse_args()
    node = BenchNode()
    try:
        print(f"load {os.getloadavg()}")
        with ThreadPoolExecutor(8) as pool:
            statuses = list(
                pool.map(
                    lambda _: request("POST", node.host, "/pscheduler/tasks", ONE_LATER)[0],
                    range(args.tasks),
                    timeout=900,
                )
            )
        assert set(statuses) == {200}, statuses
        conn = psycopg2.connect(node.dsn)
        with conn.cursor() as cur:
            cur.execute("SELECT id, uuid::text FROM task ORDER BY id")
            tasks = cur.fetchall()
        conn.commit()
        began = time.perf_counter()
        inserted = fill_runs(conn, [t[0] for t in tasks], args.runs)
        took = time.perf_counter() - began
        print(f"{inserted} runs inserted for {len(tasks)} tasks in {took:.0f} s (with VACUUM)")
        print(f"{'query':<34} {'ms':>9} {'run rows read':>14} {'rows out':>9}  seq scan")
        worst = 0.0
        for label, (name, params) in hot_queries(*tasks[len(tasks) // 2]).items():
            explain(conn, query(name), params)  # warm the cache as a busy node would be
            plan = explain(conn, query(name), params)
            ms = plan["Execution Time"] + plan["Planning Time"]
            worst = max(worst, ms)
            print(
                f"{label:<34} {ms:9.2f} {run_rows_read(plan):>14} "
                f"{int(plan['Plan'].get('Actual Rows', 0)):>9}  {'YES' if seq_scans(plan) else 'no'}"
            )
            if args.plans:
                print(json.dumps(plan["Plan"], indent=1)[:4000])
        print(f"slowest {worst:.1f} ms; load {os.getloadavg()}")
        conn.close()
    finally:
        node.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
