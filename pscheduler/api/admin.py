"""Node-level routes: banner, API level, hostname, clock, horizon, MTU, status, stat counters."""

from __future__ import annotations

import datetime as dt
import socket

from flask import Blueprint, request

from pscheduler import clock, hoststatus, mtu, status
from pscheduler.api import context
from pscheduler.api.responses import ok, ok_json
from pscheduler.errors import BadRequest, NotFound
from pscheduler.toolkit.iso8601 import duration_to_iso, parse_duration, parse_timestamp

bp = Blueprint("admin", __name__)


@bp.get("/")
def banner():
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return ok_json(f"This is the pScheduler API server on {host} ({socket.gethostname()})")


@bp.get("/api")
def api_level():
    from pscheduler.api import MAX_API

    return ok_json(MAX_API)


@bp.get("/hostname")
def hostname():
    return ok_json(context.config().hostname or socket.getfqdn())


@bp.get("/clock")
def clock_view():
    return ok_json(clock.clock_state(context.config().ntp_server))


@bp.get("/schedule-horizon")
def schedule_horizon():
    return ok_json(duration_to_iso(status.horizon(context.db())))


@bp.get("/mtu-safe")
def mtu_safe():
    dest = request.args.get("dest")
    if not dest:
        raise BadRequest("Missing destination")
    return ok_json(mtu.mtu_safe(dest))


def limits_status() -> dict:
    from flask import current_app

    limits = current_app.extensions.get("pscheduler.limits")
    return limits.status() if limits is not None else {"ok": True}


@bp.get("/status")
def node_status():
    body = status.node_status(context.db(), limits_status())
    body["host"] = hoststatus.host_status(context.config().state_dir)
    return ok_json(body)


@bp.get("/stat/control/pause")
def pause_state():
    return ok_json(status.pause_state(context.db()))


def _relative_time(name: str) -> dt.datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        if raw[:1] in "+-" and raw[1:2] == "P":
            delta = parse_duration(raw[1:])
            now = dt.datetime.now(dt.timezone.utc)
            return now + delta if raw[0] == "+" else now - delta
        return parse_timestamp(raw)
    except ValueError:
        raise BadRequest(
            f"Invalid {name} time '{raw}': expecting ISO 8601 or +/-duration"
        ) from None


@bp.get("/stat/runs/<state>")
def runs_in_state(state: str):
    if state not in status.RUN_STATES:
        raise NotFound()
    count = status.count_runs(context.db(), state, _relative_time("start"), _relative_time("end"))
    return ok(str(count))
