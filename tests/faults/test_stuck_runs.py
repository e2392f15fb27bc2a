"""Runs forced, in a real node's database, into a transitional state past their deadline
(stuck in cleanup with or without a stored result, running, pending) all end — finished from
what was stored, or failed/missed/overdue with the reason as a result — and each is archived
exactly once, to the archives whose ``runs`` takes it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from psycopg2.extras import Json

from tests.archiving._helpers import Sink
from tests.faults._runs import (
    received_by_run,
    runs_of,
    sql,
    ticker_passes,
    transitional,
)
from tests.helpers import wait_for

NOOP_LOCAL = {"succeeded": True, "result": {"data": {"n": 7}}}


@pytest.fixture(scope="module")
def sinks():
    made = {"all": Sink(), "default": Sink(), "failed": Sink()}
    yield made
    for sink in made.values():
        sink.close()


def _task(node, sinks) -> tuple[str, int]:
    """A noop task archiving to the three sinks; disabled so no runner touches its runs."""
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    archives = [
        {"archiver": "http", "data": {"_url": sinks["all"].url()}, "runs": "all"},
        {"archiver": "http", "data": {"_url": sinks["default"].url()}},
        {"archiver": "http", "data": {"_url": sinks["failed"].url()}, "runs": "failed"},
    ]
    task = {
        "schema": 1,
        "test": {"type": "noop", "spec": {"schema": 1, "data": {"n": 7}}},
        "schedule": {"start": start},
        "archives": archives,
    }
    response = node.post("tasks", json=task)
    assert response.status_code == 200, response.text
    task_uuid = response.json().rstrip("/").rsplit("/", 1)[-1]
    with sql(node) as cur:
        cur.execute("UPDATE task SET enabled = FALSE WHERE uuid = %s RETURNING id", (task_uuid,))
        return task_uuid, cur.fetchone()["id"]


def _force(node, task_id: int, state: str, minutes_ago: int, result=None) -> str:
    """A run of the task that ended ``minutes_ago`` and is still in ``state``."""
    run_uuid = str(uuid.uuid4())
    with sql(node) as cur:
        cur.execute(
            """INSERT INTO run (uuid, task, times, state, status, result)
               VALUES (%s, %s, tstzrange(now() - %s * interval '1 minute',
                                         now() - %s * interval '1 minute' + interval '1 second'),
                       %s, %s, %s)""",
            (
                run_uuid,
                task_id,
                minutes_ago,
                minutes_ago,
                state,
                0 if result else None,
                Json(result) if result is not None else None,
            ),
        )
    return run_uuid


@pytest.fixture
def short_straggle(fault_node):
    """Runs count as stuck one second after their deadline (30 s by default)."""
    with sql(fault_node) as cur:
        cur.execute("UPDATE configurables SET run_straggle = 'PT1S'")
    yield
    with sql(fault_node) as cur:
        cur.execute("UPDATE configurables SET run_straggle = DEFAULT")


def test_runs_stuck_past_their_deadline_end_and_are_archived_once(
    fault_node, sinks, short_straggle
):
    node = fault_node
    task_uuid, task_id = _task(node, sinks)
    merged = _force(node, task_id, "cleanup", 10, NOOP_LOCAL)
    lost = _force(node, task_id, "cleanup", 9)
    running = _force(node, task_id, "running", 8)
    pending = _force(node, task_id, "pending", 7)
    forced = {merged, lost, running, pending}

    def ended():
        runs = runs_of(node, task_uuid)
        if all(runs[u]["state"] not in ("cleanup", "running", "pending") for u in forced):
            return runs
        return None

    runs = wait_for(ended, timeout=20, interval=0.2, what="the stuck runs to end")
    assert runs[merged]["state"] == "finished"
    assert runs[merged]["result_merged"] == {"schema": 1, "succeeded": True, "data": {"n": 7}}
    expected = {lost: "failed", running: "overdue", pending: "missed"}
    for run_uuid, state in expected.items():
        run = runs[run_uuid]
        assert run["state"] == state, run
        # A run without a result gets a failure result naming why, on the lead as merged.
        assert run["result_merged"]["succeeded"] is False, run
        assert run["result_merged"]["error"] and run["errors"], run
        assert run["result"]["succeeded"] is False, run
    assert "did not start" in runs[pending]["result_merged"]["error"]
    assert "did not report a result" in runs[running]["result_merged"]["error"]

    # Archived exactly once, each to the archives its outcome is for (runs: succeeded by
    # default, failed, all).
    sinks["all"].wait_count(4)
    sinks["default"].wait_count(1)
    sinks["failed"].wait_count(3)
    wait_for(
        lambda: all(runs_of(node, task_uuid)[u]["pending_archivings"] == 0 for u in forced),
        timeout=20,
        what="every archiving completed",
    )
    seen = ticker_passes(node)

    def two_more_passes():
        with sql(node) as cur:
            cur.execute("SELECT pg_notify('ticker_wake', '')")
        return ticker_passes(node) >= seen + 2

    wait_for(two_more_passes, timeout=30, interval=0.5, what="two more ticker passes")
    assert received_by_run(sinks["all"]) == {u: 1 for u in forced}
    assert received_by_run(sinks["default"]) == {merged: 1}
    assert received_by_run(sinks["failed"]) == {lost: 1, running: 1, pending: 1}
    runs = runs_of(node, task_uuid)
    assert {u: runs[u]["archivings"] for u in forced} == {
        merged: 2,
        lost: 2,
        running: 2,
        pending: 2,
    }
    assert transitional(node) == []
