"""Run routes: runtimes, runs, one run, its result (spec/api.md §2.4)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from pscheduler import wire
from pscheduler.api import context
from pscheduler.api.args import (
    arg_boolean,
    arg_cardinal,
    arg_datetime,
    arg_integer,
    arg_natural,
    body_json,
)
from pscheduler.api.doc import (
    DATE_TIME,
    FORBIDDEN,
    KEY_PARAM,
    NOT_FOUND,
    OK_TEXT,
    RUN_PATH,
    TASK_PATH,
    boolean,
    doc,
    json_body,
    json_request,
    paging,
    query,
    text_error,
)
from pscheduler.api.responses import base_url, ok, ok_json, root_url
from pscheduler.api.schemas import URL, URL_LIST, ref
from pscheduler.errors import BadRequest
from pscheduler.runs import read as runs
from pscheduler.scheduling import slots
from pscheduler.tasks import access, store
from pscheduler.toolkit.iso8601 import parse_timestamp

bp = Blueprint("runs", __name__)

_WAIT = query(
    "wait",
    {"type": "integer", "minimum": 0, "maximum": 600},
    "Seconds to wait (default 30, for `first`/`next` too, as the original; 0: look once)",
)
_RUN_FROM_URL = "$response.body#regex:runs.([0-9a-fA-F-]+)$"


def _task(task_uuid: str) -> dict:
    return store.get_row(context.db(), task_uuid)


def _task_href(task_uuid: str) -> str:
    return f"{root_url()}/tasks/{task_uuid}"


def _times(name_start: str = "start", name_end: str = "end"):
    try:
        return arg_datetime(name_start), arg_datetime(name_end)
    except BadRequest:
        raise BadRequest("Invalid start or end time") from None


@doc(
    "Free time ranges for one run of the task on this node",
    {
        200: json_body({"type": "array", "items": ref("TimeRange")}),
        400: text_error("`Invalid start or end time`"),
        404: NOT_FOUND,
    },
    [
        TASK_PATH,
        query("start", DATE_TIME),
        query("end", DATE_TIME),
        query("priority", {"type": "integer"}, "Count only runs of this priority or higher"),
    ],
    operation_id="getRuntimes",
)
@bp.get("/tasks/<task_uuid>/runtimes")
def runtimes(task_uuid: str):
    start, end = _times()
    priority = arg_integer("priority")
    row = _task(task_uuid)
    return ok_json(slots.runtimes(context.db(), row, start, end, priority))


@doc(
    "The task's run URLs by time (unknown task: `[]`)",
    {200: json_body(URL_LIST), 400: text_error("A bad parameter"), 404: NOT_FOUND},
    [
        TASK_PATH,
        query("start", DATE_TIME, "Runs starting at or after"),
        query("end", DATE_TIME, "Runs ending at or before"),
        boolean("upcoming", "Only runs in progress or to come"),
        *paging("runs"),
    ],
    operation_id="listRuns",
)
@bp.get("/tasks/<task_uuid>/runs")
def list_runs(task_uuid: str):
    start = arg_datetime("start")
    end = arg_datetime("end")
    upcoming = arg_boolean("upcoming")
    limit = arg_cardinal("limit")
    offset = arg_natural("offset")
    row = store.find_row(context.db(), task_uuid)
    if row is None:
        return ok_json([])  # as the original: an unknown task has no runs
    base = base_url()
    return ok_json(
        [
            f"{base}/{u}"
            for u in runs.list_uuids(context.db(), row, start, end, upcoming, limit, offset)
        ]
    )


@doc(
    "Put a run on the lead's schedule (the scheduler does this)",
    {
        200: json_body(
            URL,
            "The run's URL",
            links={
                "GetRun": {
                    "operationId": "getRun",
                    "parameters": {"task": "$request.path.task", "run": _RUN_FROM_URL},
                }
            },
        ),
        400: text_error("`Missing start time`, `Invalid JSON: ...`"),
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: text_error("`Run would create a scheduling conflict.`"),
    },
    [TASK_PATH, KEY_PARAM],
    body=json_request(
        {"type": "object", "required": ["start-time"], "properties": {"start-time": DATE_TIME}}
    ),
    operation_id="postRun",
)
@bp.post("/tasks/<task_uuid>/runs")
def post_run(task_uuid: str):
    db = context.db()
    row = _task(task_uuid)
    context.check_write(row)
    if row["participant"] != 0:
        raise BadRequest("Cannot set run UUID as non-lead participant")
    body = body_json(max_schema=1, what="")
    if not isinstance(body, dict) or "start-time" not in body:
        raise BadRequest("Missing start time")
    try:
        start = parse_timestamp(body["start-time"])
    except ValueError:
        raise BadRequest("Invalid JSON: Invalid ISO8601 date") from None
    run_uuid = slots.insert_at(db, row, start)
    return ok_json(f"{base_url()}/{run_uuid}")


def _wait_args() -> tuple[float, bool, bool]:
    wait_local = arg_boolean("wait-local")
    wait_merged = arg_boolean("wait-merged")
    if wait_local and wait_merged:
        raise BadRequest("Cannot wait on local and merged results")
    wait = arg_integer("wait", 30)
    if wait < 0:
        raise BadRequest("Wait time must be >= 0")
    return float(min(wait, 600)), wait_local, wait_merged


@doc(
    "One run; `first` and `next` wait up to `wait` s (default 30, as the original) for one",
    {
        200: json_body(ref("Run")),
        400: text_error("`Cannot wait on local and merged results`, `Wait time must be >= 0`"),
        403: FORBIDDEN,
        404: NOT_FOUND,
    },
    [
        TASK_PATH,
        RUN_PATH,
        _WAIT,
        boolean("wait-local", "Wait for this node's result"),
        boolean("wait-merged", "Wait for the merged result"),
        KEY_PARAM,
    ],
    operation_id="getRun",
)
@bp.get("/tasks/<task_uuid>/runs/<run_ref>")
def get_run(task_uuid: str, run_ref: str):
    # As the original: ``wait`` defaults to 30 s, and the aliases wait for a run to exist
    # (the original CLI asks for ``runs/first`` of a task just posted, with no ``wait``).
    wait, wait_local, wait_merged = _wait_args()
    row = _task(task_uuid)
    run = runs.get(context.db(), row, run_ref, wait, wait_local, wait_merged)
    body = wire.run_json(
        run, row, _task_href(row["uuid"]), context.config().node_address, db=context.db()
    )
    return ok_json(access.shown(row, body, context.key()))


@doc(
    "Delete a run (not propagated to other participants)",
    {200: OK_TEXT, 403: FORBIDDEN, 404: NOT_FOUND},
    [TASK_PATH, RUN_PATH, KEY_PARAM],
    operation_id="deleteRun",
)
@bp.delete("/tasks/<task_uuid>/runs/<run_ref>")
def delete_run(task_uuid: str, run_ref: str):
    row = _task(task_uuid)
    context.check_write(row)
    runs.delete(context.db(), row, run_ref)
    return ok()


@doc(
    "The run's merged result, as JSON or formatted by the test",
    {
        200: {
            "description": "The result (JSON null while a `wait` found none); the test owns it",
            "content": {
                "application/json": {"schema": {}},
                "text/plain": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
        400: text_error("`Unsupported format ...`, `Wait time must be >= 0`"),
        403: FORBIDDEN,
        404: NOT_FOUND,
    },
    [
        TASK_PATH,
        RUN_PATH,
        query(
            "format",
            {"enum": ["application/json", "text/plain", "text/html"]},
            "Default application/json",
        ),
        query("wait", {"type": "string"}, "Wait for the result: a flag or seconds"),
        boolean("wait-merged", "Wait (30 s unless `wait` says otherwise)"),
        KEY_PARAM,
    ],
    operation_id="getRunResult",
)
@bp.get("/tasks/<task_uuid>/runs/<run_ref>/result")
def run_result(task_uuid: str, run_ref: str):
    fmt = request.args.get("format", "application/json")
    if fmt not in runs.FORMATS:
        raise BadRequest(f"Unsupported format {fmt}")
    # ``wait`` is a flag (wait the default 30 s) or a number of seconds; clients in the
    # original's tree send ``wait-merged`` here, which means the same.
    wait = 0.0
    raw = request.args.get("wait")
    if raw is not None:
        wait = 30.0 if raw.lower() in ("", "true", "yes") else float(arg_integer("wait", 30))
        if wait < 0:
            raise BadRequest("Wait time must be >= 0")
    if arg_boolean("wait-merged") and wait == 0:
        wait = 30.0
    row = _task(task_uuid)
    value, mime = runs.result(context.db(), row, run_ref, fmt, min(wait, 600.0))
    if mime == "application/json":
        return ok_json(None if value is None else access.shown(row, value, context.key()))
    return Response(value + "\n", mimetype=mime)
