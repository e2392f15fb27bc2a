"""Node-level routes: banner, API level, hostname, clock, horizon, MTU and status."""

from __future__ import annotations

import socket

from flask import Blueprint, request

from pscheduler.api import MAX_API, context
from pscheduler.api.responses import ok_json
from pscheduler.errors import BadRequest
from pscheduler.node import clock, identity, mtu, status
from pscheduler.node import host as hoststatus
from pscheduler.toolkit.iso8601 import duration_to_iso

bp = Blueprint("meta", __name__)


@bp.get("/")
def banner():
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return ok_json(f"This is the pScheduler API server on {host} ({socket.gethostname()})")


@bp.get("/api")
def api_level():
    return ok_json(MAX_API)


@bp.get("/hostname")
def hostname():
    return ok_json(identity.host_name())


@bp.get("/clock")
def clock_view():
    return ok_json(clock.clock_state())


@bp.get("/schedule-horizon")
def schedule_horizon():
    return ok_json(duration_to_iso(status.horizon(context.db())))


@bp.get("/mtu-safe")
def mtu_safe():
    dest = request.args.get("dest")
    if not dest:
        raise BadRequest("Missing destination")
    return ok_json(mtu.mtu_safe(dest))


@bp.get("/status")
def node_status():
    body = status.node_status(context.db(), context.limits_status())
    body["host"] = hoststatus.host_status(context.config().state_dir)
    body["clock"] = clock.clock_diagnosis(context.config().ntp_server)
    return ok_json(body)
