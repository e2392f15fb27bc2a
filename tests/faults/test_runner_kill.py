"""A runner killed (SIGKILL) between the two transactions of a run's execution — local result
stored, merge not yet — leaves nothing stuck: the restarted runner merges what was stored, the
run finishes and is archived exactly once."""

from __future__ import annotations

from tests.archiving._helpers import Sink
from tests.faults._runs import (
    received_by_run,
    runs_of,
    sql,
    ticker_passes,
    transitional,
)
from tests.helpers import wait_for

POINT = "execute-stored"  # pscheduler.runs.execute: after the local store, before the merge


def _runner_pid(node) -> int | None:
    with sql(node) as cur:
        cur.execute("SELECT pid FROM heartbeat WHERE name = 'runner'")
        row = cur.fetchone()
        return row["pid"] if row else None


def test_runner_killed_between_store_and_merge_loses_nothing(fault_node):
    node, points = fault_node, fault_node.killpoints
    sink = Sink()
    try:
        before = _runner_pid(node)
        armed = points / POINT
        armed.touch()
        task = {
            "schema": 1,
            "test": {"type": "noop", "spec": {"schema": 1, "data": {"n": 3}}},
            "schedule": {},
            "archives": [{"archiver": "http", "data": {"_url": sink.url()}, "runs": "all"}],
        }
        response = node.post("tasks", json=task)
        assert response.status_code == 200, response.text
        task_uuid = response.json().rstrip("/").rsplit("/", 1)[-1]

        # The runner reached the point with the run's local result stored, and died there.
        wait_for(lambda: not armed.exists(), timeout=30, interval=0.1, what="the runner's kill")
        wait_for(
            lambda: _runner_pid(node) not in (None, before),
            timeout=30,
            interval=0.1,
            what="a restarted runner",
        )

        def ended():
            runs = runs_of(node, task_uuid)
            done = [r for r in runs.values() if r["state"] not in ("pending", "running", "cleanup")]
            return runs if runs and len(done) == len(runs) else None

        runs = wait_for(ended, timeout=30, interval=0.1, what="the run to end")
        ((run_uuid, run),) = runs.items()
        assert run["state"] == "finished", run
        assert run["result_merged"] == {"schema": 1, "succeeded": True, "data": {"n": 3}}

        sink.wait_count(1, timeout=20)
        wait_for(
            lambda: runs_of(node, task_uuid)[run_uuid]["pending_archivings"] == 0,
            timeout=20,
            what="the archiving completed",
        )
        seen = ticker_passes(node)

        def two_more_passes():
            with sql(node) as cur:
                cur.execute("SELECT pg_notify('ticker_wake', '')")
            return ticker_passes(node) >= seen + 2

        wait_for(two_more_passes, timeout=30, interval=0.5, what="two more ticker passes")
        assert received_by_run(sink) == {run_uuid: 1}
        assert runs_of(node, task_uuid)[run_uuid]["archivings"] == 1
        assert transitional(node) == []
        assert "runner exited" in node.log()
    finally:
        sink.close()
