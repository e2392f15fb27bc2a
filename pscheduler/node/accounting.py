"""Who uses this node: per requester address, tasks created, runs run and failed, and the
exclusive time their runs held (``GET /pscheduler/stat/requesters``)."""

from __future__ import annotations

import datetime as dt

from pscheduler.db import Database
from pscheduler.toolkit.iso8601 import format_timestamp


def requesters(db: Database, start: dt.datetime | None, end: dt.datetime | None) -> dict:
    """Usage per requester, busiest (most exclusive time, then most runs) first.

    Tasks count by when they were added, runs by their scheduled start; a run "ran" once the
    runner started it, "failed" when it ended without success (failed, missed, overdue,
    preempted, non-starter).
    """
    if start and end and start > end:
        start, end = end, start
    rows = db.all("requester_accounting", {"start": start, "end": end})
    return {
        "start": format_timestamp(start),
        "end": format_timestamp(end),
        "requesters": [
            {
                "requester": row["requester"],
                "tasks": row["tasks"],
                "runs": row["runs"],
                "runs-failed": row["failed"],
                "exclusive-seconds": round(row["exclusive_seconds"], 3),
            }
            for row in rows
        ],
    }
