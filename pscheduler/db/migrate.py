"""Applies the numbered migrations in ``sql/migrations`` exactly once, in order.

Several processes may start together: an advisory lock serialises them, and each migration
runs in the same transaction as the row that records it.
"""

from __future__ import annotations

import importlib.resources
import logging
import re

from pscheduler.db import connect

log = logging.getLogger(__name__)

_LOCK_KEY = 0x70534368  # "pSCh"
_NAME_RE = re.compile(r"^(\d+)_([\w-]+)\.sql$")


def available() -> list[tuple[int, str, str]]:
    folder = importlib.resources.files("pscheduler_sql") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text()))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"Two migrations share a number: {versions}")
    return found


def upgrade(dsn: str) -> list[int]:
    """Bring the database to the newest schema; returns the versions applied now."""
    conn = connect(dsn, "pscheduler-migrate")
    applied: list[int] = []
    try:
        with conn:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migration ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " applied timestamptz NOT NULL DEFAULT now())"
                )
                cur.execute("SELECT version FROM schema_migration")
                done = {row[0] for row in cur.fetchall()}
                for version, name, text in available():
                    if version in done:
                        continue
                    log.info("Applying migration %03d_%s", version, name)
                    cur.execute(text)
                    cur.execute(
                        "INSERT INTO schema_migration (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                    applied.append(version)
    finally:
        conn.close()
    return applied
