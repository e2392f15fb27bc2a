"""The embedded PostgreSQL: a private cluster in the state dir, started with ``pgserver``.

A fresh machine needs nothing but Python; the cluster is reused on the next start.
"""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg2

log = logging.getLogger(__name__)

DBNAME = "pscheduler"
# Every process keeps a small pool; PostgreSQL's default of 100 connections is too few for a
# busy node (and for the test suite's many nodes on one cluster).
MAX_CONNECTIONS = 500


def start_cluster(pgdata: Path):
    """Start (or attach to) a pgserver cluster in ``pgdata`` with room for enough connections."""
    import pgserver  # imported late: only nodes without a DSN need it

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    conn = psycopg2.connect(server.get_uri("postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW max_connections")
            if int(cur.fetchone()[0]) >= MAX_CONNECTIONS:
                return server
            cur.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
    finally:
        conn.close()
    log.info("Restarting the embedded PostgreSQL for max_connections = %d", MAX_CONNECTIONS)
    server.cleanup()
    return pgserver.get_server(pgdata, cleanup_mode="stop")


class EmbeddedPostgres:
    def __init__(self, state_dir: str):
        self.pgdata = Path(state_dir) / "pgdata"
        self._server = None

    def start(self, dbname: str = DBNAME) -> str:
        """Start (or attach to) the cluster and return a DSN for ``dbname``, created if new."""
        self._server = start_cluster(self.pgdata)
        ensure_database(self._server.get_uri("postgres"), dbname)
        return self._server.get_uri(dbname)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def ensure_database(admin_dsn: str, dbname: str) -> None:
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is None:
                log.info("Creating database %s", dbname)
                cur.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        conn.close()
