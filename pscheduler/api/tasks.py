"""Task routes: /tasks, /tasks/<uuid>, /tasks/<uuid>/cli (spec/api.md §2.3)."""

from __future__ import annotations

from flask import Blueprint

from pscheduler import wire
from pscheduler.api import context
from pscheduler.api.args import arg_boolean, arg_json, body_json
from pscheduler.api.responses import base_url, ok, ok_json, see_other
from pscheduler.tasks import mesh as tasking
from pscheduler.tasks import store

bp = Blueprint("tasks", __name__)


@bp.get("/tasks")
def list_tasks():
    rows = store.list_rows(context.db(), arg_json("json"))
    base = base_url()
    if not arg_boolean("expanded"):
        return ok_json([f"{base}/{r['uuid']}" for r in rows])
    with_detail = arg_boolean("detail")
    return ok_json([wire.task_json(r, f"{base}/{r['uuid']}", with_detail) for r in rows])


@bp.post("/tasks")
def create_task():
    body = body_json(max_schema=5, what="Invalid task specification: ")
    new = tasking.create(context.db(), body, context.hints(), context.config(), context.limits())
    url = new if isinstance(new, str) else f"{base_url()}/{new.uuid}"  # str: handed to its lead
    if arg_boolean("expanded"):
        extras = [name for name in ("detail", "pretty") if arg_boolean(name)]
        return see_other(url + ("?" + "&".join(extras) if extras else ""))
    return ok_json(url)


@bp.get("/tasks/<task_uuid>")
def get_task(task_uuid: str):
    row = store.get_row(context.db(), task_uuid)
    return ok_json(wire.task_json(row, base_url(), arg_boolean("detail"), context.key()))


@bp.delete("/tasks/<task_uuid>")
def delete_task(task_uuid: str):
    db = context.db()
    row = store.get_row(db, task_uuid)
    context.check_write(row)
    store.cancel(db, row)
    return ok()


@bp.get("/tasks/<task_uuid>/cli")
def task_cli(task_uuid: str):
    row = store.get_row(context.db(), task_uuid)
    return ok_json([row["test_type"], *row["cli"]])
