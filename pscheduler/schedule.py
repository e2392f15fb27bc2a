"""The schedule as a whole: /schedule (runs in a window) and /monitor (past, now, future)."""

from __future__ import annotations

import datetime as dt
import uuid

from pscheduler import plugins
from pscheduler.db import Database
from pscheduler.toolkit.iso8601 import format_timestamp
from pscheduler.toolkit.jsonval import sanitize


def _enumeration(kind: str, name: str) -> dict | None:
    plugin = plugins.registry().kind(kind).get(name)
    return dict(plugin.enumeration) if plugin is not None else None


def runs_in_window(
    db: Database,
    root: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    task: uuid.UUID | None,
) -> list[dict]:
    out = []
    for r in db.all("schedule_runs", {"start": start, "end": end, "task": task}):
        task_href = f"{root}/tasks/{r['task_uuid']}"
        href = f"{task_href}/runs/{r['run_uuid']}"
        out.append(
            {
                "start-time": format_timestamp(r["start_time"]),
                "end-time": format_timestamp(r["end_time"]),
                "href": href,
                "result-href": f"{href}/result",
                "state": r["state"],
                "state-display": r["state_display"],
                "task": sanitize({**r["task_json"], "href": task_href}),
                "cli": r["cli"],
                "test": _enumeration("test", r["test_type"]),
                "tool": _enumeration("tool", r["tool"]),
                "scheduling-class": r["scheduling_class"],
                "errors": r["errors"],
                "priority": r["priority"],
            }
        )
    return out


def monitor(db: Database, root: str, window: int | None) -> list[dict]:
    rows = db.all("monitor_runs", {"window": window})
    rows.sort(key=lambda r: (r["ppf"], r["start_time"]))
    out = []
    for r in rows:
        task_href = f"{root}/tasks/{r['task_uuid']}"
        href = f"{task_href}/runs/{r['run_uuid']}"
        out.append(
            {
                "ppf": r["ppf"],
                "start-time": format_timestamp(r["start_time"]),
                "end-time": format_timestamp(r["end_time"]),
                "href": href,
                "result-href": f"{href}/result",
                "state": r["state"],
                "state-display": r["state_display"],
                "task": sanitize({**r["task_json"], "href": task_href}),
                "cli": r["cli"],
                "priority": r["priority"],
            }
        )
    return out
