"""The ticker marks missed runs a batch at a time (a node back from an outage may have
thousands), and goes on until none is left: a batch smaller than the rest loses none."""

from __future__ import annotations

import psycopg2

from pscheduler.db import Database, migrate
from pscheduler.runs import stuck

MISSED = 5


def test_every_missed_run_is_marked_across_batches(cluster, monkeypatch):
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
        cur.execute(
            "INSERT INTO run (uuid, task, times, state)"
            " SELECT gen_random_uuid(), %s, tstzrange(s, s + interval '1 second'), 'pending'"
            " FROM generate_series(1, %s) g,"
            " LATERAL (SELECT now() - g * interval '10 minutes' AS s) x",
            (task, MISSED),
        )
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
        conn.close()
