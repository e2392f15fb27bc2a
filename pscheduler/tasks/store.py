"""Stored tasks: finding, listing, write access and cancelling."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from pscheduler.db import Database
from pscheduler.errors import BadRequest, NotFound
from pscheduler.scheduling import slots


def find_row(db: Database, task_uuid: str | uuid.UUID) -> dict | None:
    """The task, or None when unknown; a malformed UUID is a 404 like an unknown route."""
    try:
        value = uuid.UUID(str(task_uuid))
    except ValueError:
        raise NotFound() from None
    return db.one("task_by_uuid", {"uuid": value})


def get_row(db: Database, task_uuid: str | uuid.UUID) -> dict:
    row = find_row(db, task_uuid)
    if row is None:
        raise NotFound()
    return row


def list_rows(db: Database, json_filter: Any) -> list[dict]:
    if json_filter is not None and not isinstance(json_filter, dict):
        raise BadRequest("Invalid JSON: the filter must be an object")
    if json_filter is not None and "\\u0000" in json.dumps(json_filter):
        raise BadRequest("Invalid JSON: \\u0000 cannot be stored or matched")
    return db.all("task_list", {"json": json_filter})


def may_write(row: dict, requester: str | None, key: str | None, local: bool) -> bool:
    """Write access as the original grants it (spec/api.md §5), with two changes.

    ``local`` is an operator's admin token, never a local source address (see
    ``pscheduler.api.context.privileged``).  In exchange, the task's own requester may also
    write to a lead copy that has a participant key: the original let it through by its
    local address, and a remote requester already may for single-participant tasks.
    """
    if local:
        return True
    if row["participant_key"]:
        if key is not None and secrets.compare_digest(str(key), row["participant_key"]):
            return True
        return requester is not None and requester == (row["hints"] or {}).get("requester")
    user_key = (row["json"] or {}).get("_key")
    if user_key and key is not None and secrets.compare_digest(str(key), str(user_key)):
        return True
    return requester is not None and requester == (row["hints"] or {}).get("requester")


def cancel(db: Database, row: dict) -> None:
    """Disable the task, drop its future runs and cancel the current one."""
    slots.withdraw(db, row)
