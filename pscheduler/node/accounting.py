"""Who uses this node: per requester address, tasks created, runs run and failed, and the
exclusive time their runs held (``GET /pscheduler/stat/requesters``)."""

from __future__ import annotations

import datetime as dt

from pscheduler.db import Database
from pscheduler.errors import BadRequest
from pscheduler.toolkit.iso8601 import format_timestamp, parse_duration, parse_timestamp


def parse_when(name: str, raw: str | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """An ISO 8601 timestamp, or ``+<duration>`` / ``-<duration>`` from now (as /stat/runs)."""
    if raw is None or raw == "":
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    if raw[:1] == " ":  # an unencoded '+' in a query string arrives as a space
        raw = "+" + raw[1:]
    try:
        if raw[:1] in "+-" and raw[1:2] == "P":
            delta = parse_duration(raw[1:])
            return now + delta if raw[0] == "+" else now - delta
        return parse_timestamp(raw)
    except ValueError:
        raise BadRequest(
            f"Invalid {name} time '{raw}': expecting ISO 8601 or +/-duration"
        ) from None


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
