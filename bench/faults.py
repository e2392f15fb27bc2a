"""Fault drill: kill every process of a node under load and count what was lost.

Usage: .venv/bin/python bench/faults.py [--minutes 3] [--tasks 100] [--every 10]

Starts a real node (pscheduler-server on loopback with its embedded PostgreSQL, in a
throwaway state dir) and an HTTP receiver on loopback.  For ``--minutes`` it posts
``--tasks`` tasks (a ``noop`` run each, archived to the receiver over HTTP) spread evenly,
and every ``--every`` seconds kills (SIGKILL) the next of: scheduler, runner, archiver,
ticker, the API master, an API worker, the postmaster.  It then waits for the node to settle
and prints:

- acknowledged tasks vs tasks stored (lost = acknowledged and not stored);
- runs by state, and runs left in a transitional state (on-deck, running, cleanup);
- results delivered to the receiver vs runs that finished, and duplicates;
- for each kill, the seconds until the process was back: a daemon once its replacement
  beats in the database, the API master or a worker once a replacement serves requests that
  read the database, the postmaster once the API reads the database again.

Targets: 0 lost, 0 undelivered, 0 duplicates, 0 transitional, every process back in 5 s.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import psycopg2
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import ALLOW_LOOPBACK_SINKS, Node, wait_for  # noqa: E402

DAEMONS = ("scheduler", "runner", "archiver", "ticker")
TARGETS = (*DAEMONS, "api-master", "api-worker", "postmaster")
TRANSITIONAL = ("on-deck", "running", "cleanup")
BACK_WITHIN = 5.0


class Receiver:
    """The archive's HTTP endpoint: counts each run's deliveries."""

    def __init__(self) -> None:
        self.deliveries: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    body = json.loads(raw)
                    run = body.get("id") or body.get("run", {}).get("id") or str(body)[:80]
                    with receiver.lock:
                        receiver.deliveries[run] += 1
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


def _role(proc: psutil.Process) -> str | None:
    with contextlib.suppress(psutil.Error):
        cmd = proc.cmdline()
        if len(cmd) >= 4 and cmd[-3:-1] == ["-m", "pscheduler.server"]:
            return cmd[-1]
    return None


def processes(node: Node) -> dict[str, list[int]]:
    """The node's processes by role (the supervisor's children, the API's workers)."""
    found: dict[str, list[int]] = collections.defaultdict(list)
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(node.proc.pid).children():
            role = _role(child)
            if role == "api":
                found["api-master"].append(child.pid)
                with contextlib.suppress(psutil.Error):
                    found["api-worker"] += [w.pid for w in child.children()]
            elif role:
                found[role].append(child.pid)
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid_file = Path(node.state_dir) / "pgdata" / "postmaster.pid"
        found["postmaster"].append(int(pid_file.read_text().split()[0]))
    return found


def sql(dsn: str, text: str, params=None) -> list[tuple]:
    conn = psycopg2.connect(dsn, connect_timeout=2)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(text, params)
            return cur.fetchall()
    finally:
        conn.close()


def _api_reads_db(node: Node) -> bool:
    with contextlib.suppress(requests.RequestException):
        return node.get("status", timeout=2).status_code == 200
    return False


def back(node: Node, target: str, old: int, killed_at: float) -> bool:
    """Whether ``target`` (killed as pid ``old``) has been replaced and works again."""
    now = processes(node).get(target, [])
    if not now or now == [old] or old in now:
        return False
    if target in DAEMONS:
        with contextlib.suppress(psycopg2.Error):
            rows = sql(
                node.dsn,
                "SELECT pid FROM heartbeat WHERE name = %s AND last > now() - "
                "make_interval(secs => %s)",
                (target, time.monotonic() - killed_at),
            )
            return bool(rows) and rows[0][0] in now
        return False
    return _api_reads_db(node)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between kills")
    args = parser.parse_args()

    receiver = Receiver()
    node = Node(None, tls=False, env=dict(ALLOW_LOOPBACK_SINKS))
    print(f"load before: {os.getloadavg()}")
    try:
        node.start(timeout=180)
        node.dsn = f"postgresql://postgres@/pscheduler?host={node.state_dir}/pgdata"
        task = {
            "schema": 1,
            "test": {"type": "noop", "spec": {"schema": 1, "data": {"drill": True}}},
            "schedule": {},
            "archives": [{"archiver": "http", "data": {"_url": receiver.url}}],
        }
        acknowledged: list[str] = []
        refused: collections.Counter[object] = collections.Counter()
        duration = args.minutes * 60
        stop = threading.Event()

        def post_tasks() -> None:
            session = requests.Session()
            session.trust_env = False
            began = time.monotonic()
            for i in range(args.tasks):
                stop.wait(max(0.0, began + i * duration / args.tasks - time.monotonic()))
                while not stop.is_set():
                    try:
                        r = session.post(node.url("tasks"), json=task, timeout=10)
                    except requests.RequestException as exc:
                        refused[type(exc).__name__] += 1
                    else:
                        if r.status_code == 200:
                            acknowledged.append(r.json())
                            break
                        refused[r.status_code] += 1
                    time.sleep(0.2)  # a client retrying what was not acknowledged

        poster = threading.Thread(target=post_tasks, daemon=True)
        poster.start()
        recoveries: list[tuple[str, float | None]] = []
        start = time.monotonic()
        index = 0
        while time.monotonic() - start < duration:
            time.sleep(max(0.0, start + (index + 1) * args.every - time.monotonic()))
            if time.monotonic() - start >= duration:
                break
            target = TARGETS[index % len(TARGETS)]
            index += 1
            pids = processes(node).get(target)
            if not pids:
                recoveries.append((target, None))
                continue
            old = pids[0]
            killed_at = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                os.kill(old, signal.SIGKILL)
            took = None
            while time.monotonic() - killed_at < args.every - 0.5:
                if back(node, target, old, killed_at):
                    took = time.monotonic() - killed_at
                    break
                time.sleep(0.05)
            recoveries.append((target, took))
            print(
                f"{time.monotonic() - start:6.1f} s  killed {target:<10} pid {old:<7} back in "
                + (f"{took:.2f} s" if took is not None else f"> {args.every - 0.5:.1f} s"),
                flush=True,
            )
        poster.join(duration + 60)
        stop.set()

        # Let the last runs finish and be delivered.
        def settled() -> bool:
            with contextlib.suppress(psycopg2.Error):
                rows = sql(
                    node.dsn,
                    "SELECT count(*) FILTER (WHERE state IN %s OR (state = 'pending' AND "
                    "lower(times) < now())), (SELECT count(*) FROM archiving WHERE NOT completed)"
                    " FROM run",
                    (TRANSITIONAL,),
                )
                return rows[0] == (0, 0)
            return False

        with contextlib.suppress(AssertionError):
            wait_for(settled, timeout=90, interval=0.5, what="runs to end and be archived")

        uuids = [url.rsplit("/", 1)[1] for url in acknowledged]
        stored = sql(node.dsn, "SELECT count(*) FROM task WHERE uuid::text = ANY(%s)", (uuids,))
        states = dict(sql(node.dsn, "SELECT state, count(*) FROM run GROUP BY state ORDER BY 1"))
        finished = {
            str(r[0]) for r in sql(node.dsn, "SELECT uuid FROM run WHERE state = 'finished'")
        }
        transitional = sum(states.get(s, 0) for s in TRANSITIONAL)
        stuck_pending = sql(
            node.dsn, "SELECT count(*) FROM run WHERE state = 'pending' AND lower(times) < now()"
        )[0][0]
        with receiver.lock:
            deliveries = dict(receiver.deliveries)
        delivered = set(deliveries) & finished
        duplicates = sum(n - 1 for n in deliveries.values() if n > 1)

        print()
        print(f"machine load after: {os.getloadavg()}")
        print(
            f"tasks acknowledged: {len(acknowledged)}   stored: {stored[0][0]}   "
            f"lost: {len(acknowledged) - stored[0][0]}   refused meanwhile: {dict(refused)}"
        )
        print(f"runs by state: {states}")
        print(f"runs in a transitional state: {transitional}   pending past start: {stuck_pending}")
        print(
            f"results delivered: {len(delivered)} of {len(finished)} finished runs   "
            f"undelivered: {len(finished - set(deliveries))}   duplicates: {duplicates}"
        )
        print("seconds until back, per kill:")
        by_target: dict[str, list[float | None]] = collections.defaultdict(list)
        for target, took in recoveries:
            by_target[target].append(took)
        worst = 0.0
        for target in TARGETS:
            values = by_target.get(target, [])
            shown = ", ".join("never" if v is None else f"{v:.2f}" for v in values)
            known = [v for v in values if v is not None]
            if len(known) != len(values):
                worst = float("inf")
            elif known:
                worst = max(worst, max(known))
            print(f"  {target:<11} {shown}")
        ok = (
            len(acknowledged) == stored[0][0]
            and not (finished - set(deliveries))
            and duplicates == 0
            and transitional == 0
            and worst <= BACK_WITHIN
        )
        print("targets met" if ok else "TARGETS MISSED")
        return 0 if ok else 1
    finally:
        node.cleanup()


if __name__ == "__main__":
    sys.exit(main())
