"""The ticker marks missed runs a batch at a time (a node back from an outage may have
thousands), and goes on until none is left: a batch smaller than the rest loses none.  With
none to mark, the statement must not read the pending horizon to find that out."""

from __future__ import annotations

import psycopg2
import pytest

from pscheduler.db import Database, migrate, query
from pscheduler.runs import stuck
from tests.scale.fill import explain, insert_pending, run_rows_read, seq_scans

MISSED = 5


@pytest.fixture
def database(cluster):
    """A migrated database with one disabled task: (dsn, autocommit connection, task id)."""
    dsn = cluster.new_database("missed")
    migrate.upgrade(dsn)
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO task (uuid, json, test_type, tool, scheduling_class, participants,"
            " duration, enabled)"
            " VALUES (gen_random_uuid(), '{}', 'idle', 'sleep', 'normal', '[\"h\"]',"
            " interval '1 second', false) RETURNING id"
        )
        task = cur.fetchone()[0]
    yield dsn, conn, task
    conn.close()


def test_every_missed_run_is_marked_across_batches(database, monkeypatch):
    dsn, conn, task = database
    with conn.cursor() as cur:
        insert_pending(cur, task, MISSED, "-1 hour", "10 minutes")
    monkeypatch.setattr(stuck, "MISSED_BATCH", 2)
    db = Database(dsn, "pscheduler-test")
    try:
        assert stuck.sweep(db)["missed"] == MISSED
        with conn.cursor() as cur:
            cur.execute("SELECT state, count(*) FROM run GROUP BY 1")
            assert cur.fetchall() == [("missed", MISSED)]
        assert stuck.sweep(db)["missed"] == 0
    finally:
        db.close()


def test_with_nothing_missed_the_pending_horizon_is_not_read(database):
    """A mesh node's table is mostly its pending horizon.  With the cut-off in a subquery the
    planner expected a third of it to be past, and with a LIMIT scanned the table for the
    first thousand (200 ms at 1.4M runs, every five seconds); given the cut-off as a value
    it knows how few are, and walks the index from its start."""
    _, conn, task = database
    with conn.cursor() as cur:
        insert_pending(cur, task, 50_000, "1 minute", "1 minute")
        cur.execute("ANALYZE run")
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute(query("missed_cutoff"))
        cutoff = cur.fetchone()[0]
    plan = explain(conn, query("mark_missed"), {"cutoff": cutoff, "limit": stuck.MISSED_BATCH})
    assert seq_scans(plan) == 0 and run_rows_read(plan) < 100, run_rows_read(plan)
