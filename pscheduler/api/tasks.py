"""Task routes: /tasks, /tasks/<uuid>, /tasks/<uuid>/cli (spec/api.md §2.3)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from pscheduler import tasking, tasks, tokens
from pscheduler.api import context
from pscheduler.api.args import arg_boolean, arg_json, body_json
from pscheduler.api.responses import base_url, ok, ok_json, see_other
from pscheduler.errors import Forbidden
from pscheduler.localhost import is_local_address

bp = Blueprint("tasks", __name__)


def hints() -> dict:
    found = {"requester": (request.remote_addr or "").split("%")[0]}
    server = request.environ.get("SERVER_NAME")
    if server:
        found["server"] = server
    return found


def privileged() -> bool:
    """A local requester, or one presenting a valid API token, may act on any task."""
    requester = hints()["requester"]
    if is_local_address(requester):
        return True
    header = request.headers.get("Authorization")
    return bool(header) and tokens.authorized(context.db(), header, requester) is not None


def limits():
    return current_app.extensions.get("pscheduler.limits")


@bp.get("/tasks")
def list_tasks():
    rows = tasks.list_rows(context.db(), arg_json("json"))
    base = base_url()
    if not arg_boolean("expanded"):
        return ok_json([f"{base}/{r['uuid']}" for r in rows])
    with_detail = arg_boolean("detail")
    return ok_json([tasks.task_json(r, f"{base}/{r['uuid']}", with_detail) for r in rows])


@bp.post("/tasks")
def create_task():
    body = body_json(max_schema=5, what="Invalid task specification: ")
    new = tasking.create(context.db(), body, hints(), context.config(), limits())
    url = new if isinstance(new, str) else f"{base_url()}/{new.uuid}"  # str: handed to its lead
    if arg_boolean("expanded"):
        extras = [name for name in ("detail", "pretty") if arg_boolean(name)]
        return see_other(url + ("?" + "&".join(extras) if extras else ""))
    return ok_json(url)


@bp.get("/tasks/<task_uuid>")
def get_task(task_uuid: str):
    row = tasks.get_row(context.db(), task_uuid)
    return ok_json(tasks.task_json(row, base_url(), arg_boolean("detail"), request.args.get("key")))


@bp.delete("/tasks/<task_uuid>")
def delete_task(task_uuid: str):
    db = context.db()
    row = tasks.get_row(db, task_uuid)
    if not tasks.may_write(row, hints()["requester"], request.args.get("key"), privileged()):
        raise Forbidden("Forbidden")
    tasks.cancel(db, row)
    return ok()


@bp.get("/tasks/<task_uuid>/cli")
def task_cli(task_uuid: str):
    row = tasks.get_row(context.db(), task_uuid)
    return ok_json([row["test_type"], *row["cli"]])
