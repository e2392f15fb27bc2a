"""What a view knows of its application and its request: config, database, limits, and who
is asking (the requester hints and whether the requester is privileged)."""

from __future__ import annotations

from flask import current_app, request

from pscheduler.config import Config
from pscheduler.db import Database
from pscheduler.node import tokens
from pscheduler.node.identity import is_local_address
from pscheduler.tasks import access


def config() -> Config:
    return current_app.extensions["pscheduler.config"]


def db() -> Database:
    return current_app.extensions["pscheduler.db"]


def limits():
    """The node's limit file (hot-reloaded), or None when the app was built without one."""
    return current_app.extensions.get("pscheduler.limits")


def limits_status() -> dict:
    found = limits()
    return found.status() if found is not None else {"ok": True}


def hints() -> dict:
    """The original's requester hints: the requester's address and the server name it used."""
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
    return bool(header) and tokens.authorized(db(), header, requester) is not None


def key() -> str | None:
    """The ``?key=`` the request presents for a task's secrets."""
    return request.args.get("key")


def check_write(task_row: dict) -> None:
    """403 unless this request may change the task or its runs (``tasks.access``)."""
    access.check_write(task_row, hints()["requester"], key(), privileged())
