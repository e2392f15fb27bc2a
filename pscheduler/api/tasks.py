"""Task routes: /tasks, /tasks/<uuid>, /tasks/<uuid>/cli (spec/api.md §2.3)."""

from __future__ import annotations

from flask import Blueprint

from pscheduler import wire
from pscheduler.api import context
from pscheduler.api.args import arg_boolean, arg_cardinal, arg_json, arg_natural, body_json
from pscheduler.api.doc import (
    FORBIDDEN,
    KEY_PARAM,
    NOT_FOUND,
    TASK_PATH,
    boolean,
    doc,
    html_text,
    json_body,
    json_query,
    json_request,
    paging,
    text_error,
)
from pscheduler.api.responses import base_url, ok, ok_json, ok_json_text, see_other
from pscheduler.api.schemas import URL, ref
from pscheduler.runs import read as runs
from pscheduler.tasks import access, store
from pscheduler.tasks import mesh as tasking

bp = Blueprint("tasks", __name__)

_DETAIL = boolean("detail", "Add the `detail` object")
_EXPANDED = boolean("expanded", "Task objects instead of URLs")
_LATEST_RUN = boolean(
    "latest-run",
    "With `expanded`, add `latest-run`: the task's latest run in a final state (as GET of the"
    " run shows it) or null.  An extension: other pScheduler hosts ignore it",
)
_EXAMPLE = {
    "schema": 1,
    "test": {"type": "idle", "spec": {"schema": 1, "duration": "PT1S"}},
    "schedule": {"start": "PT1H"},
}
_UUID_FROM_URL = "$response.body#regex:tasks.([0-9a-fA-F-]+)$"
_CREATED_LINKS = {
    "GetTask": {"operationId": "getTask", "parameters": {"task": _UUID_FROM_URL}},
    "GetTaskCli": {"operationId": "getTaskCli", "parameters": {"task": _UUID_FROM_URL}},
    "ListRuns": {"operationId": "listRuns", "parameters": {"task": _UUID_FROM_URL}},
    "GetRuntimes": {"operationId": "getRuntimes", "parameters": {"task": _UUID_FROM_URL}},
    "GetFirstRun": {
        "operationId": "getRun",
        "parameters": {"task": _UUID_FROM_URL, "run": "first", "wait": "0"},
    },
    "CancelTask": {"operationId": "cancelTask", "parameters": {"task": _UUID_FROM_URL}},
}


@doc(
    "Every task this node knows, oldest first",
    {
        200: json_body({"type": "array", "items": {"anyOf": [URL, ref("Task")]}}),
        400: text_error("`Invalid JSON: ...`, `Invalid limit: ...`, `Invalid offset: ...`"),
    },
    [
        json_query(
            "json",
            "Containment filter on the task and its detail",
            example={"test": {"type": "idle"}},
        ),
        _EXPANDED,
        _DETAIL,
        _LATEST_RUN,
        *paging("tasks"),
    ],
    operation_id="listTasks",
)
@bp.get("/tasks")
def list_tasks():
    limit, offset = arg_cardinal("limit"), arg_natural("offset")
    base = base_url()
    if not arg_boolean("expanded"):
        urls = store.list_urls_json(context.db(), base, arg_json("json"), limit, offset)
        return ok_json_text(urls)
    db = context.db()
    rows = store.list_rows(db, arg_json("json"), limit, offset)
    with_detail = arg_boolean("detail")
    tasks = [wire.task_json(r, f"{base}/{r['uuid']}", with_detail) for r in rows]
    if arg_boolean("latest-run"):
        latest = runs.latest_final(db, [r["id"] for r in rows])
        me = context.config().node_address
        for row, task in zip(rows, tasks, strict=True):
            run = latest.get(row["id"])
            task["latest-run"] = (
                None
                if run is None
                else access.shown(row, wire.run_json(run, row, task["href"], me), None)
            )
    return ok_json(tasks)


@doc(
    "Create a task led by this node",
    {
        200: json_body(URL, "The new task's URL", links=_CREATED_LINKS),
        303: {
            **html_text("With `expanded`: the task URL, also in `Location`"),
            "headers": {"Location": {"schema": URL, "required": True}},
        },
        400: text_error("`Invalid task specification: ...`, `Invalid test specification: ...`"),
        403: text_error("`Task forbidden by limits:` and the diagnostics"),
        422: text_error("`Unable to complete request: ...` (no common tool, broken limit file)"),
        501: text_error("`No API above 6 is supported`, or a feature not served here"),
    },
    [_EXPANDED, _DETAIL],
    body=json_request(ref("TaskSpecification"), _EXAMPLE),
    operation_id="createTask",
)
@bp.post("/tasks")
def create_task():
    body = body_json(max_schema=5, what="Invalid task specification: ")
    new = tasking.create(context.db(), body, context.hints(), context.config(), context.limits())
    url = new if isinstance(new, str) else f"{base_url()}/{new.uuid}"  # str: handed to its lead
    if arg_boolean("expanded"):
        extras = [name for name in ("detail", "pretty") if arg_boolean(name)]
        return see_other(url + ("?" + "&".join(extras) if extras else ""))
    return ok_json(url)


@doc(
    "One task (always expanded)",
    {200: json_body(ref("Task")), 403: FORBIDDEN, 404: NOT_FOUND},
    [TASK_PATH, _DETAIL, KEY_PARAM],
    operation_id="getTask",
)
@bp.get("/tasks/<task_uuid>")
def get_task(task_uuid: str):
    row = store.get_row(context.db(), task_uuid, counts=True)
    return ok_json(wire.task_json(row, base_url(), arg_boolean("detail"), context.key()))


@doc(
    "Cancel the task (idempotent)",
    {200: html_text("`OK`"), 403: FORBIDDEN, 404: NOT_FOUND},
    [TASK_PATH, KEY_PARAM],
    operation_id="cancelTask",
)
@bp.delete("/tasks/<task_uuid>")
def delete_task(task_uuid: str):
    db = context.db()
    row = store.get_row(db, task_uuid)
    context.check_write(row)
    store.cancel(db, row)
    return ok()


@doc(
    "The task as command-line arguments: `[test, args...]`",
    {200: json_body({"type": "array", "items": {"type": "string"}}), 404: NOT_FOUND},
    [TASK_PATH],
    operation_id="getTaskCli",
)
@bp.get("/tasks/<task_uuid>/cli")
def task_cli(task_uuid: str):
    row = store.get_row(context.db(), task_uuid)
    return ok_json([row["test_type"], *row["cli"]])
