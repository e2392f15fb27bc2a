"""Runs of a task: reading (with waits), listing, free time, posting, deleting, results."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

import psycopg2
import psycopg2.extras

from pscheduler import archiving, catalog, plugins, scheduling, timing
from pscheduler.db import Database, query
from pscheduler.errors import BadRequest, Conflict, Forbidden, NotFound
from pscheduler.hookspecs import PluginError
from pscheduler.toolkit.iso8601 import duration_to_iso, format_timestamp, utcnow
from pscheduler.toolkit.jsonval import sanitize
from pscheduler.waiting import hub

FORMATS = ("application/json", "text/plain", "text/html")
# Terminal states of runs that will never get a (merged) result.
NEVER_RUN = ("nonstart", "canceled", "missed", "preempted", "overdue")


def find(db: Database, task_row: dict, ref: str) -> dict | None:
    """The run by UUID or by the alias ``first``/``next``; None when there is none (yet)."""
    if ref == "first":
        return db.one("run_first", {"task": task_row["id"]})
    if ref == "next":
        return db.one("run_next", {"task": task_row["id"]})
    try:
        value = uuid.UUID(ref)
    except ValueError:
        raise NotFound() from None
    return db.one("run_by_uuid", {"task": task_row["id"], "uuid": value})


def get(
    db: Database, task_row: dict, ref: str, wait: float, wait_local: bool, wait_merged: bool
) -> dict:
    if ref not in ("first", "next"):
        try:
            uuid.UUID(ref)
        except ValueError:
            raise NotFound() from None
    row = find(db, task_row, ref)
    if row is None and ref in ("first", "next") and wait > 0:
        deadline = utcnow() + dt.timedelta(seconds=wait)
        # No run yet: wait for the scheduler to place one (it notifies run_new).
        from pscheduler.db import Listener

        listener = Listener(db.dsn, ["run_new"], "pscheduler-api-alias")
        try:
            while row is None and utcnow() < deadline:
                listener.wait(min(1.0, (deadline - utcnow()).total_seconds()))
                row = find(db, task_row, ref)
        finally:
            listener.close()
    if row is None:
        raise NotFound()
    if not (wait_local or wait_merged) or wait <= 0:
        return row

    def done(r: dict) -> bool:
        if wait_local:
            return r["result"] is not None or r["state"] in NEVER_RUN
        if r["state"] in NEVER_RUN:
            return True  # no result will ever come: answer now rather than at the timeout
        return r["result_full"] is not None and r["state_finished"] and r["state"] != "cleanup"

    waited = hub(db.dsn).wait(
        row["id"],
        lambda: db.one("run_by_uuid", {"task": task_row["id"], "uuid": row["uuid"]}),
        done,
        wait,
    )
    return waited or row


def to_json(row: dict, task_row: dict, task_href: str, me: str, db: Database | None = None) -> dict:
    href = f"{task_href}/runs/{row['uuid']}"
    participants = list(task_row["participants"])
    if participants and participants[0] is None:
        participants[0] = me
    body = {
        "start-time": format_timestamp(row["start_time"]),
        "end-time": format_timestamp(row["end_time"]),
        "duration": duration_to_iso(row["end_time"] - row["start_time"]),
        "participant": task_row["participant"],
        "participants": participants,
        "participant-data": row["part_data"],
        "participant-data-full": row["part_data_full"],
        "result": row["result"],
        "result-full": row["result_full"],
        "result-merged": row["result_merged"],
        "state": row["state"],
        "state-display": row["state_display"],
        "errors": row["errors"],
        "added": format_timestamp(row["added"]),
        "priority": row["priority"],
        "limit-diags": row["limit_diags"],
        "started": format_timestamp(row["started"], fraction=True),
        "href": href,
        "task-href": task_href,
        "result-href": f"{href}/result",
    }
    if row["clock_survey"] is not None:
        body["clock-survey"] = row["clock_survey"]
    if db is not None:
        body.update(archiving.run_members(db, row["id"]))
    return body


def list_uuids(db: Database, task_row: dict, start, end, upcoming: bool, limit: int | None) -> list:
    rows = db.all(
        "run_list",
        {"task": task_row["id"], "start": start, "end": end, "upcoming": upcoming, "limit": limit},
    )
    return [r["uuid"] for r in rows]


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
    if cls in scheduling.ANYTIME:
        return [{"lower": format_timestamp(start or low), "upper": format_timestamp(end or high)}]
    if high <= low:
        return []
    with db.transaction() as cur:
        timelines = scheduling.load_timelines(cur, low, high)
    busy = scheduling.blocking(timelines, cls, low, high)
    gaps = scheduling.free_ranges(
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
                    "conflict_class": scheduling.conflict_class(task_row["scheduling_class"]),
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


def delete(db: Database, task_row: dict, ref: str) -> None:
    try:
        value = uuid.UUID(ref)
    except ValueError:
        raise NotFound() from None
    if not db.all("run_delete", {"task": task_row["id"], "uuid": value}):
        raise NotFound()


def result(db: Database, task_row: dict, ref: str, fmt: str, wait: float) -> tuple[Any, str]:
    """The merged result as JSON, or formatted by the test; ``wait`` really waits."""
    if fmt not in FORMATS:
        raise BadRequest(f"Unsupported format {fmt}")
    row = get(db, task_row, ref, wait, wait_local=False, wait_merged=wait > 0)
    merged = row["result_merged"]
    if merged is None:
        if fmt == "application/json":
            return None, fmt
        raise NotFound("No result is available for this run yet.")
    if fmt == "application/json":
        return merged, fmt
    if not merged.get("succeeded"):
        return ("Run failed." if fmt == "text/plain" else "<p>Run failed.</p>"), fmt
    test = catalog.test(task_row["test_type"])
    try:
        text = plugins.call(test, "result_format", task_row["json"]["test"]["spec"], merged, fmt)
    except (PluginError, plugins.PluginFailure) as exc:
        raise BadRequest(f"Failed to format result: {exc}") from None
    return str(text).rstrip(), fmt


def sanitized(body: dict, required_key: str | None, key: str | None) -> dict:
    """Secrets stay hidden unless the right key is given; a wrong key is a 403."""
    if key is None or required_key is None:
        return sanitize(body)
    if not secrets.compare_digest(str(key), str(required_key)):
        raise Forbidden("Forbidden")
    return body
