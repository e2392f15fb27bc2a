"""Routes other nodes use: being tasked by a lead, run PUTs, and the HTTP queue counters."""

from __future__ import annotations

from flask import Blueprint, request

from pscheduler import httpqueue, participant_runs, tasking, tasks
from pscheduler.api import context
from pscheduler.api.args import body_json
from pscheduler.api.responses import base_url, ok
from pscheduler.api.tasks import hints, limits, privileged
from pscheduler.errors import Forbidden

bp = Blueprint("participants", __name__)


@bp.post("/tasks/<task_uuid>")
def post_participant_task(task_uuid: str):
    body = body_json(max_schema=5, what="Invalid JSON: ")
    tasking.accept(
        context.db(), task_uuid, request.args.get("participant"), body, hints(), limits()
    )
    return ok(base_url(), mimetype="text/plain")


@bp.put("/tasks/<task_uuid>/runs/<run_ref>")
def put_run(task_uuid: str, run_ref: str):
    db = context.db()
    row = tasks.get_row(db, task_uuid)
    if not tasks.may_write(row, hints()["requester"], request.args.get("key"), privileged()):
        raise Forbidden("Forbidden")
    body = body_json(max_schema=1, what="Invalid or missing run data: ")
    participant_runs.put(db, row, run_ref, body, limits())
    return ok()


@bp.get("/stat/http-queue/<any(backlog, length):which>")
def http_queue_count(which: str):
    return ok(str(httpqueue.counts(context.db())[which]))
