"""The Panoptes monitor specification (``/m1/``) over our tasks, runs and reported workflows.

Each task is shown as a workflow whose jobs are its runs, so a dashboard that speaks Panoptes
sees a node's measurements without knowing pScheduler.  Outside clients (snakemake
``--wms-monitor`` and the like) may also create workflows and report job progress; those are
kept in their own tables (migration 006) and listed beside the tasks.  The web layer only
parses requests; everything else is here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib.metadata
import json
import secrets
import uuid
from typing import Any

import psycopg2.extras

from pscheduler.db import Database
from pscheduler.errors import DomainError
from pscheduler.toolkit.iso8601 import format_timestamp

SPEC_STATUSES = ("running", "pending", "error", "cancelled", "completed")

# Our run states, grouped under the spec's statuses.
RUN_STATE_STATUS = {
    "scheduling": "pending",
    "pending": "pending",
    "on-deck": "pending",
    "running": "running",
    "cleanup": "running",
    "finished": "completed",
    "failed": "error",
    "missed": "error",
    "overdue": "error",
    "nonstart": "error",
    "preempted": "error",
    "canceled": "cancelled",
}

_DESCRIPTIONS = {
    "running": "Work is under way (a run is running or cleaning up).",
    "pending": "Waiting to start (a run is being scheduled, pending or on deck).",
    "error": "Ended without success (a run failed, was missed, overdue, preempted or could not "
    "start).",
    "cancelled": "Cancelled before or while running.",
    "completed": "Ended successfully (a run finished).",
}

# Messages a client may send without a jobid: workflow-level progress (snakemake's level).
_PROGRESS_LEVEL = "progress"
# Message levels that say what happened to a job (snakemake's names), when no status is given.
_LEVEL_STATUS = {
    "job_info": "running",
    "job_started": "running",
    "job_finished": "completed",
    "job_error": "error",
    "job_cancelled": "cancelled",
}


class MonitorError(DomainError):
    """A request the monitor cannot satisfy; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _states(status: str) -> list[str]:
    return [s for s, mapped in RUN_STATE_STATUS.items() if mapped == status]


def _groups() -> dict[str, list[str]]:
    done = _states("completed") + _states("error") + _states("cancelled")
    return {"done": done, "running": _states("running"), "pending": _states("pending")}


# ---------------------------------------------------------------------------- service info


def _version() -> str:
    try:
        return importlib.metadata.version("pscheduler")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def service_info() -> dict:
    return {
        "status": "running",
        "version": _version(),
        "spec": "m1",
        "timestamps": "ISO 8601",
    }


def statuses() -> dict:
    """The spec's five statuses, each naming the run states it stands for."""
    items = []
    for name in SPEC_STATUSES:
        items.append(
            {
                "name": name,
                "description": _DESCRIPTIONS[name],
                "run_states": _states(name),
            }
        )
    return {"statuses": items, "run_states": dict(RUN_STATE_STATUS)}


# ---------------------------------------------------------------------------- workflows


def _task_name(row: dict) -> str:
    spec = (row.get("json") or {}).get("test", {}).get("spec", {})
    name = row["test_type"]
    dest = spec.get("dest") if isinstance(spec, dict) else None
    if isinstance(dest, str) and dest:
        name += f" to {dest}"
    return f"{name} ({row['tool']})"


def _task_status(row: dict) -> str:
    if row["jobs_running"]:
        return "running"
    if row["jobs_pending"]:
        return "pending"
    if not row["enabled"]:
        if row["jobs_cancelled"] or not row["jobs_total"]:
            return "cancelled"
    elif row["more_to_come"] or not row["jobs_total"]:
        return "pending"
    return RUN_STATE_STATUS.get(row["last_done_state"] or "", "pending")


def _task_workflow(row: dict) -> dict:
    status = _task_status(row)
    final = status in ("completed", "error", "cancelled")
    return {
        "id": str(row["id"]),
        "name": _task_name(row),
        "status": status,
        "started_at": format_timestamp(row["started_at"]),
        "completed_at": format_timestamp(row["completed_at"]) if final else None,
        "jobs_total": row["jobs_total"],
        "jobs_done": row["jobs_done"],
        "kind": "task",
    }


def _external_status(row: dict) -> str:
    if row["jobs_error"]:
        return "error"
    if row["jobs_running"]:
        return "running"
    if row["jobs_pending"]:
        return "pending"
    total, done = row["reported_total"], row["reported_done"]
    if total is not None and done is not None:
        if total == 0 or done < total:
            return "running" if row["jobs_total"] or done else "pending"
        return "completed"
    if not row["jobs_total"]:
        return "pending"
    if row["jobs_cancelled"]:
        return "cancelled"
    return "completed"


def _external_workflow(row: dict) -> dict:
    status = _external_status(row)
    final = status in ("completed", "error", "cancelled")
    total = row["reported_total"] if row["reported_total"] is not None else row["jobs_total"]
    done = row["reported_done"] if row["reported_done"] is not None else row["jobs_done"]
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "status": status,
        "started_at": format_timestamp(row["started_at"] or row["created"]),
        "completed_at": format_timestamp(row["completed_at"]) if final else None,
        "jobs_total": total,
        "jobs_done": done,
        "kind": "reported",
    }


def parse_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise MonitorError(404, f"No workflow '{raw}' (workflow ids are UUIDs)") from None


def workflows(db: Database) -> dict:
    """Every task and every reported workflow, oldest first."""
    items = [
        _task_workflow(r) for r in db.all("panoptes_task_workflows", {"uuid": None, **_groups()})
    ]
    items += [_external_workflow(r) for r in db.all("monitor_workflows", {"id": None})]
    return {"workflows": items, "count": len(items)}


def _find(db: Database, wid: uuid.UUID) -> tuple[str, dict]:
    rows = db.all("panoptes_task_workflows", {"uuid": wid, **_groups()})
    if rows:
        return "task", _task_workflow(rows[0])
    rows = db.all("monitor_workflows", {"id": wid})
    if rows:
        return "reported", _external_workflow(rows[0])
    raise MonitorError(404, f"No workflow '{wid}'")


def workflow(db: Database, raw_id: str) -> dict:
    return {"workflow": _find(db, parse_id(raw_id))[1]}


def _check_name(name: Any) -> None:
    """A name PostgreSQL can store: a non-empty string without NUL characters."""
    if not isinstance(name, str) or not name.strip():
        raise MonitorError(400, "The workflow name must be a non-empty string")
    if "\x00" in name:
        raise MonitorError(400, "The workflow name must not contain NUL characters")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def create_workflow(db: Database, name: str | None, creator: str | None = None) -> dict:
    """A new reported workflow; the answer carries a ``key`` that allows writing to it from
    any address (the creator's address may write without it)."""
    wid = uuid.uuid4()
    if name is not None:
        _check_name(name)
    key = secrets.token_urlsafe(24)
    db.one(
        "monitor_workflow_create",
        {
            "id": wid,
            "name": (name or f"workflow-{wid.hex[:8]}"),
            "creator": creator or None,
            "key_hash": _digest(key),
        },
    )
    return {"id": str(wid), "key": key}


def check_write(
    db: Database, raw_id: str, requester: str | None, key: str | None, admin: bool
) -> None:
    """Writes to a reported workflow, as for tasks: its creator's address, its key or an
    admin token; 403 otherwise (404 for an unknown workflow, as before)."""
    wid = parse_id(raw_id)
    kind, _ = _find(db, wid)
    if admin or kind == "task":
        return  # task workflows refuse client writes with their own message
    row = db.one("monitor_workflow_owner", {"id": wid}) or {}
    if requester and row.get("creator") and requester == row["creator"]:
        return
    if key and row.get("key_hash") and hmac.compare_digest(_digest(key), row["key_hash"]):
        return
    raise MonitorError(
        403, "Only the workflow's creator (its address or ?key=) or an admin token may change it"
    )


def rename_workflow(db: Database, raw_id: str, body: Any) -> dict:
    wid = parse_id(raw_id)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise MonitorError(400, 'Renaming needs a body {"name": "<non-empty string>"}')
    _check_name(name)
    kind, _ = _find(db, wid)
    if kind == "task":
        raise MonitorError(403, "A task's name comes from its test; it cannot be renamed")
    db.one("monitor_workflow_rename", {"id": wid, "name": name.strip()})
    return workflow(db, raw_id)


def delete_workflow(db: Database, raw_id: str, force: bool = False) -> None:
    wid = parse_id(raw_id)
    kind, item = _find(db, wid)
    if kind == "task":
        raise MonitorError(
            403, "Tasks are cancelled through DELETE /pscheduler/tasks/<uuid>, not the monitor"
        )
    if item["status"] == "running" and not force:
        raise MonitorError(403, "The workflow is still running (add ?force to delete it anyway)")
    db.execute("monitor_workflow_delete", {"id": wid})


def delete_all_workflows(db: Database) -> dict:
    """Deletes every reported workflow (tasks stay); 410 when there was none."""
    deleted = db.execute("monitor_workflow_delete_all")
    if not deleted:
        raise MonitorError(410, "There are no reported workflows to delete")
    return {"deleted": deleted}


# ---------------------------------------------------------------------------- updates


def parse_client_time(value: Any) -> dt.datetime:
    """A client's timestamp: ISO 8601, Python's ``str(datetime)``, ``time.asctime()`` or epoch.

    Naive times are taken as UTC; a missing one is now.
    """
    if value is None:
        return dt.datetime.now(dt.timezone.utc)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        when = None
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                when = dt.datetime.strptime(text, "%a %b %d %H:%M:%S %Y")
            except ValueError:
                pass
        if when is not None:
            return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    raise MonitorError(400, f"Invalid timestamp {value!r}: expecting ISO 8601")


def _string_list(message: dict, key: str) -> list | None:
    value = message.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    raise MonitorError(400, f"message.{key} must be a list of strings")


def _message(body: Any) -> dict:
    if not isinstance(body, dict):
        raise MonitorError(
            400, 'An update needs a JSON object {"message": {...}, "timestamp": ...}'
        )
    message = body.get("message", body.get("msg"))
    if isinstance(message, str):
        # Some clients send the message as JSON text.
        try:
            message = json.loads(message)
        except ValueError:
            raise MonitorError(400, "message is text that is not a JSON object") from None
    if not isinstance(message, dict):
        raise MonitorError(400, "message must be a JSON object")
    return message


def _job_status(message: dict) -> str | None:
    status = message.get("status")
    if status is not None:
        if status not in SPEC_STATUSES:
            raise MonitorError(
                400, f"Unknown status {status!r}; expecting one of {', '.join(SPEC_STATUSES)}"
            )
        return status
    return _LEVEL_STATUS.get(message.get("level"))


def _cardinal(message: dict, key: str) -> int | None:
    value = message.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MonitorError(400, f"message.{key} must be an integer >= 0")
    return value


def update_workflow(db: Database, raw_id: str, body: Any) -> dict:
    """Store one progress message from a client: a job's news, or workflow progress."""
    wid = parse_id(raw_id)
    message = _message(body)
    if body.get("id") is not None and str(body["id"]) != str(wid):
        raise MonitorError(400, f"The body's id {body['id']!r} is not the workflow's ({wid})")
    when = parse_client_time(body.get("timestamp"))
    kind, _ = _find(db, wid)
    if kind == "task":
        raise MonitorError(403, "Task workflows are updated by the node itself, not by clients")

    progress = message.get("level") == _PROGRESS_LEVEL
    total, done = _cardinal(message, "total"), _cardinal(message, "done")
    jobid = message.get("jobid")
    if jobid is None and not progress:
        raise MonitorError(400, "message.jobid is required (except for level 'progress')")
    if jobid is not None:
        if not isinstance(jobid, str | int) or isinstance(jobid, bool) or str(jobid) == "":
            raise MonitorError(400, "message.jobid must be a string or an integer")
        status = _job_status(message)
        checkpoint = message.get("is_checkpoint")
        wildcards = message.get("wildcards")
        log = message.get("log")
        if isinstance(log, list):
            log = "\n".join(str(x) for x in log)
        text = message.get("msg")
        db.execute(
            "monitor_job_upsert",
            {
                "workflow": wid,
                "jobid": str(jobid),
                "jobid_raw": psycopg2.extras.Json(jobid),
                "name": message.get("name") if isinstance(message.get("name"), str) else None,
                "input": psycopg2.extras.Json(_string_list(message, "input"))
                if message.get("input") is not None
                else None,
                "output": psycopg2.extras.Json(_string_list(message, "output"))
                if message.get("output") is not None
                else None,
                "status": status,
                "started_at": when if status != "pending" else None,
                "completed_at": when if status in ("completed", "error", "cancelled") else None,
                "log": None if log is None else str(log),
                "message": psycopg2.extras.Json(text) if text is not None else None,
                "wildcards": psycopg2.extras.Json(wildcards) if wildcards is not None else None,
                "is_checkpoint": bool(checkpoint) if checkpoint is not None else None,
            },
        )
    db.one(
        "monitor_workflow_touch",
        {
            "id": wid,
            "jobs_total": total if progress else None,
            "jobs_done": done if progress else None,
        },
    )
    return {"id": str(wid), "accepted": True}


# ---------------------------------------------------------------------------- jobs


def _run_job(row: dict, root: str) -> dict:
    status = RUN_STATE_STATUS.get(row["state"], "pending")
    final = status in ("completed", "error", "cancelled")
    started = row["started"] or (row["start_time"] if status == "running" else None)
    href = f"{root}/tasks/{row['workflow_id']}/runs/{row['jobid']}"
    return {
        "jobid": str(row["jobid"]),
        "workflow_id": str(row["workflow_id"]),
        "name": f"{row['test_type']} run at {format_timestamp(row['start_time'])}",
        "input": [],
        "output": [href + "/result"] if row["state"] == "finished" else [],
        "status": status,
        "started_at": format_timestamp(started),
        "completed_at": format_timestamp(row["end_time"]) if final else None,
        "log": row["errors"] or "",
        "message": row["display"],
        "href": href,
        "state": row["state"],
    }


def _reported_job(row: dict) -> dict:
    return {
        "jobid": row["jobid_raw"],
        "workflow_id": str(row["workflow"]),
        "name": row["name"] or "",
        "input": row["input"],
        "output": row["output"],
        "status": row["status"],
        "started_at": format_timestamp(row["started_at"]),
        "completed_at": format_timestamp(row["completed_at"]),
        "log": row["log"] or "",
        "message": row["message"],
        "wildcards": row["wildcards"],
        "is_checkpoint": bool(row["is_checkpoint"]),
    }


def jobs(db: Database, raw_id: str, root: str, job_id: str | None = None) -> dict:
    """The jobs of one workflow (or the one named ``job_id``) in the spec's list shape."""
    wid = parse_id(raw_id)
    kind, _ = _find(db, wid)
    if kind == "task":
        run = None
        if job_id is not None:
            try:
                run = uuid.UUID(job_id)
            except ValueError:
                raise MonitorError(404, f"No job '{job_id}' in workflow {wid}") from None
        items = [_run_job(r, root) for r in db.all("panoptes_task_jobs", {"task": wid, "run": run})]
    else:
        rows = db.all("monitor_jobs", {"workflow": wid, "jobid": job_id})
        items = [_reported_job(r) for r in rows]
    if job_id is not None and not items:
        raise MonitorError(404, f"No job '{job_id}' in workflow {wid}")
    return {"jobs": items, "count": len(items)}
