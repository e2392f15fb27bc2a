"""The wire JSON of tasks, runs and archivings: what the API shows and what archivers receive.

Shared by the API views, the task and run domain and the archiver, so that none of them has to
import another to show a task or a run the same way.
"""

from __future__ import annotations

import datetime as dt

from pscheduler import plugins
from pscheduler.db import Database
from pscheduler.tasks import access
from pscheduler.toolkit.iso8601 import duration_to_iso, format_timestamp
from pscheduler.toolkit.jsonval import sanitize
from pscheduler.toolkit.vocabulary import ANYTIME


def task_detail(row: dict, href: str) -> dict:
    cls = row["scheduling_class"]
    return {
        "added": format_timestamp(row["added"]),
        "anytime": cls in ANYTIME,
        "exclusive": cls == "exclusive",
        "multi-result": cls == "background-multi",
        "cli": row["cli"],
        "diags": row["diags"],
        "duration": duration_to_iso(row["duration"]),
        "post": duration_to_iso(row["post"]),
        "enabled": row["enabled"],
        "hints": row["hints"],
        "participant": row["participant"],
        "participants": row["participants"],
        "runs": row["runs"],
        "runs-started": row["runs_started"],
        "slip": duration_to_iso(row["slip"]),
        # A task posted without a start got one when it was added (as the original shows).
        "start": format_timestamp(row["start"] or row["added"]),
        "href": href,
        "runs-href": f"{href}/runs",
        "first-run-href": f"{href}/runs/first",
        "next-run-href": f"{href}/runs/next",
    }


def task_json(row: dict, href: str, with_detail: bool, key: str | None = None) -> dict:
    """The task as the API shows it; sanitised unless the task's key is given (tasks.access)."""
    body = dict(row["json"])
    body["href"] = href
    if with_detail:
        body["detail"] = task_detail(row, href)
    return access.shown(row, body, key)


def run_json(
    row: dict, task_row: dict, task_href: str, me: str, db: Database | None = None
) -> dict:
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
        body.update(run_members(db, row["id"]))
    return body


def _iso(value: dt.datetime | None) -> str | None:
    return format_timestamp(value, fraction=True) if value is not None else None


def run_archivings(db: Database, run_id: int) -> list[dict]:
    """The run's archivings as GET /tasks/<t>/runs/<r> shows them (specs sanitised)."""
    out = []
    for a in db.all("archivings_of_run", {"run": run_id}):
        plugin = plugins.registry().archivers.get(a["archiver"])
        spec = sanitize(a["spec"])
        out.append(
            {
                "archiver": dict(plugin.enumeration) if plugin else {"name": a["archiver"]},
                "archiver_data": spec.get("data"),
                "spec": spec,
                "default": a["is_default"],
                "completed": a["completed"],
                "archived": a["archived"],
                "attempts": a["attempts"],
                "last_attempt": _iso(a["last_attempt"]),
                "next_attempt": _iso(a["next_attempt"]),
                "ttl_expires": _iso(a["ttl_expires"]),
                "diags": a["diags"],
            }
        )
    return out


def run_members(db: Database, run_id: int) -> dict:
    """``{"archivings": [...]}`` when the run has archivings, else ``{}`` (as the original)."""
    archivings = run_archivings(db, run_id)
    return {"archivings": archivings} if archivings else {}
