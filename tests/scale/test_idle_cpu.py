"""An idle node sleeps: every daemon waits for its next actionable moment or a NOTIFY.

A finished max-runs task once kept the scheduler's wake-up at "now" forever, and a run
pending within the runner's look-ahead made the runner spin until it started; both also
kept PostgreSQL busy.  Here a node holds exactly those two situations and the CPU time of
every daemon process and of their PostgreSQL backends is read from /proc over a few seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from tests.helpers import wait_for
from tests.tasks.util import idle, iso, now, post_task, runs, sql

DAEMONS = ("scheduler", "runner", "archiver", "ticker")
WINDOW = 4.0  # seconds of measurement
LIMIT = 5.0  # percent of one core, per process


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_percent(pids: dict[str, int], window: float) -> dict[str, float]:
    before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    time.sleep(window)  # the measurement itself: CPU used over a fixed interval
    elapsed = time.monotonic() - started
    after = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    return {
        name: 100 * (after[name] - before[name]) / elapsed
        for name in pids
        if before[name] is not None and after[name] is not None
    }


def test_finished_max_runs_task_and_pending_run_leave_every_process_idle(quiet_node):
    node = quiet_node
    done = post_task(node, idle("PT1S", repeat="PT2S", **{"max-runs": 2}))
    wait_for(
        lambda: [r["state"] for r in runs(node, done)] == ["finished", "finished"],
        timeout=30,
        interval=0.3,
        what="the max-runs task to finish both runs",
    )
    start = now() + dt.timedelta(seconds=20)
    pending = post_task(node, idle("PT1S", start=iso(start)))
    wait_for(lambda: runs(node, pending), timeout=10, what="the pending run to be placed")
    time.sleep(0.5)  # let the daemons settle after the placement's notifications
    daemons = {
        r["name"]: r["pid"]
        for r in sql(node, "SELECT name, pid FROM heartbeat WHERE name = ANY(%s)", (list(DAEMONS),))
    }
    assert set(daemons) == set(DAEMONS)
    backends = {
        f"postgres:{r['application_name']}:{r['pid']}": r["pid"]
        for r in sql(
            node,
            "SELECT pid, application_name FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
    }
    assert now() < start - dt.timedelta(seconds=WINDOW + 1), "too slow to measure before the run"
    usage = _cpu_percent({**daemons, **backends}, WINDOW)
    busy = {name: round(pct, 1) for name, pct in usage.items() if pct > LIMIT}
    assert not busy, f"processes busy on an idle node (% of a core): {busy}"
    assert sum(usage[name] for name in usage if name.startswith("postgres")) < 2 * LIMIT
    node.delete(pending.split("/pscheduler/", 1)[1])
