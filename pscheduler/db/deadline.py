"""Answer-or-give-up deadlines for connections whose callers must not hang (the API's).

PostgreSQL's ``statement_timeout`` and ``lock_timeout`` end slow statements and lock waits,
but a server that does not run at all (stopped, swapped out, a hung disk, a lost network)
enforces nothing: a request would wait on its socket for as long as the server is away.  So
connections made with ``connection_class(seconds)`` give up on their own after that long
without an answer (``connect_seconds`` while connecting) and raise ``NoAnswer``; psycopg2
then closes the connection.

This goes through psycopg2's wait callback, which is process-wide: ``install()`` sets it
once, and connections of other classes (the daemons', a LISTEN connection) wait as before,
without limit.
"""

from __future__ import annotations

import functools
import select
import threading
import time

import psycopg2
import psycopg2.extensions

_installed = threading.Lock()
_done: list[bool] = []


class NoAnswer(psycopg2.OperationalError):
    """The database did not answer within the connection's deadline."""


class _Timed(psycopg2.extensions.connection):
    answer_within: float | None = None
    connect_within: float | None = None


@functools.cache
def connection_class(seconds: float, connect_seconds: float) -> type:
    """A connection class whose every wait for the server ends after ``seconds``."""
    return type(
        "TimedConnection", (_Timed,), {"answer_within": seconds, "connect_within": connect_seconds}
    )


def install() -> None:
    """Make psycopg2 wait through ``wait`` in this process (idempotent)."""
    with _installed:
        if not _done:
            psycopg2.extensions.set_wait_callback(wait)
            _done.append(True)


def wait(conn) -> None:
    """psycopg2's wait callback: poll until the operation is done, within the deadline."""
    limit = getattr(conn, "answer_within", None)
    if limit is not None and conn.status == psycopg2.extensions.STATUS_SETUP:
        limit = getattr(conn, "connect_within", None) or limit
    deadline = None if limit is None else time.monotonic() + limit
    poller = select.poll()  # not select.select: fine with descriptors above 1023
    registered = None
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state == psycopg2.extensions.POLL_READ:
            events = select.POLLIN
        elif state == psycopg2.extensions.POLL_WRITE:
            events = select.POLLOUT
        else:
            raise psycopg2.OperationalError(f"bad state from poll: {state}")
        fd = conn.fileno()
        if registered != (fd, events):
            if registered is not None:
                poller.unregister(registered[0])
            poller.register(fd, events | select.POLLERR | select.POLLHUP)
            registered = (fd, events)
        if deadline is None:
            poller.poll()
            continue
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            raise NoAnswer(f"no answer from the database within {limit:g} s")
