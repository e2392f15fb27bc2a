"""API latency with and without 100 event-stream listeners (issue 9).

    .venv/bin/python bench/events.py [--listeners 100] [--requests 200]

Starts a node of its own (embedded PostgreSQL, loopback HTTPS), measures GET /api (mean and
p95 over --requests sequential requests), opens --listeners streams on /events, measures
again, then creates a task and reports how long the event took to reach every listener.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pscheduler.cli.events import open_stream  # noqa: E402
from tests.helpers import Cluster, Node  # noqa: E402


def latency(node: Node, count: int) -> tuple[float, float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        r = node.get("api", timeout=10)
        times.append(time.perf_counter() - started)
        assert r.status_code == 200, r.text
    times.sort()
    return statistics.mean(times) * 1000, times[int(len(times) * 0.95) - 1] * 1000


def _listen(base: str, count: int, to_parent, from_parent) -> None:
    """In a process of its own (so its threads do not share the measuring process's GIL):
    open ``count`` streams, say when all are ready, then time the arrival of one task."""
    streams = [open_stream(base, kinds=["task-created"]) for _ in range(count)]
    ready = threading.Barrier(count + 1)
    arrivals: list[float] = []
    lock = threading.Lock()
    marker: dict = {}
    got_marker = threading.Event()

    def read(stream) -> None:
        try:
            for event in stream:
                if event.kind == "ready":
                    ready.wait(30)
                elif got_marker.wait(30) and event.data.get("task") == marker["task"]:
                    with lock:
                        arrivals.append(time.time())
                    return
        except Exception:  # noqa: BLE001 - closing the stream ends the read
            return

    threads = [threading.Thread(target=read, args=(s,), daemon=True) for s in streams]
    for t in threads:
        t.start()
    ready.wait(60)
    to_parent.put("ready")
    marker["task"] = from_parent.get()
    got_marker.set()
    for t in threads:
        t.join(30)
    to_parent.put(sorted(arrivals))
    for stream in streams:
        stream.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    cluster = Cluster()
    node = Node(cluster.new_database("bench")).start()
    try:
        latency(node, 100)  # warm up connections and workers
        mean0, p95_0 = latency(node, args.requests)
        print(f"GET /api without listeners: mean {mean0:.1f} ms, p95 {p95_0:.1f} ms")
        started = time.perf_counter()
        to_parent, from_parent = multiprocessing.Queue(), multiprocessing.Queue()
        child = multiprocessing.Process(
            target=_listen, args=(node.base, args.listeners, to_parent, from_parent), daemon=True
        )
        child.start()
        if to_parent.get(timeout=90) != "ready":
            raise SystemExit("the listeners did not connect")
        print(f"{args.listeners} listeners connected in {time.perf_counter() - started:.1f} s")
        mean1, p95_1 = latency(node, args.requests)
        print(f"GET /api with {args.listeners} listeners: mean {mean1:.1f} ms, p95 {p95_1:.1f} ms")
        body = {
            "schema": 1,
            "test": {"type": "idle", "spec": {"schema": 1, "duration": "PT1S"}},
            "schedule": {"slip": "PT20S"},
        }
        r = node.post("tasks", json=body)
        answered = time.time()
        from_parent.put(r.json().rstrip("/").rsplit("/", 1)[1])
        got = [t - answered for t in to_parent.get(timeout=60)]
        child.join(10)
        if got:
            print(
                f"task-created reached {len(got)}/{args.listeners} listeners:"
                f" first {got[0] * 1000:.0f} ms, last {got[-1] * 1000:.0f} ms"
                " after the POST answered"
            )
        return 0 if len(got) == args.listeners else 1
    finally:
        node.cleanup()
        cluster.close()


if __name__ == "__main__":
    raise SystemExit(main())
