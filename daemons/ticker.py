"""The ticker: state maintenance — missed and overdue runs, stale placements, purging."""

from __future__ import annotations

import logging

from pscheduler_daemons.loop import run_loop

from pscheduler.config import Config
from pscheduler.events import log as events
from pscheduler.peers import queue as httpqueue
from pscheduler.runs import gather as gathering
from pscheduler.runs import stuck
from pscheduler.tasks import mesh as tasking

log = logging.getLogger(__name__)
PERIOD = 5.0
PURGE_BATCH = 1000  # runs per DELETE
PURGE_BATCHES = 10  # DELETEs per pass: up to 2,000 runs/s, far above the rate runs are made
_bind: list[str | None] = [None]


def step(db, notes) -> float:
    queue_wait = httpqueue.process(db, _bind[0])
    # Runs past their deadline in a transitional state: missed, overdue, stuck cleanups.
    ended = stuck.sweep(db, gathering.collector(db, _bind[0], budget=stuck.GATHER_AFTER))
    missed, overdue = ended["missed"], ended["overdue"]
    db.execute("delete_stale_scheduling")
    purged, more = purge_runs(db)
    tasks = db.execute("purge_tasks")
    events.purge(db)
    db.execute("run_count_compact")  # keeps the run counters a few rows per task
    if missed:
        db.execute("wake_scheduler")
    if missed or overdue or ended["cleanup"] or purged or tasks:
        log.info(
            "Marked %d missed, %d overdue, %d stuck cleanup(s) ended; purged %d run(s), %d task(s)",
            missed,
            overdue,
            ended["cleanup"],
            purged,
            tasks,
        )
    if more:
        return 0.1
    # A deadline still past after the sweep (a run it could not lock) waits a second.
    deadline = stuck.next_deadline(db)
    return min(PERIOD, queue_wait, PERIOD if deadline is None else max(1.0, deadline))


def purge_runs(db) -> tuple[int, bool]:
    """Delete old runs in bounded batches (short transactions, few row locks each), at most
    ``PURGE_BATCHES`` per pass; True when more are waiting, so the next pass comes soon."""
    purged = 0
    for name in ("purge_runs", "purge_expired_runs"):
        for _ in range(PURGE_BATCHES):
            done = db.execute(name, {"limit": PURGE_BATCH})
            purged += done
            if done < PURGE_BATCH:
                break
        else:
            return purged, True
    return purged, False


def main(config: Config) -> int:
    _bind[0] = tasking.default_bind(config)
    return run_loop("ticker", config, ["ticker_wake", "http_queue"], step, refresh=PERIOD)
