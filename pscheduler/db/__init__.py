"""Database access: connections, transactions, named queries and migrations.

PostgreSQL is the single source of truth; every process talks to it through this module.
Queries are named blocks in ``sql/queries/*.sql`` (``-- name: <name>`` then the SQL), so
Python never builds SQL from strings.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
import re
import select
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
import psycopg2.pool

from pscheduler.db import deadline
from pscheduler.toolkit import heap

log = logging.getLogger(__name__)

psycopg2.extensions.register_adapter(dict, psycopg2.extras.Json)
psycopg2.extras.register_uuid()


class DictCursor(psycopg2.extensions.cursor):
    """Rows as plain dicts, each made in one call (``dict(zip(names, row))``).

    psycopg2's RealDictCursor sets every column through a Python-level ``__setitem__``: it
    was the busiest line of the API's event fan-out in a burst (5,000 event rows read by each
    worker) and among the busiest of its requests, and fetching 5,000 seven-column rows took
    twice as long as plain tuples.  These rows are ordinary dicts, as fast to make as tuples."""

    def _rows(self, rows: list[tuple]) -> list[dict]:
        names = [column[0] for column in self.description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def fetchone(self) -> dict | None:
        row = super().fetchone()
        return None if row is None else self._rows([row])[0]

    def fetchmany(self, size: int | None = None) -> list[dict]:
        return self._rows(super().fetchmany(self.arraysize if size is None else size))

    def fetchall(self) -> list[dict]:
        return self._rows(super().fetchall())

    def __iter__(self) -> Iterator[dict]:
        while (row := self.fetchone()) is not None:
            yield row


class DatabaseUnavailable(Exception):
    """The database cannot be reached; callers answer 503 or wait and retry."""


class StorageFull(DatabaseUnavailable):
    """PostgreSQL could not write: its file system is full (SQLSTATE 53100, or ENOSPC in the
    message).  A kind of unavailability: callers retry later, and answer 507 if they can."""


def _disk_full(exc: Exception) -> bool:
    return isinstance(exc, psycopg2.errors.DiskFull) or "No space left on device" in str(exc)


class DatabaseTimeout(DatabaseUnavailable):
    """The database did not answer in time (statement or lock timeout, or no answer at all)."""


def describe_dsn(dsn: str) -> str:
    """Where a DSN points, for one-line error messages (never the password)."""
    try:
        params = psycopg2.extensions.parse_dsn(dsn)
    except psycopg2.ProgrammingError:
        return "an unparsable DSN"
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    return f"{host}:{port}/{params.get('dbname', '')}"


def connect_options(
    application_name: str,
    statement_timeout: float | None = None,
    lock_timeout: float | None = None,
    connect_timeout: float | None = None,
) -> dict[str, Any]:
    """Keyword arguments of every connection this process opens (pool and listeners alike):
    the one place to set connection options.

    With a ``statement_timeout`` (seconds) the server ends longer statements (and lock waits
    after ``lock_timeout``), and the connection itself gives up half a second later when the
    server does not answer at all (``pscheduler.db.deadline``), or after ``connect_timeout``
    while connecting.
    """
    options: dict[str, Any] = {
        "application_name": application_name,
        # libpq counts whole seconds and takes anything under 2 as 2.
        "connect_timeout": max(2, round(connect_timeout or 5)),
    }
    # No JIT: our statements are short, but a per-task count subplan lifts the scheduler's
    # estimates over jit_above_cost, and on a server built with LLVM (Debian's; the embedded
    # one has none) compiling then cost 50 ms a call at 300k runs, for a 0.15 ms query.
    settings = ["-c jit=off"]
    if statement_timeout:
        settings.append(f"-c statement_timeout={int(statement_timeout * 1000)}")
        if lock_timeout:
            settings.append(f"-c lock_timeout={int(lock_timeout * 1000)}")
        options["connection_factory"] = deadline.connection_class(
            statement_timeout + 0.5, connect_timeout or statement_timeout
        )
    options["options"] = " ".join(settings)
    return options


def unavailable(dsn: str, exc: Exception) -> DatabaseUnavailable:
    """The one-line error for a failed connection attempt."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
    return DatabaseUnavailable(f"Database at {describe_dsn(dsn)} is unavailable: {first}")


def connect(dsn: str, application_name: str = "pscheduler") -> psycopg2.extensions.connection:
    try:
        return psycopg2.connect(dsn, **connect_options(application_name))
    except psycopg2.OperationalError as exc:
        raise unavailable(dsn, exc) from exc


# ---------------------------------------------------------------------------- named queries

_QUERY_RE = re.compile(r"^--\s*name:\s*(\S+)\s*$", re.MULTILINE)
_queries: dict[str, str] | None = None


def _load_queries() -> dict[str, str]:
    queries: dict[str, str] = {}
    folder = importlib.resources.files("pscheduler_sql") / "queries"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        text = entry.read_text()
        parts = _QUERY_RE.split(text)
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in queries:
                raise RuntimeError(f"Query {name} is defined twice")
            queries[name] = body.strip().rstrip(";")
    return queries


def query(name: str) -> str:
    global _queries
    if _queries is None:
        _queries = _load_queries()
    return _queries[name]


# ---------------------------------------------------------------------------- the pool


class _Pool(psycopg2.pool.ThreadedConnectionPool):
    """psycopg2's thread-safe pool, opening connections on demand and keeping them.

    Out of the box the pool opens ``minconn`` connections at construction (so a process could
    not even start while the database is down) and closes every returned connection beyond
    ``minconn``.  We construct it empty and then raise ``minconn`` to ``maxconn``: connections
    are opened lazily and every healthy one is kept for reuse, until ``Database.reap_idle``
    closes those a burst left idle.
    """

    def __init__(self, maxconn: int, dsn: str, options: dict[str, Any]):
        super().__init__(0, maxconn, dsn, **options)
        self.minconn = maxconn

    def _connect(self, key=None):
        if "connection_factory" in self._kwargs:
            deadline.install()  # before its first connection: only timed pools need it
        return super()._connect(key)


def _hung_up(conn: Any) -> bool:
    """Whether the server already closed this idle connection (its socket is readable: an
    idle pooled connection expects nothing, so that is the FATAL of a dying backend or EOF).

    Checked before each use, so a request after a database restart gets a fresh connection
    instead of failing on a dead one.  One poll() with no wait: costs microseconds."""
    if conn.closed:
        return True
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
        return bool(poller.poll(0))
    except (OSError, ValueError, psycopg2.InterfaceError):
        return True


class Database:
    """A thread-safe pool of connections to one DSN, with transaction helpers.

    The pooling itself is ``psycopg2.pool.ThreadedConnectionPool``; this class adds what the
    pool lacks: waiting (up to ``WAIT_FOR_CONNECTION`` s) instead of failing when every
    connection is taken, ``DatabaseUnavailable`` for a database that cannot be reached, and
    dropping the connections opened before a database restart once one of them is seen dead,
    so an outage costs one failed request rather than one per pooled connection.
    """

    WAIT_FOR_CONNECTION = 30.0
    # A burst of requests opens up to ``maxconn`` connections, each a PostgreSQL backend of
    # several MB; once the burst is over those idle beyond ``KEEP_IDLE`` are closed after
    # ``IDLE_SECONDS`` so the memory comes back (a few stay for the next request).
    KEEP_IDLE = 2
    IDLE_SECONDS = 30.0

    def __init__(
        self,
        dsn: str,
        application_name: str = "pscheduler",
        maxconn: int = 16,
        *,
        statement_timeout: float | None = None,
        lock_timeout: float | None = None,
        connect_timeout: float | None = None,
        wait_for_connection: float | None = None,
    ):
        """The timeouts (seconds; see ``connect_options``) are for callers that must answer
        fast, such as the API: a hung database then costs a request a few seconds, not the
        whole time it is away."""
        self.dsn = dsn
        self.application_name = application_name
        self._maxconn = maxconn
        self._options = connect_options(
            application_name, statement_timeout, lock_timeout, connect_timeout
        )
        if wait_for_connection is not None:
            self.WAIT_FOR_CONNECTION = wait_for_connection
        self._slots = threading.BoundedSemaphore(maxconn)
        self._pool = _Pool(maxconn, dsn, self._options)
        self._lock = threading.Lock()
        # Connections are stamped with the generation they were opened in; seeing one dead
        # starts a new generation and older idle connections are then dropped as they are
        # taken (they most likely died in the same restart).
        self._generation = 0
        self._born: dict[int, int] = {}
        self._last_used: dict[int, float] = {}
        self._reaper: threading.Thread | None = None

    def _take(self) -> tuple[psycopg2.pool.ThreadedConnectionPool, Any]:
        if not self._slots.acquire(timeout=self.WAIT_FOR_CONNECTION):
            raise DatabaseUnavailable(
                f"No database connection free within {self.WAIT_FOR_CONNECTION:.0f} s"
            )
        try:
            while True:
                with self._lock:
                    pool = self._pool
                try:
                    conn = pool.getconn()
                except psycopg2.OperationalError as exc:
                    raise unavailable(self.dsn, exc) from exc
                hung_up = _hung_up(conn)
                with self._lock:
                    born = self._born.setdefault(id(conn), self._generation)
                    if hung_up and born == self._generation:
                        self._generation += 1  # its siblings most likely died with it
                    stale = born < self._generation or bool(conn.closed)
                    if stale:
                        del self._born[id(conn)]
                if not stale:
                    return pool, conn
                pool.putconn(conn, close=True)
        except BaseException:
            self._slots.release()
            raise

    def _give(self, pool: psycopg2.pool.ThreadedConnectionPool, conn: Any, broken: bool) -> None:
        try:
            dead = bool(conn.closed) or (
                conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_UNKNOWN
            )
            with self._lock:
                if dead and self._born.get(id(conn)) == self._generation:
                    self._generation += 1
                if broken or dead or pool is not self._pool:
                    self._born.pop(id(conn), None)
                    broken = True
                self._last_used[id(conn)] = time.monotonic()
                if broken:
                    self._last_used.pop(id(conn), None)
            try:
                pool.putconn(conn, close=broken)
            except psycopg2.pool.PoolError:  # closed by close() meanwhile
                with contextlib.suppress(Exception):
                    conn.close()
        finally:
            self._slots.release()

    def _ensure_reaper(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(
                target=self._reap_forever, name="db-reaper", daemon=True
            )
            self._reaper.start()

    def _reap_forever(self) -> None:
        while True:
            time.sleep(self.IDLE_SECONDS / 3)
            with contextlib.suppress(Exception):  # never let housekeeping kill the thread
                self.reap_idle()

    def reap_idle(self, now: float | None = None) -> int:
        """Close pooled connections idle for ``IDLE_SECONDS`` beyond the ``KEEP_IDLE`` most
        recently used; returns how many were closed."""
        now = time.monotonic() if now is None else now
        with self._lock:
            pool = self._pool
        victims = []
        with pool._lock:  # psycopg2's own lock over its idle list (oldest first)
            idle = pool._pool
            for conn in list(idle[: max(0, len(idle) - self.KEEP_IDLE)]):
                if now - self._last_used.get(id(conn), now) >= self.IDLE_SECONDS:
                    idle.remove(conn)
                    victims.append(conn)
        for conn in victims:
            with self._lock:
                self._born.pop(id(conn), None)
                self._last_used.pop(id(conn), None)
            with contextlib.suppress(Exception):
                conn.close()
        if victims:
            log.debug("Closed %d idle database connections", len(victims))
            heap.trim()
        return len(victims)

    @contextlib.contextmanager
    def transaction(self, *, single: bool = False) -> Iterator[DictCursor]:
        """A cursor in one transaction: committed on success, rolled back on error.

        ``single``: the caller runs one statement (``one``, ``all``, ``execute``), which is a
        transaction of its own without BEGIN and COMMIT.  psycopg2 sends each of those as a
        query of its own: three round trips for one statement, each parsed by the server and
        each waited for, and under load every wait may cost a thread its turn at the GIL."""
        self._ensure_reaper()
        pool, conn = self._take()
        broken = False
        try:
            if single:
                conn.autocommit = True
            with conn.cursor(cursor_factory=DictCursor) as cur:
                yield cur
            conn.commit()
        except (
            deadline.NoAnswer,
            psycopg2.errors.QueryCanceled,
            psycopg2.errors.LockNotAvailable,
        ) as exc:
            broken = True
            raise DatabaseTimeout(
                f"Database at {describe_dsn(self.dsn)} did not answer in time: "
                f"{str(exc).strip()[:200]}"
            ) from exc
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            if _disk_full(exc):
                # The connection is sound; only this write failed.
                with contextlib.suppress(Exception):
                    conn.rollback()
                broken = bool(conn.closed)
                raise StorageFull(
                    f"Database at {describe_dsn(self.dsn)} cannot write: {str(exc).strip()[:200]}"
                ) from exc
            broken = True
            raise DatabaseUnavailable(
                f"Database at {describe_dsn(self.dsn)} is unavailable: {str(exc).strip()[:200]}"
            ) from exc
        except psycopg2.Error as exc:
            with contextlib.suppress(Exception):
                conn.rollback()
            if _disk_full(exc):
                raise StorageFull(
                    f"Database at {describe_dsn(self.dsn)} cannot write: {str(exc).strip()[:200]}"
                ) from exc
            raise
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise
        finally:
            if single:
                try:
                    conn.autocommit = False
                except psycopg2.Error:  # closed meanwhile
                    broken = True
            self._give(pool, conn, broken)

    def one(self, name: str, params: Any = None) -> dict | None:
        with self.transaction(single=True) as cur:
            cur.execute(query(name), params)
            return cur.fetchone()

    def all(self, name: str, params: Any = None) -> list[dict]:
        with self.transaction(single=True) as cur:
            cur.execute(query(name), params)
            return cur.fetchall()

    def tuples(self, name: str, params: Any = None) -> list[tuple]:
        """Rows as psycopg2 makes them, for a hot path that builds its own (the event
        fan-out: thousands of rows a burst, each kept until every stream has sent it)."""
        with self.transaction(single=True) as cur:
            cur.execute(query(name), params)
            return psycopg2.extensions.cursor.fetchall(cur)

    def execute(self, name: str, params: Any = None) -> int:
        with self.transaction(single=True) as cur:
            cur.execute(query(name), params)
            return cur.rowcount

    @contextlib.contextmanager
    def reading(self) -> Iterator[Reads]:
        """Named queries that share one connection and one transaction: a page made of many
        figures (``/metrics``, ``/status``) pays one pool checkout and one BEGIN/COMMIT, not
        one per figure, and its figures agree with each other."""
        with self.transaction() as cur:
            yield Reads(cur)

    def close(self) -> None:
        """Close every pooled connection; the Database stays usable (it reconnects on use)."""
        with self._lock:
            old, self._pool = (
                self._pool,
                _Pool(self._maxconn, self.dsn, self._options),
            )
            self._born.clear()
        old.closeall()


class Reads:
    """``Database.one``/``all`` on the cursor of one open transaction (``Database.reading``)."""

    def __init__(self, cur: DictCursor):
        self._cur = cur

    def one(self, name: str, params: Any = None) -> dict | None:
        self._cur.execute(query(name), params)
        return self._cur.fetchone()

    def all(self, name: str, params: Any = None) -> list[dict]:
        self._cur.execute(query(name), params)
        return self._cur.fetchall()


# Either, where a function only reads with named queries.
Queries = Database | Reads


# ---------------------------------------------------------------------------- notifications


class Listener:
    """One LISTEN connection; ``wait`` returns notifications or [] after the timeout.

    Reconnects by itself when the database comes back, so a daemon simply keeps calling
    ``wait`` in its loop.
    """

    def __init__(self, dsn: str, channels: list[str], application_name: str = "pscheduler"):
        self.dsn = dsn
        self.channels = channels
        self.application_name = application_name
        self._conn: psycopg2.extensions.connection | None = None
        self.connects = 0  # connections made so far: a change means notifications were missed

    def ensure(self) -> psycopg2.extensions.connection:
        """The LISTEN connection, (re)connecting if needed; DatabaseUnavailable if it cannot."""
        if self._conn is None or self._conn.closed:
            conn = connect(self.dsn, self.application_name + "-listen")
            try:
                conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
                with conn.cursor() as cur:
                    for channel in self.channels:
                        cur.execute(f'LISTEN "{channel}"')
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                conn.close()
                raise unavailable(self.dsn, exc) from exc
            self._conn = conn
            self.connects += 1
        return self._conn

    def wait(self, timeout: float, wake_fd: int | None = None) -> list[psycopg2.extensions.Notify]:
        """Notifications that arrived within ``timeout``; ``wake_fd`` readable ends it early."""
        try:
            conn = self.ensure()
            if not conn.notifies:
                fds = [conn] if wake_fd is None else [conn, wake_fd]
                ready, _, _ = select.select(fds, [], [], max(0.0, timeout))
                if conn in ready:
                    conn.poll()
            else:
                conn.poll()
            notes = list(conn.notifies)
            conn.notifies.clear()
            return notes
        except (psycopg2.OperationalError, psycopg2.InterfaceError, DatabaseUnavailable) as exc:
            log.warning("Listener lost the database (%s); retrying", str(exc).strip()[:120])
            self.close()
            time.sleep(min(max(timeout, 0.1), 2.0))
            return []

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
