"""The ticker: state maintenance — missed and overdue runs, stale placements, purging."""

from __future__ import annotations

import logging

from pscheduler_daemons.loop import run_loop

from pscheduler import events
from pscheduler.config import Config

log = logging.getLogger(__name__)
PERIOD = 5.0


def step(db, notes) -> float:
    missed = db.all("mark_missed")
    overdue = db.all("mark_overdue")
    db.execute("delete_stale_scheduling")
    purged = db.execute("purge_runs")
    tasks = db.execute("purge_tasks")
    events.purge(db)
    if missed:
        db.execute("wake_scheduler")
    if missed or overdue or purged or tasks:
        log.info(
            "Marked %d missed, %d overdue; purged %d run(s), %d task(s)",
            len(missed),
            len(overdue),
            purged,
            tasks,
        )
    return PERIOD


def main(config: Config) -> int:
    return run_loop("ticker", config, ["ticker_wake"], step, refresh=PERIOD)
