"""The access-key rule, in one place: who sees a task's secrets and who may change the task.

Every copy of a task has at most one secret, its key (``task_key``):
  * on the lead, the participant key: the requester's ``_key`` if it gave one, else a key
    generated for a multi-participant task (never shown); a single-participant task without
    ``_key`` has none;
  * on a participant, the lead's participant key, which the lead sent as ``_key``.

Reads (task, run, result; spec/api.md §0.4 and §5): without ``?key=`` or without a task key
the JSON is sanitised; the right key shows it whole; a wrong key is 403 ``Forbidden``.

Writes (cancel the task, post, PUT or delete its runs; §5): a privileged requester (an
admin token; see ``pscheduler.api.context.privileged``), the task's key, or the address
that created the task (on a participant: the lead's).  The original let a keyed task's
creator through by its local address; here its address counts wherever it is.

The original applied different keys to each resource (a wrong key was refused on a run but
ignored on the lead's task; no key ever unlocked a participant's task); here the same key
guards all of them.
"""

from __future__ import annotations

import secrets
from typing import Any

from pscheduler.errors import Forbidden
from pscheduler.toolkit.jsonval import sanitize


def task_key(row: dict) -> str | None:
    """The secret of this copy of the task, or None when it has none."""
    key = row["participant_key"] or (row["json"] or {}).get("_key")
    return str(key) if key else None


def _matches(given: str | None, required: str | None) -> bool:
    return (
        given is not None
        and required is not None
        and secrets.compare_digest(str(given).encode(), required.encode())
    )


def shown(row: dict, body: Any, key: str | None) -> Any:
    """``body`` (a task, run or result of this task) as a reader with ``key`` may see it."""
    required = task_key(row)
    if key is None or required is None:
        return sanitize(body)
    if not _matches(key, required):
        raise Forbidden("Forbidden")
    return body


def may_write(row: dict, requester: str | None, key: str | None, privileged: bool) -> bool:
    """Whether this requester may cancel the task or change its runs."""
    if privileged or _matches(key, task_key(row)):
        return True
    return requester is not None and requester == (row["hints"] or {}).get("requester")


def check_write(row: dict, requester: str | None, key: str | None, privileged: bool) -> None:
    """``may_write`` or 403 ``Forbidden``."""
    if not may_write(row, requester, key, privileged):
        raise Forbidden("Forbidden")
