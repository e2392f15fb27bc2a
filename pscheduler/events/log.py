"""The event log fanned out to stream clients: one LISTEN connection per process, many readers.

Triggers (migration 005) append a row to ``event`` for every task, run and archiving change
and NOTIFY ``event`` (once per transaction since migration 021: the payload is empty).  A
``Hub`` owns one reader thread per process, woken by the process's one LISTEN connection
(``fanout``): on a notification (or every few seconds, as a safety net) it reads the new rows
once and hands each to the subscribers whose filters match, so a hundred stream clients cost
one query per burst of changes, not a hundred.

Ids come from a sequence, so a transaction that took an id earlier may commit after one that
took a later id.  The hub remembers such holes for ``GAP_TTL`` seconds and reads them again;
an event that fills a hole is still delivered (slightly out of order).  The resume id it
hands to clients is the highest id below every open hole, so a client that reconnects with
``Last-Event-ID`` gets the late event as well (and, rarely, a duplicate it can drop by id).
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from pscheduler.db import Database, DatabaseUnavailable
from pscheduler.errors import BadRequest
from pscheduler.events.fanout import fanout

log = logging.getLogger(__name__)

KINDS = (
    "task-created",
    "task-cancelled",
    "run-placed",
    "run-nonstart",
    "run-state",
    "run-deleted",
    "result-merged",
    "archiving-succeeded",
    "archiving-failed",
)
GAP_TTL = 30.0  # seconds an id hole waits for its transaction to commit
SWEEP = 5.0  # re-read without a notification this often (a lost NOTIFY costs this much)
# Notifications that arrive together are read together: in a burst of runs every stream then
# wakes and writes once per COALESCE seconds instead of once per event (500 streams, 1,000
# tasks: tens of thousands of TLS writes a second otherwise).
COALESCE = 0.05
# ... and longer with many streams open: every batch wakes every stream's thread, and those
# wake-ups compete with the requests of the same process for its GIL (500 streams at 50 ms:
# 10,000 a second).  0.4 ms per stream: 500 streams get a batch every quarter second.
COALESCE_PER_STREAM = 0.0004
COALESCE_MAX = 0.5
QUEUE_MAX = 5000  # events buffered for one slow client before it is told to reconnect
# Events written to a stream at once: a client that fell behind got its whole queue joined
# into one string (2 MB with 5,000 queued), and 500 of them grew an API worker by 800 MB.
TAKE_MAX = 200
REPLAY_MAX = 10000  # events replayed to one reconnecting client at most
FETCH_MAX = 2000
GAP_MAX = 10000  # a wider hole is a rolled-back burst, not worth tracking id by id


class Event(NamedTuple):
    """An event as the fan-out holds it: what filters read, and its JSON made by the query
    (migration 062).  A tuple of strings: a burst's events are held by every stream of a
    worker until each has sent them, and as dicts of decoded values they took twice the
    memory (1.3 kB a run-state event against 0.65), all of it in small objects."""

    id: int
    kind: str
    task: str | None
    run: str | None
    test: str | None
    json: str


def _events(rows: list[tuple]) -> list[Event]:
    """Rows of events_after/events_replay as Events, with one copy of each kind and test."""
    return [
        Event(i, sys.intern(kind), task, run, test and sys.intern(test), body)
        for i, kind, task, run, test, body in rows
    ]


@dataclass(frozen=True)
class Filters:
    """What a stream client asked for; an empty set means "everything".  Tasks are UUIDs in
    their canonical text form, as events carry them."""

    tasks: frozenset[str] = frozenset()
    tests: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        return not (self.tasks or self.tests or self.kinds)

    def match(self, event: Event) -> bool:
        return (
            (not self.tasks or event.task in self.tasks)
            and (not self.tests or event.test in self.tests)
            and (not self.kinds or event.kind in self.kinds)
        )


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_filters(tasks: Iterable[str], tests: Iterable[str], kinds: Iterable[str]) -> Filters:
    """Filters from query values (repeated or comma-separated); bad values are a BadRequest."""
    task_ids = set()
    for raw in _split(tasks):
        try:
            task_ids.add(str(uuid.UUID(raw)))
        except ValueError:
            raise BadRequest(f"Invalid task UUID '{raw}'") from None
    kind_set = set(_split(kinds))
    unknown = sorted(kind_set - set(KINDS))
    if unknown:
        raise BadRequest(f"Unknown event kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    return Filters(frozenset(task_ids), frozenset(_split(tests)), frozenset(kind_set))


def parse_last_id(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadRequest(f"Invalid event id '{raw}': expecting an integer") from None
    if value < 0:
        raise BadRequest(f"Invalid event id '{raw}': expecting an integer >= 0")
    return value


@dataclass(eq=False)
class Subscription:
    """One client's queue of matching events, woken by the hub: a thread waiting in
    ``take``, or, once set, ``waker`` (the process's stream writer, which then takes)."""

    filters: Filters
    queue: collections.deque = field(default_factory=collections.deque)
    cond: threading.Condition = field(default_factory=threading.Condition)
    overflowed: bool = False
    closed: bool = False
    resume_id: int = 0
    waker: Callable[[], None] | None = None

    def push(self, events: list[Event], resume_id: int) -> None:
        everything = self.filters.everything
        with self.cond:
            queued = len(self.queue)
            if everything and queued + len(events) <= QUEUE_MAX:
                self.queue.extend(events)
            else:
                for event in events:
                    if everything or self.filters.match(event):
                        if len(self.queue) >= QUEUE_MAX:
                            self.overflowed = True
                            break
                        self.queue.append(event)
            self.resume_id = resume_id
            # Woken only for something to send: a filtered stream's thread slept through other
            # tasks' events before, but woke for each batch of them and wrote a keep-alive.
            grew = len(self.queue) > queued or self.overflowed
            if grew:
                self.cond.notify_all()
        if grew and self.waker is not None:
            self.waker()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        if self.waker is not None:
            self.waker()

    def take(self, timeout: float, limit: int = TAKE_MAX) -> tuple[list[Event], int]:
        """Up to ``limit`` queued events (waiting up to ``timeout`` for one) and the id to
        resume after.

        A piece ends before the next id that is a multiple of ``limit``.  Streams that fell
        behind by different amounts then still cut the same pieces, and the writer renders
        and compresses each piece once for all of them.  Cut by count, in a burst of 5,000
        events to 250 streams a process made ~400 different pieces where 25 would do."""
        with self.cond:
            queue = self.queue
            if timeout > 0 and not queue and not self.overflowed and not self.closed:
                self.cond.wait(timeout)
            if not queue:
                return [], self.resume_id
            cut = (queue[0].id // limit + 1) * limit
            events = [queue.popleft()]
            while queue and queue[0].id < cut and len(events) < limit:
                events.append(queue.popleft())
            return events, self.resume_id


class Hub:
    """One reader thread per process; subscribers get every new matching event."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.db = Database(dsn, "pscheduler-api-events", maxconn=1)
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cursor: int | None = None  # highest id read
        self._gaps: dict[int, float] = {}  # id -> monotonic time first missed
        self._ready = threading.Event()

    # ------------------------------------------------------------------ the listener thread

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._ready.clear()
                self._thread = threading.Thread(target=self._run, name="events", daemon=True)
                self._thread.start()
        self._ready.wait(10.0)

    def _start_cursor(self) -> int:
        row = self.db.one("events_bounds")
        return int(row["last"]) if row else 0

    def _run(self) -> None:
        wake = threading.Event()
        fan = fanout(self.dsn)
        fan.subscribe("event", lambda _payload: wake.set())
        while True:
            try:
                # LISTEN before reading the start, so nothing committed in between is missed.
                fan.wait_listening(SWEEP)
                if self._cursor is None:
                    self._cursor = self._start_cursor()
                self._ready.set()
                wake.clear()  # a notification from now on means another read
                self._fetch()
                if wake.wait(SWEEP):
                    time.sleep(min(COALESCE_MAX, COALESCE + COALESCE_PER_STREAM * self.subscribers))
            except DatabaseUnavailable as exc:
                log.warning("Event stream: %s; retrying", exc)
                time.sleep(1.0)
            except Exception:  # noqa: BLE001 - the fan-out must survive a bad row
                log.exception("Event stream: unexpected error; continuing")
                time.sleep(1.0)

    def resume_id(self) -> int:
        """Every event with an id up to this one has been read (or given up on)."""
        cursor = self._cursor or 0
        return min([cursor, *(g - 1 for g in self._gaps)])

    def _fetch(self) -> None:
        while True:
            now = time.monotonic()
            self._gaps = {g: t for g, t in self._gaps.items() if now - t < GAP_TTL}
            rows = _events(
                self.db.tuples(
                    "events_after",
                    {"after": self._cursor, "gaps": sorted(self._gaps), "limit": FETCH_MAX},
                )
            )
            if not rows:
                return
            fresh = []
            for row in rows:
                if row.id in self._gaps:
                    del self._gaps[row.id]
                    fresh.append(row)
                elif row.id > self._cursor:
                    if row.id - self._cursor <= GAP_MAX:
                        for missing in range(self._cursor + 1, row.id):
                            self._gaps.setdefault(missing, now)
                    self._cursor = row.id
                    fresh.append(row)
            if fresh:
                resume = self.resume_id()
                with self._lock:
                    subs = list(self._subs)
                for sub in subs:
                    sub.push(fresh, resume)
            if len(rows) < FETCH_MAX:
                return

    # ------------------------------------------------------------------ subscribers

    def open(self, filters: Filters) -> tuple[Subscription, int]:
        """A live subscription and the id up to which the database must be replayed; the
        caller ends it with ``close`` (a stream handed to the writer outlives its request)."""
        self._ensure_thread()
        sub = Subscription(filters)
        with self._lock:
            upto = self._cursor or 0
            sub.resume_id = self.resume_id()
            self._subs.add(sub)
        return sub, upto

    def close(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def close_all(self) -> None:
        """End every stream (the process is stopping): clients reconnect elsewhere."""
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.close()


def replay(db: Database, filters: Filters, after: int, upto: int) -> tuple[list[Event], bool]:
    """Events a reconnecting client missed, and whether older ones were already purged."""
    bounds = db.one("events_bounds") or {"first": 0, "last": 0}
    purged = bool(bounds["first"]) and after + 1 < bounds["first"]
    rows = db.tuples(
        "events_replay",
        {
            "after": after,
            "upto": upto,
            "tasks": sorted(filters.tasks) or None,
            "tests": sorted(filters.tests) or None,
            "kinds": sorted(filters.kinds) or None,
            "limit": REPLAY_MAX,
        },
    )
    return _events(rows), purged


def purge(db: Database) -> int:
    """Drop events older than the node's retention (configurables.keep_events)."""
    return db.execute("purge_events")


_hubs: dict[str, Hub] = {}
_hubs_lock = threading.Lock()


def shutdown() -> None:
    """End the streams of every hub in this process, so a graceful stop is quick."""
    with _hubs_lock:
        hubs = list(_hubs.values())
    for h in hubs:
        h.close_all()


def hub(dsn: str) -> Hub:
    with _hubs_lock:
        if dsn not in _hubs:
            _hubs[dsn] = Hub(dsn)
        return _hubs[dsn]
