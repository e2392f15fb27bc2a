"""What a view knows of its application and its request: config, database, limits, and who
is asking (the requester hints and whether the requester is privileged)."""

from __future__ import annotations

import socket

from flask import current_app, request

from pscheduler.config import Config
from pscheduler.db import Database
from pscheduler.node import tokens
from pscheduler.node.identity import local_addresses
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


def _split_host(value: str) -> tuple[str, int | None] | None:
    """(host, port) of a Host header value, or None when it is not one."""
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] or None
    elif value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, None
    if port is not None and not port.isdigit():
        return None
    return host.lower().rstrip("."), int(port) if port else None


def own_names() -> set[str]:
    """Every name and address by which this node may be reached."""
    cfg = config()
    names = {cfg.hostname, cfg.listen_host, "localhost", socket.gethostname()}
    names |= set(local_addresses())
    return {n.lower().strip("[]").rstrip(".") for n in names if n}


def public_host() -> str:
    """``host[:port]`` for the hrefs of an answer.

    The Host header only when it names this node (one of its names or addresses, on its own
    port), else the configured name: a client must not be able to make the node hand out
    links to somewhere else.
    """
    cfg = config()
    parsed = _split_host(request.host or "")
    if parsed is not None:
        host, port = parsed
        if host in own_names() and port in (None, cfg.listen_port):
            return request.host
    return cfg.node_address


def key() -> str | None:
    """The ``?key=`` the request presents for a task's secrets."""
    return request.args.get("key")


def check_write(task_row: dict) -> None:
    """403 unless this request may change the task or its runs (``tasks.access``)."""
    access.check_write(task_row, hints()["requester"], key(), privileged())
