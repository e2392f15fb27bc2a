"""Fill a node's database with many runs fast, and the hot queries to check against them.

Shared by tests/scale/test_query_plans.py (100k runs) and bench/explain_hot.py (1M runs).
Runs go straight into the database with one generate_series INSERT (through every trigger, so
run_count and the indexes are maintained as in production): finished runs in the past and
pending runs in the future, 20 s apart per task and at least ten minutes from now, so neither
the runner nor the ticker touches them while a test runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pscheduler.monitor.panoptes import RUN_STATE_STATUS

FILL = """
INSERT INTO run (uuid, task, times, state, status, started)
SELECT gen_random_uuid(), t.id, tstzrange(x.s, x.s + interval '1 second'),
       CASE WHEN x.s < now() THEN 'finished' ELSE 'pending' END,
       CASE WHEN x.s < now() THEN 0 END,
       CASE WHEN x.s < now() THEN x.s + interval '5 ms' END
FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM task WHERE id = ANY(%(tasks)s)) t
CROSS JOIN generate_series(0, %(per_task)s - 1) g
CROSS JOIN LATERAL (
    SELECT now() + (CASE WHEN g < %(per_task)s / 2 THEN -(g + 30)
                         ELSE g - %(per_task)s / 2 + 30 END) * interval '20 seconds'
           + t.k * interval '1 millisecond' AS s) x
"""


PENDING = """
INSERT INTO run (uuid, task, times, state)
SELECT gen_random_uuid(), %(task)s, tstzrange(s, s + interval '1 second'), 'pending'
FROM generate_series(1, %(count)s) g,
     LATERAL (SELECT now() + %(first)s::interval + (g - 1) * %(step)s::interval AS s) x
"""


def insert_pending(cur, task_id: int, count: int, first: str, step: str) -> None:
    """``count`` pending runs of the task, the first starting ``first`` from now (an
    interval, negative for the past), then every ``step``."""
    cur.execute(PENDING, {"task": task_id, "count": count, "first": first, "step": step})


def fill_runs(conn, task_ids: list[int], total: int) -> int:
    """Insert about ``total`` runs spread over ``task_ids``; returns how many were inserted."""
    per_task = max(2, total // len(task_ids))
    with conn.cursor() as cur:
        cur.execute(FILL, {"tasks": task_ids, "per_task": per_task})
        inserted = cur.rowcount
    conn.commit()
    old = conn.autocommit
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE run")
        cur.execute("ANALYZE task")
    conn.autocommit = old
    return inserted


def hot_queries(task_id: int, task_uuid: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Label -> (named query, parameters): what the API runs on every hot request."""
    now = dt.datetime.now(dt.timezone.utc)
    window = dt.timedelta(hours=1)
    status = RUN_STATE_STATUS.items()
    groups = {
        "done": [s for s, m in status if m in ("completed", "error", "cancelled")],
        "running": [s for s, m in status if m == "running"],
        "pending": [s for s, m in status if m == "pending"],
    }
    return {
        "/status last times": ("runs_last_times", {}),
        "/metrics runs by state": ("metrics_runs_by_state", {}),
        "/metrics start lateness": ("metrics_start_lateness", {"window": window}),
        "/metrics placement latency": ("metrics_placement_latency", {"window": window}),
        "/stat/runs/<state>": ("count_runs_in_state_all", {"state": "finished"}),
        "/stat/runs/<state>?start&end": (
            "count_runs_in_state",
            {"state": "pending", "start": now, "end": now + window},
        ),
        "GET /tasks": (
            "task_uuid_list",
            {
                "json": None,
                "limit": None,
                "offset": 0,
                "prefix": '"https://h/pscheduler/tasks/',
                "kept": None,
            },
        ),
        "GET /tasks?expanded": ("task_list", {"json": None, "limit": None, "offset": 0}),
        "/metrics archiving backlog": ("metrics_archiving_backlog", {}),
        "/metrics tasks": ("metrics_tasks", {}),
        "GET /tasks?limit=50": ("task_list", {"json": None, "limit": 50, "offset": 0}),
        "GET /tasks/<t>": ("task_by_uuid", {"uuid": task_uuid}),
        "GET /tasks/<t>/runs/first": ("run_first", {"task": task_id}),
        "GET /tasks/<t>/runs/next": ("run_next", {"task": task_id}),
        "GET /tasks/<t>/runs?limit=100": (
            "run_list",
            {
                "task": task_id,
                "start": None,
                "end": None,
                "upcoming": False,
                "limit": 100,
                "offset": 0,
            },
        ),
        "/schedule (1 hour)": ("schedule_runs", {"start": now, "end": now + window, "task": None}),
        "/monitor?window=10": ("monitor_runs", {"window": 10}),
        # The ticker's passes: they run every few seconds whatever the API does.
        "ticker purge runs": ("purge_runs", {"limit": 1000}),
        "ticker purge tasks": ("purge_tasks", {}),
        "ticker missed runs": (
            "mark_missed",
            {"cutoff": now - dt.timedelta(seconds=30), "limit": 1000},
        ),
        "ticker overdue runs": ("mark_overdue", {}),
        # Placing a normal run reads the exclusive runs around it, not the day's normal ones.
        "scheduler exclusive timeline": (
            "active_runs_in_window",
            {"start": now, "end": now + dt.timedelta(days=1), "class": "exclusive"},
        ),
        "/m1/workflows/": ("panoptes_task_workflows", {"uuid": None, **groups}),
    }


def _walk(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _walk(child)


def explain(conn, sql: str, params: dict, analyze: bool = True) -> dict:
    """The query's JSON plan (EXPLAIN ANALYZE unless told) and its total time in ms."""
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    with conn.cursor() as cur:
        cur.execute(f"EXPLAIN ({options}) {sql}", params)
        plan = cur.fetchone()[0][0]
    conn.rollback()
    return plan


def rows_handled(plan: dict, relation: str | None = None) -> int:
    """Rows that went through the plan's nodes (actual rows times loops), or only through
    those that scan ``relation``: a nested loop re-reading its inner side shows here."""
    return sum(
        int(node.get("Actual Rows", 0) * node.get("Actual Loops", 1))
        for node in _walk(plan["Plan"])
        if relation is None or node.get("Relation Name") == relation
    )


def run_rows_read(plan: dict) -> int:
    """Rows taken from the run table by every scan node."""
    return rows_handled(plan, "run")


def seq_scans(plan: dict, relation: str = "run") -> int:
    return sum(
        1
        for node in _walk(plan["Plan"])
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") == relation
    )
