"""Node-level routes: banner, API level, hostname, clock, horizon, MTU and status."""

from __future__ import annotations

import socket

from flask import Blueprint, request

from pscheduler.api import MAX_API, context
from pscheduler.api.doc import doc, json_body, query, text_error
from pscheduler.api.responses import ok_json
from pscheduler.api.schemas import DURATION, closed, ref
from pscheduler.errors import BadRequest
from pscheduler.node import clock, identity, mtu, status
from pscheduler.node import host as hoststatus
from pscheduler.psconfig import status as psconfig_status
from pscheduler.toolkit.iso8601 import duration_to_iso

bp = Blueprint("meta", __name__)

_MTU = closed({"safe": {"type": "boolean"}, "message": {"type": "string"}})


@doc(
    "Liveness banner",
    {200: json_body({"type": "string"}, "`This is the pScheduler API server on ...`")},
)
@bp.get("/")
def banner():
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return ok_json(f"This is the pScheduler API server on {host} ({socket.gethostname()})")


@doc("Highest API level served", {200: json_body({"type": "integer", "minimum": 1})})
@bp.get("/api")
def api_level():
    return ok_json(MAX_API)


@doc(
    "The host's name (its best address when the name does not resolve)",
    {200: json_body({"type": "string"})},
)
@bp.get("/hostname")
def hostname():
    return ok_json(identity.host_name())


@doc(
    "Clock state from the system (kernel, chrony or ntpd), the original's keys only",
    {200: json_body(ref("Clock"))},
)
@bp.get("/clock")
def clock_view():
    return ok_json(clock.clock_state())


@doc("How far ahead runs are placed", {200: json_body(DURATION)})
@bp.get("/schedule-horizon")
def schedule_horizon():
    return ok_json(duration_to_iso(status.horizon(context.db())))


@doc(
    "Whether the path MTU to `dest` is safe (tracepath)",
    {200: json_body(_MTU), 400: text_error("`Missing destination`")},
    [query("dest", {"type": "string", "minLength": 1}, "Host or address", required=True)],
)
@bp.get("/mtu-safe")
def mtu_safe():
    dest = request.args.get("dest")
    if not dest:
        raise BadRequest("Missing destination")
    return ok_json(mtu.mtu_safe(dest))


@doc(
    "Time, limits health, daemon heartbeats, last run times, host load, clock diagnosis",
    {200: json_body(ref("NodeStatus"))},
)
@bp.get("/status")
def node_status():
    limits = context.limits_status()
    with context.db().reading() as db:
        body = status.node_status(db, limits)
        agent = psconfig_status.read(db)
    body["host"] = hoststatus.host_status(context.config().state_dir)
    body["clock"] = clock.clock_diagnosis(context.config().ntp_server)
    if agent is not None:
        body["psconfig"] = agent
    return ok_json(body)
