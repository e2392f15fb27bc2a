"""A participant's side of run placement: ``PUT /tasks/<uuid>/runs/<run>`` from the lead.

A full PUT (the run does not exist here yet) creates it under the lead's run UUID at the
lead's start time, guarded by this node's timeline (409 on conflict), with this participant's
tool participant-data; a partial PUT stores ``part-data-full`` or ``result-full``.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg2.extras import Json

from pscheduler import plugins
from pscheduler.db import Database
from pscheduler.errors import BadRequest, NotFound
from pscheduler.scheduling import place as scheduling
from pscheduler.scheduling import slots
from pscheduler.toolkit.iso8601 import parse_timestamp


def put(db: Database, task_row: dict, ref: str, body: Any, limits=None) -> None:
    try:
        run_uuid = uuid.UUID(ref)
    except ValueError:
        raise NotFound() from None
    if not isinstance(body, dict):
        raise BadRequest("Invalid or missing run data")
    existing = db.one("run_any_by_uuid", {"task": task_row["id"], "uuid": run_uuid})
    if existing is None:
        _create(db, task_row, run_uuid, body, limits)
        return
    if "part-data-full" in body:
        if not isinstance(body["part-data-full"], list):
            raise BadRequest("part-data-full must be a list with one entry per participant")
        db.all(
            "run_set_part_data_full",
            {
                "task": task_row["id"],
                "uuid": run_uuid,
                "part_data_full": Json(body["part-data-full"]),
            },
        )
        return
    if "result-full" in body:
        if not isinstance(body["result-full"], list):
            raise BadRequest("result-full must be a list with one entry per participant")
        if not isinstance(body.get("succeeded"), bool):
            raise BadRequest("Missing success value")
        db.all(
            "run_store_result_full",
            {
                "task": task_row["id"],
                "uuid": run_uuid,
                "result_full": Json(body["result-full"]),
                "succeeded": body["succeeded"],
            },
        )
        return
    raise BadRequest("The run exists; a PUT must carry part-data-full or result-full")


def _create(db: Database, task_row: dict, run_uuid: uuid.UUID, body: dict, limits) -> None:
    if "start-time" not in body:
        raise BadRequest("Missing start time")
    try:
        start = parse_timestamp(body["start-time"])
    except (TypeError, ValueError):
        raise BadRequest("Invalid start time") from None
    passed, diags, priority = scheduling.run_limits(limits, task_row, start)
    if not passed:
        # As the original: the run exists, as a non-starter the lead can see the reason of.
        slots.insert_at(
            db,
            task_row,
            start,
            state="nonstart",
            run_uuid=run_uuid,
            errors="Run forbidden by limits:\n" + (diags or ""),
            limit_diags=diags,
        )
        return
    slots.insert_at(
        db,
        task_row,
        start,
        state="pending",
        run_uuid=run_uuid,
        priority=priority,
        limit_diags=diags,
    )
    data = participant_data(task_row)
    row = db.one("run_any_by_uuid", {"task": task_row["id"], "uuid": run_uuid})
    db.execute("run_set_part_data", {"id": row["id"], "part_data": data})


def participant_data(task_row: dict) -> dict:
    """This participant's tool participant-data for the task ({} when the tool has none)."""
    tool = plugins.registry().tools.get(task_row["tool"])
    if tool is None or tool.participant_data is None:
        return {}
    test = {"type": task_row["test_type"], "spec": task_row["json"]["test"]["spec"]}
    try:
        data = plugins.call(tool, "participant_data", test, task_row["participant"])
    except Exception as exc:  # noqa: BLE001 - reported to the lead, which gives up the run
        raise BadRequest(
            f"Tool {task_row['tool']} failed to give participant data: {exc}"
        ) from None
    return data if isinstance(data, dict) else {}


def single_node_data(tool, run: dict) -> list[dict]:
    """Participant data for a run nobody distributed any for (single-node tasks): the tool's
    own, computed here, or {} per participant."""
    participants = run["participants"] or [None]
    if tool is None or tool.participant_data is None or len(participants) != 1:
        return [{} for _ in participants]
    test = {"type": run["test_type"], "spec": run["task_json"]["test"]["spec"]}
    try:
        data = plugins.call(tool, "participant_data", test, 0)
    except Exception:  # noqa: BLE001 - the tool runs without it and reports what it lacks
        return [{}]
    return [data if isinstance(data, dict) else {}]
