"""Shared by the archiving tests: an HTTP sink the test controls, and task/run helpers that
go through a real node's API."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers import wait_for


class Sink:
    """A local HTTP server that records every POST body and answers as scripted.

    ``statuses``: the answers to the first requests (e.g. [503, 503]); then 200.
    ``delay``: seconds to hold each request before answering.
    """

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0):
        self.statuses = list(statuses or [])
        self.delay = delay
        self.received: list[dict] = []  # {"path", "body", "time", "status"}
        self.cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with sink.cond:
                    status = sink.statuses.pop(0) if sink.statuses else 200
                    sink.received.append(
                        {
                            "path": self.path,
                            "body": json.loads(raw.decode("utf-8")),
                            "time": time.monotonic(),
                            "status": status,
                            "content_type": self.headers.get("Content-Type"),
                        }
                    )
                    sink.cond.notify_all()
                if sink.delay:
                    time.sleep(sink.delay)
                body = b"busy" if status >= 300 else b"ok"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    self.close_connection = True  # the client went away (killed archiver)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/results") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def wait_count(self, count: int, timeout: float = 15.0, path: str | None = None) -> list:
        """Wait (on a condition, not a sleep) until ``count`` requests arrived."""
        deadline = time.monotonic() + timeout

        def matching():
            return [r for r in self.received if path is None or r["path"] == path]

        with self.cond:
            while len(matching()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"Sink got {len(matching())} request(s), expected {count}")
                self.cond.wait(left)
            return matching()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def noop_task(archives: list[dict], spec: dict | None = None, **extra) -> dict:
    task = {
        "schema": 1,
        "test": {"type": "noop", "spec": spec or {"schema": 1, "data": {"n": 1}}},
        "schedule": {},
        "archives": archives,
    }
    task.update(extra)
    return task


def post_and_finish(node, task: dict, timeout: float = 30.0) -> dict:
    """POST the task and wait for its first run's merged result; the run JSON."""
    response = node.post("tasks", json=task)
    assert response.status_code == 200, response.text
    task_href = response.json()
    run = node.session.get(
        task_href + "/runs/first",
        params={"wait-merged": "true", "wait": str(int(timeout))},
        timeout=timeout + 10,
    ).json()
    assert run["result-merged"] is not None, run
    return run


def run_json(node, run_href: str) -> dict:
    response = node.session.get(run_href, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_archivings(node, run_href: str, count: int, timeout: float = 20.0) -> list[dict]:
    """Poll the run (bounded) until it has ``count`` archivings, all completed."""

    def done():
        archivings = run_json(node, run_href).get("archivings") or []
        if len(archivings) == count and all(a["completed"] for a in archivings):
            return archivings
        return None

    return wait_for(done, timeout=timeout, interval=0.1, what=f"{count} completed archiving(s)")


def by_label(archivings: list[dict]) -> dict:
    return {a["spec"].get("label"): a for a in archivings}
