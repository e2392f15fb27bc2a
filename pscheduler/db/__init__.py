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
import psycopg2.extensions
import psycopg2.extras
import psycopg2.pool

log = logging.getLogger(__name__)

psycopg2.extensions.register_adapter(dict, psycopg2.extras.Json)
psycopg2.extras.register_uuid()


class DatabaseUnavailable(Exception):
    """The database cannot be reached; callers answer 503 or wait and retry."""


def describe_dsn(dsn: str) -> str:
    """Where a DSN points, for one-line error messages (never the password)."""
    try:
        params = psycopg2.extensions.parse_dsn(dsn)
    except psycopg2.ProgrammingError:
        return "an unparsable DSN"
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    return f"{host}:{port}/{params.get('dbname', '')}"


def connect(dsn: str, application_name: str = "pscheduler") -> psycopg2.extensions.connection:
    try:
        conn = psycopg2.connect(dsn, application_name=application_name, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
        raise DatabaseUnavailable(
            f"Database at {describe_dsn(dsn)} is unavailable: {first}"
        ) from exc
    return conn


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


class Database:
    """A small thread-safe pool of connections to one DSN, with transaction helpers."""

    def __init__(self, dsn: str, application_name: str = "pscheduler", maxconn: int = 16):
        self.dsn = dsn
        self.application_name = application_name
        self._maxconn = maxconn
        self._idle: list[psycopg2.extensions.connection] = []
        self._count = 0
        self._cond = threading.Condition()

    def _take(self) -> psycopg2.extensions.connection:
        with self._cond:
            deadline = time.monotonic() + 30
            while not self._idle and self._count >= self._maxconn:
                if not self._cond.wait(max(0.0, deadline - time.monotonic())):
                    raise DatabaseUnavailable("No database connection free within 30 s")
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            return connect(self.dsn, self.application_name)
        except Exception:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _give(self, conn: psycopg2.extensions.connection, broken: bool) -> None:
        with self._cond:
            if broken or conn.closed:
                self._count -= 1
                with contextlib.suppress(Exception):
                    conn.close()
            else:
                self._idle.append(conn)
            self._cond.notify()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg2.extras.RealDictCursor]:
        """A cursor in one transaction: committed on success, rolled back on error."""
        conn = self._take()
        broken = False
        try:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                yield cur
            conn.commit()
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            broken = True
            raise DatabaseUnavailable(
                f"Database at {describe_dsn(self.dsn)} is unavailable: {str(exc).strip()[:200]}"
            ) from exc
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise
        finally:
            self._give(conn, broken)

    def one(self, name: str, params: Any = None) -> dict | None:
        with self.transaction() as cur:
            cur.execute(query(name), params)
            return cur.fetchone()

    def all(self, name: str, params: Any = None) -> list[dict]:
        with self.transaction() as cur:
            cur.execute(query(name), params)
            return cur.fetchall()

    def execute(self, name: str, params: Any = None) -> int:
        with self.transaction() as cur:
            cur.execute(query(name), params)
            return cur.rowcount

    def close(self) -> None:
        with self._cond:
            for conn in self._idle:
                with contextlib.suppress(Exception):
                    conn.close()
            self._idle.clear()


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

    def _ensure(self) -> psycopg2.extensions.connection:
        if self._conn is None or self._conn.closed:
            conn = connect(self.dsn, self.application_name + "-listen")
            conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
            with conn.cursor() as cur:
                for channel in self.channels:
                    cur.execute(f'LISTEN "{channel}"')
            self._conn = conn
        return self._conn

    def wait(self, timeout: float, wake_fd: int | None = None) -> list[psycopg2.extensions.Notify]:
        """Notifications that arrived within ``timeout``; ``wake_fd`` readable ends it early."""
        try:
            conn = self._ensure()
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
