"""Archiver benchmark: finished results archived to a local HTTP sink.

Usage: .venv/bin/python bench/archiver.py [--runs 10000] [--latency-runs 200]

Starts a real node (pscheduler-server on loopback with its own database in a throwaway
PostgreSQL, as the tests do) and a local HTTP sink, posts one ``noop`` task with an ``http``
archive, then:

1. Throughput: inserts ``--runs`` finished runs of that task DIRECTLY INTO THE NODE'S
   DATABASE (node DSN) in one statement, with ``result_merged`` set — the same trigger that
   fires when the runner stores a merged result creates their archivings — and measures how
   long the archiver takes to deliver them all (archivings per second; goal >= 500/s).
2. Latency: inserts ``--latency-runs`` finished runs one at a time (a few per 100 ms, the
   sink idle) and measures, per run, the time from the commit of its result to its arrival
   at the sink (goal: p95 < 1 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import ALLOW_LOOPBACK_SINKS, Cluster, Node, wait_for  # noqa: E402


class Sink:
    """Records the arrival time (monotonic) of each run's result, by run UUID."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.requests = 0
        self.cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.monotonic()
                run_id = json.loads(raw)["id"]
                with sink.cond:
                    sink.requests += 1
                    sink.arrivals.setdefault(run_id, now)
                    sink.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/results"

    def wait_for_ids(self, ids: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not ids <= self.arrivals.keys():
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = len(ids - self.arrivals.keys())
                    raise SystemExit(f"Timed out: {missing} result(s) never arrived")
                self.cond.wait(min(left, 1.0))


INSERT_MANY = """
INSERT INTO run (uuid, task, times, state, status, result, result_merged, result_full, started)
SELECT u::uuid, %(task)s, tstzrange(now(), now(), '[]'), 'finished', 0, %(result)s,
       %(result)s, jsonb_build_array(%(result)s::jsonb), now()
FROM unnest(%(uuids)s::text[]) AS u
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--latency-runs", type=int, default=200)
    args = parser.parse_args()

    sink = Sink()
    cluster = Cluster()
    node = Node(cluster.new_database(), env=dict(ALLOW_LOOPBACK_SINKS))
    try:
        node.start()
        task = {
            "schema": 1,
            "test": {"type": "noop", "spec": {"schema": 1, "data": {"bench": True}}},
            "schedule": {},
            "archives": [{"archiver": "http", "data": {"_url": sink.url}}],
        }
        response = node.post("tasks", json=task)
        response.raise_for_status()
        task_uuid = response.json().rsplit("/", 1)[1]
        wait_for(lambda: sink.arrivals, timeout=30, what="the task's own run to be archived")

        conn = psycopg2.connect(node.dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM task WHERE uuid = %s", (task_uuid,))
            task_id = cur.fetchone()[0]
        result = json.dumps({"schema": 1, "succeeded": True, "data": {"bench": True}})

        # 1. Throughput.
        uuids = [str(uuid.uuid4()) for _ in range(args.runs)]
        with conn.cursor() as cur:
            started = time.monotonic()
            cur.execute(INSERT_MANY, {"task": task_id, "result": result, "uuids": uuids})
            inserted = time.monotonic()
        sink.wait_for_ids(set(uuids), timeout=max(120, args.runs / 50))
        last = max(sink.arrivals[u] for u in uuids)
        elapsed = last - inserted
        print(f"inserted {args.runs} finished runs in {inserted - started:.2f} s")
        print(
            f"throughput: {args.runs} archivings delivered in {elapsed:.2f} s "
            f"= {args.runs / elapsed:.0f} archivings/s (goal >= 500/s)"
        )

        # 2. Latency with an idle sink.
        latencies = []
        for _ in range(args.latency_runs):
            run_uuid = str(uuid.uuid4())
            with conn.cursor() as cur:
                cur.execute(INSERT_MANY, {"task": task_id, "result": result, "uuids": [run_uuid]})
            committed = time.monotonic()
            sink.wait_for_ids({run_uuid}, timeout=30)
            latencies.append(sink.arrivals[run_uuid] - committed)
            time.sleep(0.02)
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(
            f"latency run finished -> delivered over {len(latencies)} runs: "
            f"p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
            f"max {latencies[-1] * 1000:.1f} ms (goal p95 < 1 s)"
        )

        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FILTER (WHERE completed AND archived), count(*) FROM archiving"
            )
            done, total = cur.fetchone()
        print(f"archivings archived: {done}/{total}; requests at the sink: {sink.requests}")
        conn.close()
        return 0 if done == total else 1
    finally:
        node.cleanup()
        cluster.close()
        sink.server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
