"""Stored tasks: the row (built once for the lead and for a participant), finding, listing
and cancelling.  Who may change a task is ``tasks.access``."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from typing import Any

from psycopg2.extras import Json

from pscheduler import catalog, plugins
from pscheduler.db import Database, query
from pscheduler.errors import BadRequest, NotFound
from pscheduler.scheduling import slots, timing
from pscheduler.toolkit.iso8601 import parse_duration

# Hints the limits see at submission but the task does not keep: the original's stored hints
# (shown as detail.hints, used again for each run's limits) are the requester's alone.
_UNSTORED_HINTS = ("server",)


def stored_hints(hints: dict) -> dict:
    """The hints a task keeps, as the original shows them in ``detail.hints``."""
    return {k: v for k, v in hints.items() if k not in _UNSTORED_HINTS}


def new_row(
    *,
    task_uuid: uuid.UUID,
    task: dict,
    tool: str,
    participants: list[str],
    participant: int,
    participant_key: str | None,
    enabled: bool,
    hints: dict,
    diags: str,
    schedule: dict,
    priority: int | None,
    next_ideal: dt.datetime | None,
    lead_bind: str | None,
) -> dict:
    """The ``task`` row of a validated task, as the lead and a participant store it.

    Runs the tool's ``duration`` and the test's ``spec-to-cli``: raises the plugin's
    PluginError, which each caller words for its own request."""
    test_type = task["test"]["type"]
    test_obj = {"type": test_type, "spec": task["test"]["spec"]}
    test = catalog.test(test_type)
    duration = timing.round_up(plugins.call(catalog.tool(tool), "duration", test_obj))
    # The stored command line is shown to anyone (no key asked), so it is made from the spec
    # without its hidden ``_`` members: no plugin's mapping can leak a secret through it.
    public_spec = {k: v for k, v in task["test"]["spec"].items() if not k.startswith("_")}
    cli = plugins.call(test, "spec_to_cli", public_spec)
    stored = {k: v for k, v in task.items() if k != "participants"}
    stored.setdefault("schema", 1)
    stored["tool"] = tool
    keep = task.get("keep-after-archive")
    return {
        "uuid": task_uuid,
        "json": stored,
        "test_type": test_type,
        "tool": tool,
        "scheduling_class": test.enumeration["scheduling-class"],
        "participants": Json(participants),
        "participant": participant,
        "participant_key": participant_key,
        "enabled": enabled,
        "hints": stored_hints(hints),
        "diags": diags,
        "cli": Json(cli),
        "priority": priority,
        "duration": max(duration, dt.timedelta(seconds=1)),
        "post": dt.timedelta(0),
        "next_ideal": next_ideal,
        "keep_after_archive": parse_duration(keep) if keep is not None else None,
        "lead_bind": lead_bind,
        **schedule,
    }


def insert(db: Database, row: dict) -> None:
    """Store a row made by ``new_row`` (UniqueViolation when the UUID is taken)."""
    with db.transaction() as cur:
        cur.execute(query("task_insert"), row)


def find_row(db: Database, task_uuid: str | uuid.UUID, counts: bool = False) -> dict | None:
    """The task, or None when unknown; a malformed UUID is a 404 like an unknown route.

    ``counts`` adds ``runs`` and ``runs_started`` (what the task's JSON shows), which cost a
    sum over the task's kept counts that the routes acting on its runs do not need."""
    try:
        value = uuid.UUID(str(task_uuid))
    except ValueError:
        raise NotFound() from None
    return db.one("task_by_uuid" if counts else "task_row_by_uuid", {"uuid": value})


def get_row(db: Database, task_uuid: str | uuid.UUID, counts: bool = False) -> dict:
    row = find_row(db, task_uuid, counts)
    if row is None:
        raise NotFound()
    return row


def list_rows(
    db: Database, json_filter: Any, limit: int | None = None, offset: int = 0
) -> list[dict]:
    """Tasks oldest first, ``limit`` (None: all) from ``offset``; run counts from run_count."""
    return db.all("task_list", _listing(json_filter, limit, offset))


def list_urls_json(
    db: Database, base: str, json_filter: Any, limit: int | None = None, offset: int = 0
) -> str:
    """The URLs of what ``list_rows`` lists (``base``/uuid) as a JSON array, made by the
    database: at a fraction of its cost, and with no Python object per task."""
    # The opening quote and the JSON-escaped base: the query adds each UUID and the closing quote.
    params = {**_listing(json_filter, limit, offset), "prefix": json.dumps(f"{base}/")[:-1]}
    if json_filter is not None:
        return _joined(db.all("task_uuid_list", {**params, "kept": None}))
    key = (db.dsn, params["prefix"], limit, offset)
    kept = _url_lists.get(key)
    rows = db.all("task_uuid_list", {**params, "kept": kept[0] if kept else None})
    version = rows[0]["version"]
    if kept is not None and kept[0] == version:
        return kept[1]
    urls = _joined(rows)
    with _url_lists_lock:
        _url_lists[key] = (version, urls)
        while len(_url_lists) > _URL_LISTS_KEPT:
            del _url_lists[next(iter(_url_lists))]
    return urls


def _joined(rows: list[dict]) -> str:
    """The JSON array from task_uuid_list's pieces (none when no task matches)."""
    return "[" + ",".join(row["urls"] for row in rows if row["urls"] is not None) + "]"


# GET /tasks answers kept by this process, each with the task list's version it was read at
# (migration 061): in bench/scale.py's mix, with up to 6,000 tasks, every request had
# PostgreSQL make a 540 kB answer from the whole task table (~4 ms at 5,285 tasks), though
# the list had not changed.  A kept answer costs a read of a one-row table instead.
_URL_LISTS_KEPT = 8
_url_lists: dict[tuple, tuple[int, str]] = {}
_url_lists_lock = threading.Lock()


def _listing(json_filter: Any, limit: int | None, offset: int) -> dict:
    if json_filter is not None and not isinstance(json_filter, dict):
        raise BadRequest("Invalid JSON: the filter must be an object")
    if json_filter is not None and "\\u0000" in json.dumps(json_filter):
        raise BadRequest("Invalid JSON: \\u0000 cannot be stored or matched")
    return {"json": json_filter, "limit": limit, "offset": offset}


def cancel(db: Database, row: dict) -> None:
    """Disable the task, drop its future runs and cancel the current one."""
    slots.withdraw(db, row)
