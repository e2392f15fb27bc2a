"""The record an archiver plugin receives (and, re-exported, the jq transforms applied to it).

Pure functions (no database, no web): the archiver daemon reads the rows, calls
``build_record`` and ``apply_transform``, then hands the record to the plugin.  The record
shape is wire-visible (users' jq transforms and downstream consumers depend on it), so it
follows the original pScheduler exactly; see spec/plugins.md §3.3.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pscheduler.toolkit.iso8601 import duration_to_iso, format_timestamp, parse_timestamp
from pscheduler.toolkit.jsonval import sanitize

# Members of the run JSON that are not shipped: they are big, private or repeated elsewhere.
_RUN_DROPPED = (
    "archivings",
    "participant-data",
    "participant-data-full",
    "result",
    "result-full",
    "result-merged",
)


def replace_host(href: str, uri_host: str | None) -> str:
    """``href`` with its network location (host and optional port) replaced by ``uri_host``."""
    if not uri_host:
        return href
    parts = urlsplit(href)
    return urlunsplit((parts.scheme, uri_host, parts.path, parts.query, parts.fragment))


def _iso(value: Any) -> Any:
    return format_timestamp(value) if isinstance(value, dt.datetime) else value


def _schedule(run: dict) -> dict:
    """``{start, duration}`` of the run, from its start and end times (or its duration)."""
    start = run.get("start-time")
    duration = run.get("duration")
    if duration is None and start and run.get("end-time"):
        try:
            span = parse_timestamp(_iso(run["end-time"])) - parse_timestamp(_iso(start))
            duration = duration_to_iso(span)
        except ValueError:
            duration = None
    return {"start": _iso(start), "duration": duration}


def build_record(
    *,
    data: Any,
    task: dict,
    run: dict,
    result: Any,
    task_href: str,
    run_href: str,
    tool: dict,
    participants: list,
    local_host: str,
    attempts: int = 0,
    last_attempt: dt.datetime | str | None = None,
    uri_host: str | None = None,
) -> dict:
    """The input record of an archiver's ``archive`` for one archiving of one run.

    data: the archive spec's ``data``, private members intact (the plugin needs them).
    task: the task detail JSON as the API serves it (``archives`` is dropped here).
    run: the run JSON (``start-time``, ``end-time`` or ``duration``, ...).
    result: the merged result of the run.
    tool: ``{"name", "version"}`` of the tool that ran the test.
    participants: hosts of the run; ``None`` entries become ``local_host``.
    uri_host: the archive spec's ``uri-host``, replacing the host in both hrefs.
    """
    task_href = replace_host(task_href, uri_host)
    run_href = replace_host(run_href, uri_host)

    task_json = {k: v for k, v in task.items() if k != "archives"}
    task_json["href"] = task_href
    run_json = {k: _iso(v) for k, v in run.items() if k not in _RUN_DROPPED}
    run_json["href"] = run_href
    run_json["task-href"] = task_href

    test = task.get("test") or {}
    return {
        "data": data,
        "task-href": task_href,
        "run-href": run_href,
        "result": {
            "id": run.get("id") or run_href.rstrip("/").rsplit("/", 1)[-1],
            "schedule": _schedule(run),
            "test": sanitize(test),
            "tool": {"name": tool.get("name"), "version": tool.get("version")},
            "run": run_json,
            "task": task_json,
            "participants": [local_host if p is None else p for p in participants or []],
            "result": result,
            "reference": task.get("reference"),
        },
        "attempts": int(attempts),
        "last-attempt": _iso(last_attempt),
    }
