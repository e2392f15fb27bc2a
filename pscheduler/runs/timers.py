"""Runs that only wait, held as timers: one thread and a heap for all of them.

An idle run (a tool with ``timed``) needs nothing but its end: a thread per run, blocked
until then, made a burst of a thousand idle runs due in the same second two thousand threads
(a worker and the tool's) waking together and convoying on the GIL, late enough for some to
be judged overrun.  Here each costs a heap entry, and the callback it fires at its end hands
the known outcome on (it must not block: every timer waits behind it).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import threading
from collections.abc import Callable, Hashable

from pscheduler.toolkit.iso8601 import utcnow

log = logging.getLogger(__name__)


class Timers:
    def __init__(self, name: str = "timers"):
        self._heap: list[tuple[dt.datetime, int, Hashable]] = []
        self._fire: dict[Hashable, tuple[int, Callable[[], None]]] = {}
        self._order = itertools.count()  # ties keep insertion order; keys never compared
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def add(self, when: dt.datetime, key: Hashable, fire: Callable[[], None]) -> None:
        """Call ``fire`` at ``when`` (aware datetime) unless ``cancel(key)`` comes first."""
        with self._cond:
            order = next(self._order)
            self._fire[key] = (order, fire)
            heapq.heappush(self._heap, (when, order, key))
            if self._heap[0][1] == order:
                self._cond.notify()

    def cancel(self, key: Hashable) -> bool:
        """True if the timer was still set (it will not fire); False if it fired already."""
        with self._cond:
            return self._fire.pop(key, None) is not None

    def _due(self) -> list[Callable[[], None]]:
        with self._cond:
            while True:
                while self._heap and not self._live(self._heap[0]):
                    heapq.heappop(self._heap)  # cancelled, or set again since
                if self._heap:
                    delay = (self._heap[0][0] - utcnow()).total_seconds()
                    if delay <= 0:
                        break
                    self._cond.wait(delay)
                else:
                    self._cond.wait()
            now = utcnow()
            due = []
            while self._heap and self._heap[0][0] <= now:
                entry = heapq.heappop(self._heap)
                if self._live(entry):
                    due.append(self._fire.pop(entry[2])[1])
            return due

    def _live(self, entry: tuple[dt.datetime, int, Hashable]) -> bool:
        held = self._fire.get(entry[2])
        return held is not None and held[0] == entry[1]

    def _run(self) -> None:
        while True:
            for fire in self._due():
                try:
                    fire()
                except Exception:  # noqa: BLE001 - one timer's failure must not stop the rest
                    log.exception("A timer's callback failed")
