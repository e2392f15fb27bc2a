"""Runs that end together are stored together (pscheduler.runs.finish), states and events as
before: running -> cleanup -> finished, one merged result each."""

from __future__ import annotations

import datetime as dt

from tests.helpers import wait_for
from tests.tasks.util import idle, iso, now, post_task, sql

RUNS = 150


def test_a_burst_of_runs_is_stored_in_a_few_transactions_with_every_state_and_event(quiet_node):
    node = quiet_node
    start = (now() + dt.timedelta(seconds=15)).replace(microsecond=0)
    uuids = [
        post_task(node, idle("PT1S", start=iso(start))).rstrip("/").rsplit("/", 1)[1]
        for _ in range(RUNS)
    ]

    def final():
        rows = sql(
            node,
            "SELECT r.id, r.state, r.result_merged, r.xmin::text AS xact FROM run r"
            " JOIN task t ON t.id = r.task WHERE t.uuid = ANY(%s::uuid[])",
            (uuids,),
        )
        return rows if len(rows) == RUNS and all(r["state"] == "finished" for r in rows) else None

    rows = wait_for(final, timeout=60, interval=0.2, what="every run of the burst to finish")
    assert all(r["result_merged"]["succeeded"] is True for r in rows)
    # Each run's row was last written by its batch's merge: a handful of transactions, not one
    # per run (before: 150, each after its own store of the local result).
    batches = {r["xact"] for r in rows}
    assert len(batches) <= RUNS // 3, f"{len(batches)} transactions stored {RUNS} merged results"
    events = sql(
        node,
        "SELECT task_uuid::text AS task, kind, data FROM event"
        " WHERE task_uuid = ANY(%s::uuid[]) AND kind IN ('run-state', 'result-merged') ORDER BY id",
        (uuids,),
    )
    for task in uuids:
        mine = [e for e in events if e["task"] == task]
        chain = [e["data"]["new"] for e in mine if e["kind"] == "run-state"]
        assert chain[-3:] == ["running", "cleanup", "finished"], (task, chain)
        assert [e["kind"] for e in mine].count("result-merged") == 1
