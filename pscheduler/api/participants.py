"""Routes other nodes use: being tasked by a lead and run PUTs."""

from __future__ import annotations

from flask import Blueprint, request

from pscheduler.api import context
from pscheduler.api.args import body_json
from pscheduler.api.responses import base_url, ok
from pscheduler.runs import participant as participant_runs
from pscheduler.tasks import mesh as tasking
from pscheduler.tasks import store

bp = Blueprint("participants", __name__)


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


@bp.put("/tasks/<task_uuid>/runs/<run_ref>")
def put_run(task_uuid: str, run_ref: str):
    db = context.db()
    row = store.get_row(db, task_uuid)
    context.check_write(row)
    body = body_json(max_schema=1, what="Invalid or missing run data: ")
    participant_runs.put(db, row, run_ref, body, context.limits())
    return ok()
