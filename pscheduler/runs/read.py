"""Runs of a task: reading (with waits), listing, free time, posting, deleting, results."""

from __future__ import annotations

import uuid
from typing import Any

from pscheduler import catalog, plugins
from pscheduler.db import Database
from pscheduler.errors import BadRequest, NotFound
from pscheduler.events.waits import hub
from pscheduler.hookspecs import PluginError
from pscheduler.toolkit.vocabulary import NO_RESULT_STATES

FORMATS = ("application/json", "text/plain", "text/html")


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


def latest_final(db: Database, task_ids: list[int]) -> dict[int, dict]:
    """Task id -> its latest run in a final state, for listings that show each task's latest
    result (a mesh grid reads a whole lead in one request instead of one per task)."""
    if not task_ids:
        return {}
    return {r["task"]: r for r in db.all("runs_latest_final", {"tasks": list(task_ids)})}


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
        # No run yet: wait for the scheduler to place one (it notifies run_new).
        row = hub(db.dsn).wait_new(lambda: find(db, task_row, ref), wait)
    if row is None:
        raise NotFound()
    if not (wait_local or wait_merged) or wait <= 0:
        return row

    def done(r: dict) -> bool:
        if wait_local:
            return r["result"] is not None or r["state"] in NO_RESULT_STATES
        if r["state"] in NO_RESULT_STATES:
            return True  # no result will ever come: answer now rather than at the timeout
        return r["result_full"] is not None and r["state_finished"] and r["state"] != "cleanup"

    waited = hub(db.dsn).wait_run(
        row["id"],
        lambda: db.one("run_by_uuid", {"task": task_row["id"], "uuid": row["uuid"]}),
        done,
        wait,
    )
    return waited or row


def list_uuids(
    db: Database,
    task_row: dict,
    start,
    end,
    upcoming: bool,
    limit: int | None,
    offset: int = 0,
) -> list:
    params = {"start": start, "end": end, "upcoming": upcoming, "limit": limit, "offset": offset}
    rows = db.all("run_list", {"task": task_row["id"], **params})
    return [r["uuid"] for r in rows]


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
