"""One LISTEN connection per process, shared by every waiter and every event stream.

A request that waits (for a run to change, for a task's first run to be placed, for new
events) must not hold a PostgreSQL connection of its own: a hundred waiters would take a
hundred connections.  ``Fanout`` owns one thread and one ``Listener`` on ``CHANNELS`` and
calls the callbacks subscribed to a channel with each notification's payload.  After the
listener reconnects (the database restarted), every callback is called with ``None``:
notifications may have been lost, so subscribers re-read what they wait on.

Callbacks run on the listener thread and must be quick (set an event, nothing more).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pscheduler.db import DatabaseUnavailable, Listener

log = logging.getLogger(__name__)

# event: the event log appended a row (migration 005); run_state: a run changed state or got
# a result; run_new: runs were inserted or became visible (GET runs/first|next waits on it).
CHANNELS = ("event", "run_state", "run_new")
TICK = 5.0  # longest wait on the socket, so a dead thread is noticed and restarted
APPLICATION_NAME = "pscheduler-api-notify"

Callback = Callable[[str | None], None]


class Fanout:
    def __init__(self, dsn: str, application_name: str = APPLICATION_NAME):
        self.dsn = dsn
        self.application_name = application_name
        self._callbacks: dict[str, list[Callback]] = {channel: [] for channel in CHANNELS}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._listening = threading.Event()

    def subscribe(self, channel: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback(payload)`` on each NOTIFY of ``channel``; returns the unsubscribe."""
        if channel not in self._callbacks:
            raise ValueError(f"Channel {channel} is not one of {', '.join(CHANNELS)}")
        with self._lock:
            self._callbacks[channel].append(callback)
        self._ensure_thread()

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks[channel]:
                    self._callbacks[channel].remove(callback)

        return unsubscribe

    def wait_listening(self, timeout: float) -> bool:
        """Whether the LISTEN is in place (waiting up to ``timeout``): anything committed
        after this returns True will be notified."""
        self._ensure_thread()
        return self._listening.wait(timeout)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
                self._thread.start()

    def _dispatch(self, channel: str, payload: str | None) -> None:
        with self._lock:
            callbacks = list(self._callbacks.get(channel, ()))
        for callback in callbacks:
            try:
                callback(payload)
            except Exception:  # noqa: BLE001 - one bad subscriber must not stop the others
                log.exception("Notification callback for %s failed", channel)

    def _run(self) -> None:
        listener = Listener(self.dsn, list(CHANNELS), self.application_name)
        seen = 0
        while True:
            try:
                listener.ensure()
            except DatabaseUnavailable as exc:
                self._listening.clear()
                log.warning("Notifications: %s; retrying", exc)
                time.sleep(1.0)
                continue
            self._listening.set()
            if listener.connects != seen:
                if seen:
                    for channel in CHANNELS:  # reconnected: what was sent meanwhile is lost
                        self._dispatch(channel, None)
                seen = listener.connects
            for note in listener.wait(TICK):
                self._dispatch(note.channel, note.payload)


_fanouts: dict[str, Fanout] = {}
_fanouts_lock = threading.Lock()


def fanout(dsn: str) -> Fanout:
    """This process's fan-out for ``dsn``."""
    with _fanouts_lock:
        if dsn not in _fanouts:
            _fanouts[dsn] = Fanout(dsn)
        return _fanouts[dsn]
