"""Routes other nodes use: being tasked by a lead and run PUTs."""

from __future__ import annotations

from flask import Blueprint, request

from pscheduler.api import context
from pscheduler.api.args import body_json
from pscheduler.api.doc import (
    FORBIDDEN,
    KEY_PARAM,
    NOT_FOUND,
    OK_TEXT,
    TASK_PATH,
    UUID,
    doc,
    json_request,
    path,
    query,
    text_error,
)
from pscheduler.api.responses import base_url, ok
from pscheduler.api.schemas import URL
from pscheduler.runs import participant as participant_runs
from pscheduler.tasks import mesh as tasking
from pscheduler.tasks import store

bp = Blueprint("participants", __name__)


@doc(
    "Participant tasking: the lead posts the task it will run",
    {
        200: {
            "description": "The task's URL here (plain text, not JSON)",
            "content": {"text/plain": {"schema": URL}},
        },
        400: text_error("`Invalid JSON: ...`, `Invalid participant: ...`, `Task error: ...`"),
        403: text_error("`Task forbidden by limits:` and the diagnostics"),
        404: NOT_FOUND,
        422: text_error("`Unable to complete request: ...`"),
    },
    [
        TASK_PATH,
        query(
            "participant",
            {"type": "integer", "minimum": 1},
            "This node's participant number",
            required=True,
        ),
    ],
    body=json_request(
        {
            "allOf": [{"$ref": "#/components/schemas/TaskSpecification"}],
            "description": "As the lead will run it, with `tool`, `participants` and `_key`",
        }
    ),
    operation_id="postParticipantTask",
)
@bp.post("/tasks/<task_uuid>")
def post_participant_task(task_uuid: str):
    body = body_json(max_schema=5, what="Invalid JSON: ")
    tasking.accept(
        context.db(),
        task_uuid,
        request.args.get("participant"),
        body,
        context.hints(),
        context.limits(),
    )
    return ok(base_url(), mimetype="text/plain")


@doc(
    "Participant side: create the lead's run here, or update it",
    {
        200: OK_TEXT,
        400: text_error(
            "`Invalid or missing run data`, `Missing start time`, `Invalid start time`,"
            " `Missing success value`"
        ),
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: text_error("`Run would create a scheduling conflict.`"),
    },
    [TASK_PATH, path("run", UUID, "Run UUID"), KEY_PARAM],
    body=json_request(
        {
            "type": "object",
            "description": "New run: `start-time`.  Existing run: one of `part-data-full` or"
            " `result-full` (with `succeeded`)",
            "properties": {
                "start-time": {"type": "string", "format": "date-time"},
                "part-data-full": {"type": "array"},
                "result-full": {"type": "array"},
                "succeeded": {"type": "boolean"},
            },
        }
    ),
    operation_id="putRun",
)
@bp.put("/tasks/<task_uuid>/runs/<run_ref>")
def put_run(task_uuid: str, run_ref: str):
    db = context.db()
    row = store.get_row(db, task_uuid)
    context.check_write(row)
    body = body_json(max_schema=1, what="Invalid or missing run data: ")
    participant_runs.put(db, row, run_ref, body, context.limits())
    return ok()
