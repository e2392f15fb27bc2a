"""The statements a burst runs once per batch of runs cost in proportion to the batch (issue 14).

Found with auto_explain during bench/scale.py's burst of 1,000 runs: two of them compared every
run of a batch with every other, ~1 s of PostgreSQL each per burst.  The run table's
statistics are those of before the burst (ANALYZE saw no run running), as on a real node,
where a minute's burst is far too small to trigger an autoanalyze of a million runs.
"""

from __future__ import annotations

import psycopg2
import pytest
from psycopg2.extras import Json

from pscheduler.db import query
from tests.helpers import Node
from tests.scale.fill import explain, fill_runs, rows_handled

RUNS = 2400  # half finished in the past, half pending from ten minutes on
BATCH = 500
IDLE_LATER = {"test": {"type": "idle", "spec": {"duration": "PT1S"}}, "schedule": {"start": "PT2H"}}


@pytest.fixture(scope="module")
def db(cluster):
    node = Node(cluster.new_database("batch")).start()
    conn = psycopg2.connect(node.dsn)
    try:
        node.post("tasks", json=IDLE_LATER)
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM task")
            tasks = [row[0] for row in cur.fetchall()]
        conn.commit()
        fill_runs(conn, tasks, RUNS)  # and ANALYZE: no run is running
        yield conn
    finally:
        conn.close()
        node.cleanup()


def _start_pending(conn, n: int) -> list[int]:
    """Move ``n`` pending runs to running as the runner does (in the caller's transaction)."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE run SET state = 'on-deck' WHERE id IN (SELECT id FROM run"
            " WHERE state = 'pending' ORDER BY lower(times) LIMIT %s) RETURNING id",
            (n,),
        )
        ids = [row[0] for row in cur.fetchall()]
        cur.execute("UPDATE run SET state = 'running' WHERE id = ANY(%s)", (ids,))
    return ids


def test_storing_a_batch_of_outcomes_reads_each_run_once(db):
    running = _start_pending(db, 2 * BATCH)  # the burst: more running than one batch ends
    ended = running[:BATCH]
    local = {
        i: {"status": 0, "result": {"succeeded": True}, "errors": None, "state": "cleanup"}
        for i in ended
    }
    plan = explain(db, query("runs_store_local_many"), {"outcomes": Json(local), "ids": ended})
    assert plan["Plan"]["Actual Rows"] == BATCH
    # Before: the record set read once per running run, 500 x 1,000 rows.
    assert rows_handled(plan) < 10 * BATCH, plan

    running = _start_pending(db, 2 * BATCH)
    ended = running[:BATCH]
    with db.cursor() as cur:
        cur.execute(
            "UPDATE run SET state = 'cleanup', result = '{\"succeeded\": true}' WHERE id = ANY(%s)",
            (ended,),
        )
    merged = {
        i: {
            "result_full": [{"succeeded": True}],
            "result_merged": {"succeeded": True},
            "state": "finished",
        }
        for i in ended
    }
    plan = explain(db, query("runs_store_merged_many"), {"outcomes": Json(merged), "ids": ended})
    assert plan["Plan"]["Actual Rows"] == BATCH
    assert rows_handled(plan) < 10 * BATCH, plan


def _count_trigger_ms(conn, ids: list[int]) -> float:
    """The run_count trigger's time for one UPDATE of ``ids`` (rolled back), best of three."""
    best = float("inf")
    for _ in range(3):
        plan = explain(
            conn, "UPDATE run SET errors = 'noted' WHERE id = ANY(%(ids)s)", {"ids": ids}
        )
        trigger = next(t for t in plan["Triggers"] if t["Trigger Name"] == "run_count_update")
        best = min(best, trigger["Time"])
    return best


def test_run_counts_of_a_batch_cost_in_proportion_to_the_batch(db):
    with db.cursor() as cur:
        cur.execute("SELECT id FROM run ORDER BY id LIMIT 2000")
        ids = [row[0] for row in cur.fetchall()]
    db.rollback()
    # A fresh session whose first UPDATE touches one run, as a daemon's first does: PL/pgSQL
    # keeps the trigger's plans from that call.
    conn = psycopg2.connect(db.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("UPDATE run SET errors = 'first' WHERE id = %s", (ids[0],))
        conn.rollback()
        small, large = _count_trigger_ms(conn, ids[:100]), _count_trigger_ms(conn, ids)
    finally:
        conn.close()
    # 20 times the rows: ~20 times the time in proportion, ~400 times when every old row was
    # compared with every new one (the join of the transition tables, planned for one row).
    assert large < 60 * max(small, 0.5), f"100 runs: {small:.2f} ms, 2,000 runs: {large:.2f} ms"
