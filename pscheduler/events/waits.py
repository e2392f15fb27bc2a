"""Waiting for a run to change, woken by NOTIFY rather than polling.

One listener thread per process fans ``run_state`` notifications out to the request threads
waiting on a run.  A waiter re-reads the row after each wake-up (and once at the end), so a
missed notification costs at most the wait, never a wrong answer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

from pscheduler.db import Listener

log = logging.getLogger(__name__)


class Hub:
    def __init__(self, dsn: str):
        self.dsn = dsn
        self._events: dict[int, set[threading.Event]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._listen, name="run-waits", daemon=True)
                self._thread.start()

    def _listen(self) -> None:
        listener = Listener(self.dsn, ["run_state"], "pscheduler-api-waits")
        while True:
            for note in listener.wait(5.0):
                try:
                    run_id = json.loads(note.payload).get("id")
                except ValueError:
                    continue
                with self._lock:
                    for event in self._events.get(run_id, ()):
                        event.set()

    def wait(
        self,
        run_id: int,
        read: Callable[[], dict | None],
        done: Callable[[dict], bool],
        timeout: float,
    ) -> dict | None:
        """Re-read the run until ``done(row)`` or the timeout; returns the last row read."""
        self._ensure_thread()
        event = threading.Event()
        with self._lock:
            self._events.setdefault(run_id, set()).add(event)
        try:
            deadline = time.monotonic() + max(0.0, timeout)
            row = read()
            while row is not None and not done(row):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                # The periodic re-read bounds the cost of a notification lost in a reconnect.
                event.wait(min(left, 2.0))
                event.clear()
                row = read()
            return row
        finally:
            with self._lock:
                waiters = self._events.get(run_id)
                if waiters is not None:
                    waiters.discard(event)
                    if not waiters:
                        del self._events[run_id]


_hubs: dict[str, Hub] = {}
_hubs_lock = threading.Lock()


def hub(dsn: str) -> Hub:
    with _hubs_lock:
        if dsn not in _hubs:
            _hubs[dsn] = Hub(dsn)
        return _hubs[dsn]
