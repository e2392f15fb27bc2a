"""Helpers for the live-view tests: a node of their own, tasks, and a stream collector."""

from __future__ import annotations

import datetime as dt
import threading
import time

import requests

from pscheduler.cli.events import Event, open_stream
from tests.helpers import Node


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()


def soon(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)


def post_task(node: Node, test: str, spec: dict, schedule: dict | None = None, **extra) -> str:
    """Create a task; returns its UUID."""
    body = {"schema": 1, "test": {"type": test, "spec": {"schema": 1, **spec}}}
    # No start: as soon as possible, with slip so a busy scheduler cannot skip the only run.
    body["schedule"] = schedule if schedule is not None else {"slip": "PT20S"}
    body.update(extra)
    r = node.post("tasks", json=body)
    assert r.status_code == 200, r.text
    return r.json().rstrip("/").rsplit("/", 1)[1]


class Collector:
    """Reads ``/events`` in a thread; tests wait (bounded) for what they expect."""

    def __init__(self, node: Node, last_id: str | None = None, **filters):
        self.events: list[Event] = []
        self.cond = threading.Condition()
        self.error: BaseException | None = None
        self.stream = open_stream(node.base, last_id=last_id, **filters)
        assert self.stream is not None, "the node offers no event stream"
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self.wait(lambda evs: any(e.kind == "ready" for e in evs), what="the ready event")

    def _read(self) -> None:
        try:
            for event in self.stream:
                with self.cond:
                    self.events.append(event)
                    self.cond.notify_all()
        except (requests.RequestException, AttributeError, ValueError) as exc:
            self.error = exc
        finally:
            with self.cond:
                self.cond.notify_all()

    def wait(self, predicate, timeout: float = 20.0, what: str = "events") -> list[Event]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if predicate(self.events):
                    return list(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [(e.kind, e.data.get("data")) for e in self.events]
                    raise AssertionError(f"Timed out after {timeout} s waiting for {what}: {kinds}")
                self.cond.wait(left)

    def of(self, task: str) -> list[Event]:
        with self.cond:
            return [e for e in self.events if e.data.get("task") == task]

    def close(self) -> None:
        started = time.monotonic()
        self.stream.close()
        self.thread.join(5)
        self.close_time = time.monotonic() - started
