"""What a view knows of its application and its request: config, database, limits, and who
is asking (the requester hints and whether the requester is privileged)."""

from __future__ import annotations

from flask import current_app, request

from pscheduler.config import Config
from pscheduler.db import Database
from pscheduler.node import tokens


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
    """A requester presenting an admin token may act on any task.

    Deliberately not a local source address (the original's rule): the node's own archiver,
    HTTP queue and tools send from those addresses on behalf of whoever posted a task, so an
    address says nothing about who is asking.  Local operators use ``pscheduler-server``
    (which acts on the database) or an admin token.
    """
    return admin()


def admin() -> bool:
    """The request carries a valid admin token (``Authorization: Bearer <token>``)."""
    return tokens.admin_allowed(db(), request.headers.get("Authorization"), hints()["requester"])
