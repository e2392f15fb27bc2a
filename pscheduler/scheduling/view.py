"""The schedule as a whole: /schedule (runs in a window) and /monitor (past, now, future)."""

from __future__ import annotations

import datetime as dt
import uuid

from pscheduler import plugins
from pscheduler.db import Database
from pscheduler.toolkit import timeline_plot
from pscheduler.toolkit.iso8601 import format_timestamp
from pscheduler.toolkit.jsonval import sanitize

#: ``/schedule?format=`` values other than json: content type of each answer.
PICTURE_FORMATS = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "data": "text/plain",
    "script": "text/plain",
}


def _enumeration(kind: str, name: str) -> dict | None:
    plugin = plugins.registry().kind(kind).get(name)
    return dict(plugin.enumeration) if plugin is not None else None


def _entry(r: dict, root: str) -> dict:
    """What /schedule and /monitor say of every run."""
    task_href = f"{root}/tasks/{r['task_uuid']}"
    href = f"{task_href}/runs/{r['run_uuid']}"
    return {
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


def runs_in_window(
    db: Database,
    root: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    task: uuid.UUID | None,
) -> list[dict]:
    return [
        {
            **_entry(r, root),
            "test": _enumeration("test", r["test_type"]),
            "tool": _enumeration("tool", r["tool"]),
            "scheduling-class": r["scheduling_class"],
            "errors": r["errors"],
        }
        for r in db.all("schedule_runs", {"start": start, "end": end, "task": task})
    ]


def picture(
    db: Database,
    fmt: str,
    host: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    task: uuid.UUID | None,
) -> bytes | str:
    """The runs in the window as ``fmt`` (a key of PICTURE_FORMATS): image, data or script.

    Images are drawn in UTC over ``[start, end)``, a missing bound taken from the runs.
    """
    rows = db.all("schedule_runs", {"start": start, "end": end, "task": task})
    runs = [
        timeline_plot.PlotRun(r["start_time"], r["end_time"], r["state"], r["scheduling_class"])
        for r in rows
    ]
    if fmt == "data":
        return timeline_plot.data_lines(runs)
    if fmt == "script":
        now = dt.datetime.now(dt.timezone.utc)
        title = f"pScheduler Schedule for {host} at {now:%Y-%m-%d %H:%M:%S %Z}"
        return timeline_plot.gnuplot_script(runs, start, end, title)
    lo, hi = timeline_plot.resolve_window(runs, start, end)
    lo, hi = lo.astimezone(dt.timezone.utc), hi.astimezone(dt.timezone.utc)
    if fmt == "png":
        return timeline_plot.png(runs, lo, hi)
    if fmt == "svg":
        return timeline_plot.svg(runs, lo, hi)
    raise ValueError(f"Invalid format '{fmt}'")


def monitor(db: Database, root: str, window: int | None) -> list[dict]:
    rows = db.all("monitor_runs", {"window": window})
    rows.sort(key=lambda r: (r["ppf"], r["start_time"]))
    return [{"ppf": r["ppf"], **_entry(r, root)} for r in rows]
