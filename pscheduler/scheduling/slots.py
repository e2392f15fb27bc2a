"""One run at a time on this node's timeline: the free time a run could take (``/runtimes``,
asked by leads), putting one run at a chosen start (``POST /runs``, a lead's ``PUT`` on a
participant, coplacement) and withdrawing a task's runs when it is cancelled.

Batch placement of single-node tasks is in ``place``; both meet in the same timeline lock
and the exclusion constraint on ``run``.
"""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg2
import psycopg2.extras

from pscheduler.db import Database, query
from pscheduler.errors import BadRequest, Conflict
from pscheduler.scheduling import place, timing
from pscheduler.toolkit.iso8601 import duration_to_iso, format_timestamp, utcnow
from pscheduler.toolkit.vocabulary import ANYTIME


def runtimes(
    db: Database,
    task_row: dict,
    start: dt.datetime | None,
    end: dt.datetime | None,
    priority: int | None,
) -> list[dict]:
    """Free time ranges for one run of the task on this node's timeline."""
    if start is not None and end is not None and end < start:
        raise BadRequest("Invalid start or end time: the end is before the start")
    settings = db.one("configurables")
    now = utcnow()
    horizon_end = now + settings["schedule_horizon"]
    cls = task_row["scheduling_class"]
    low = timing.whole_second(max(start or now, now + settings["run_start_margin"]), up=True)
    high = (
        min(end or horizon_end, horizon_end) if cls != "background-multi" else (end or horizon_end)
    )
    if cls in ANYTIME:
        return [{"lower": format_timestamp(start or low), "upper": format_timestamp(end or high)}]
    if high <= low:
        return []
    with db.transaction() as cur:
        timelines = place.load_timelines(cur, low, high, place.blockers(cls))
    busy = place.blocking(timelines, cls, low, high)
    gaps = place.free_ranges(
        busy,
        low,
        high,
        task_row["duration"],
        priority if priority is not None else (task_row["priority"] or 0),
    )
    return [{"lower": format_timestamp(a), "upper": format_timestamp(b)} for a, b in gaps]


def insert_at(
    db: Database,
    task_row: dict,
    start: dt.datetime,
    state: str = "pending",
    run_uuid: uuid.UUID | None = None,
    errors: str | None = None,
    priority: int | None = None,
    limit_diags: str | None = None,
) -> uuid.UUID:
    """Put one run of the task at ``start``; 409 when the timeline is taken there."""
    start = timing.whole_second(start)
    end = start + task_row["duration"]
    settings = db.one("configurables")
    if (
        task_row["scheduling_class"] != "background-multi"
        and start - utcnow() > settings["schedule_horizon"]
    ):
        raise BadRequest(
            f"Cannot schedule runs more than {duration_to_iso(settings['schedule_horizon'])} in advance"
        )
    run_uuid = run_uuid or uuid.uuid4()
    try:
        with db.transaction() as cur:
            cur.execute(query("timeline_lock"))
            cur.execute(
                query("run_insert"),
                {
                    "uuid": run_uuid,
                    "task": task_row["id"],
                    "times": psycopg2.extras.DateTimeTZRange(start, end, "[)"),
                    "state": state,
                    "conflict_class": place.conflict_class(task_row["scheduling_class"]),
                    "priority": priority if priority is not None else task_row["priority"],
                    "errors": errors,
                    "limit_diags": limit_diags,
                },
            )
    except psycopg2.errors.ExclusionViolation:
        raise Conflict("Run would create a scheduling conflict.") from None
    except psycopg2.errors.UniqueViolation:
        raise Conflict("A run with this UUID already exists.") from None
    return run_uuid


def withdraw(db: Database, row: dict) -> None:
    """Disable the task, drop its future runs and cancel the current one.

    The timeline lock makes this wait for a placement in progress, so runs the scheduler is
    inserting right now are seen and removed too."""

    with db.transaction() as cur:
        cur.execute(query("timeline_lock"))
        cur.execute(query("task_disable"), {"id": row["id"]})
