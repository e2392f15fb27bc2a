"""Waiting for a run to change, or for a task's first run, woken by NOTIFY rather than polling.

The process's one ``Fanout`` delivers ``run_state`` (a run changed) and ``run_new`` (runs were
placed or became visible) to the request threads waiting here; no waiter holds a connection.
A waiter re-reads after each wake-up (and every ``REREAD`` seconds), so a missed
notification costs at most that, never a wrong answer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from pscheduler.events.fanout import fanout

log = logging.getLogger(__name__)

REREAD = 2.0  # seconds between re-reads without a notification
NEW_RUNS = "new-runs"  # the key of waiters for runs to appear (runs/first, runs/next)

T = TypeVar("T")


class Hub:
    def __init__(self, dsn: str):
        self.dsn = dsn
        self._events: dict[Hashable, set[threading.Event]] = {}
        self._lock = threading.Lock()
        self._subscribed = False

    def _subscribe(self) -> None:
        with self._lock:
            if self._subscribed:
                return
            self._subscribed = True
        fan = fanout(self.dsn)
        fan.subscribe("run_state", self._on_run_state)
        fan.subscribe("run_new", self._on_run_new)

    def _wake(self, key: Hashable | None) -> None:
        """Wake the waiters on ``key``, or everyone when None (notifications were lost)."""
        with self._lock:
            groups = list(self._events.values()) if key is None else [self._events.get(key, ())]
            for group in groups:
                for event in group:
                    event.set()

    def _on_run_state(self, payload: str | None) -> None:
        if payload is None:
            self._wake(None)
            return
        try:
            self._wake(json.loads(payload).get("id"))
        except (ValueError, AttributeError):
            log.warning("Unreadable run_state payload %r", payload[:100])

    def _on_run_new(self, payload: str | None) -> None:
        self._wake(None if payload is None else NEW_RUNS)

    def wait(
        self,
        key: Hashable,
        read: Callable[[], T],
        done: Callable[[T], bool],
        timeout: float,
    ) -> T:
        """Re-read until ``done(value)`` or the timeout, woken by notifications for ``key``;
        returns the last value read."""
        self._subscribe()
        event = threading.Event()
        with self._lock:
            self._events.setdefault(key, set()).add(event)
        try:
            deadline = time.monotonic() + max(0.0, timeout)
            value = read()
            while not done(value):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                event.wait(min(left, REREAD))
                event.clear()
                value = read()
            return value
        finally:
            with self._lock:
                waiters = self._events.get(key)
                if waiters is not None:
                    waiters.discard(event)
                    if not waiters:
                        del self._events[key]

    def wait_run(
        self,
        run_id: int,
        read: Callable[[], dict | None],
        done: Callable[[dict], bool],
        timeout: float,
    ) -> dict | None:
        """Re-read the run until ``done(row)``, it is gone, or the timeout."""
        return self.wait(run_id, read, lambda row: row is None or done(row), timeout)

    def wait_new(self, read: Callable[[], dict | None], timeout: float) -> dict | None:
        """Re-read until ``read`` finds a row (a run was placed) or the timeout."""
        return self.wait(NEW_RUNS, read, lambda row: row is not None, timeout)


_hubs: dict[str, Hub] = {}
_hubs_lock = threading.Lock()


def hub(dsn: str) -> Hub:
    with _hubs_lock:
        if dsn not in _hubs:
            _hubs[dsn] = Hub(dsn)
        return _hubs[dsn]
