"""The shared daemon loop: heartbeat, wake on NOTIFY (or a timer), do one step, repeat.

A step returns how long it may sleep before it wants to run again; notifications on the
daemon's channels wake it at once.  While the database is down the loop waits and retries,
so a node carries on by itself when PostgreSQL comes back.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable

from pscheduler.config import Config
from pscheduler.db import Database, DatabaseUnavailable, Listener, StorageFull
from pscheduler.logs import Throttle
from pscheduler.node import storage
from pscheduler.node.status import beat

log = logging.getLogger(__name__)

Step = Callable[[Database, list], float]


_wake_reader, _wake_writer = socket.socketpair()
_wake_reader.setblocking(False)
_wake_writer.setblocking(False)


def wake() -> None:
    """Make the loop's wait return at once (from a signal handler or another thread)."""
    with contextlib.suppress(OSError):
        _wake_writer.send(b"x")


def install_stop_handlers() -> threading.Event:
    stop = threading.Event()

    def handler(signum, frame):  # noqa: ARG001
        stop.set()
        wake()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    return stop


def _drain_wakeups() -> None:
    with contextlib.suppress(OSError):
        while _wake_reader.recv(4096):
            pass


def run_loop(
    name: str,
    config: Config,
    channels: list[str],
    step: Step,
    refresh: float = 10.0,
    stop: threading.Event | None = None,
) -> int:
    stop = stop or install_stop_handlers()
    db = Database(config.dsn or "", f"pscheduler-{name}", maxconn=32)
    listener = Listener(config.dsn or "", channels, f"pscheduler-{name}")
    booted = False
    last_beat = 0.0
    notes: list = []
    failures = 0
    # A lasting fault (database down, disk full) is logged once a minute, not per attempt.
    throttle = Throttle(60.0)
    log.info("%s started", name)
    while not stop.is_set():
        try:
            now = time.monotonic()
            if not booted or now - last_beat >= 1.0:
                beat(db, name, refresh + 5, boot=not booted)
                booted, last_beat = True, now
            sleep = step(db, notes)
            failures = 0
        except DatabaseUnavailable as exc:
            failures += 1
            sleep = min(10.0, 0.5 * failures)
            if isinstance(exc, StorageFull) or storage.is_full(config.state_dir):
                message = storage.full_message(config.state_dir)
                throttle.log(log, logging.ERROR, "full", "%s: %s; retrying", name, message)
            else:
                throttle.log(log, logging.WARNING, "db", "%s: %s; retrying", name, exc)
            stop.wait(sleep)
            notes = []
            continue
        except Exception as exc:  # noqa: BLE001 - a bug in one pass must not stop the daemon
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                message = storage.full_message(config.state_dir)
                throttle.log(log, logging.ERROR, "full", "%s: %s; retrying", name, message)
                sleep = 5.0
            else:
                log.exception("%s: unexpected error; continuing", name)
                sleep = 1.0
        notes = listener.wait(max(0.0, min(sleep, refresh)), _wake_reader.fileno())
        _drain_wakeups()
    listener.close()
    db.close()
    log.info("%s stopped", name)
    return 0
