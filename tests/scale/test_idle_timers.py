"""Idle runs due in the same second are held as timers (pscheduler.runs.timers), not threads.

Before, each running idle run held a pool worker and a tool thread until its end: 1,000 due
together made 2,000 threads waking at once, and some were judged overrun ("Process took too
long to run.") because they woke late."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from tests.helpers import wait_for
from tests.tasks.util import idle, iso, now, post_task, sql

RUNS = 300


def _runner_pid(node) -> int:
    return sql(node, "SELECT pid FROM heartbeat WHERE name = 'runner'")[0]["pid"]


def _threads(pid: int) -> int:
    status = (Path("/proc") / str(pid) / "status").read_text()
    return int(status.split("Threads:")[1].split()[0])


def _rows(node, uuids: list[str]) -> list[dict]:
    return sql(
        node,
        "SELECT t.uuid::text AS task, r.state, r.status, r.errors, r.result_merged,"
        " r.started, lower(r.times) AS start FROM run r JOIN task t ON t.id = r.task"
        " WHERE t.uuid = ANY(%s::uuid[])",
        (uuids,),
    )


def test_idle_runs_due_together_cost_no_thread_each_and_all_finish(quiet_node):
    node = quiet_node
    start = (now() + dt.timedelta(seconds=20)).replace(microsecond=0)
    urls = [post_task(node, idle("PT4S", start=iso(start))) for _ in range(RUNS)]
    uuids = [url.rstrip("/").rsplit("/", 1)[1] for url in urls]
    pid = _runner_pid(node)
    before = _threads(pid)
    most = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            most[0] = max(most[0], _threads(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        canceled = urls[0]
        wait_for(
            lambda: _rows(node, uuids[:1])[0]["state"] == "running",
            timeout=40,
            interval=0.1,
            what="the burst to start",
        )
        node.session.delete(canceled, timeout=10)
        # The runner ends its timer at once and says why (the run was due to end 4 s later).
        wait_for(
            lambda: _rows(node, uuids[:1])[0]["errors"] == "Run was cancelled.",
            timeout=3,
            interval=0.1,
            what="the runner to end the canceled run",
        )

        def final():
            rows = _rows(node, uuids)
            settled = all(r["state"] in ("finished", "canceled") for r in rows)
            return rows if len(rows) == RUNS and settled else None

        rows = wait_for(final, timeout=60, interval=0.2, what="every run of the burst to end")
    finally:
        done.set()
        sampler.join(5)
    # A worker and a tool thread per run would be 2 x 300 more; the timers need none.
    assert most[0] - before < 30, f"runner threads {before} -> {most[0]} for {RUNS} idle runs"
    by_task = {r["task"]: r for r in rows}
    stopped = by_task.pop(uuids[0])
    assert stopped["state"] == "canceled" and stopped["status"] == 2, stopped
    for row in by_task.values():
        assert row["state"] == "finished", row
        assert row["result_merged"]["succeeded"] is True, row
        assert row["result_merged"]["duration"] == "PT4S"
        assert row["start"] == start
    late = sorted((r["started"] - r["start"]).total_seconds() for r in by_task.values())
    assert late[-1] < 5, f"the last of the burst started {late[-1]:.1f} s late"
