"""``/stat/*``: counters and states of the node — pause state, runs by state, archiving and
HTTP-queue backlogs, and usage per requester."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, request

from pscheduler.api import context
from pscheduler.api.doc import COUNT_TEXT, NOT_FOUND, doc, json_body, path, query, text_error
from pscheduler.api.responses import ok, ok_json
from pscheduler.api.schemas import ref
from pscheduler.archiving import deliver as archiving
from pscheduler.errors import BadRequest, NotFound
from pscheduler.node import accounting, status
from pscheduler.peers import queue as httpqueue
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp

bp = Blueprint("stat", __name__)

_WHEN = {
    "type": "string",
    "description": "ISO 8601 date-time, or +/- an ISO 8601 duration from now",
    "examples": ["-PT1H", "+P1D", "2024-05-01T10:00:00Z"],
}
_BAD_WHEN = text_error("`Invalid start time '...': expecting ISO 8601 or +/-duration`")


@doc("Pause state", {200: json_body(ref("PauseState"))})
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


@doc(
    "Number of runs in a state, filtered on their start time",
    {200: COUNT_TEXT, 400: _BAD_WHEN, 404: NOT_FOUND},
    [path("state", {"enum": list(status.RUN_STATES)}), query("start", _WHEN), query("end", _WHEN)],
)
@bp.get("/stat/runs/<state>")
def runs_in_state(state: str):
    if state not in status.RUN_STATES:
        raise NotFound()
    count = status.count_runs(context.db(), state, _relative_time("start"), _relative_time("end"))
    return ok(str(count))


@doc("Archivings not done whose next attempt is due", {200: COUNT_TEXT})
@bp.get("/stat/archiving/backlog")
def archiving_backlog():
    return ok(str(archiving.backlog(context.db())))


@doc("Archivings not done whose next attempt is in the future", {200: COUNT_TEXT})
@bp.get("/stat/archiving/upcoming")
def archiving_upcoming():
    return ok(str(archiving.upcoming(context.db())))


@doc("Outgoing HTTP requests never attempted", {200: COUNT_TEXT}, when={"which": "backlog"})
@doc("Outgoing HTTP requests queued", {200: COUNT_TEXT}, when={"which": "length"})
@bp.get("/stat/http-queue/<any(backlog, length):which>")
def http_queue_count(which: str):
    return ok(str(httpqueue.counts(context.db())[which]))


@doc(
    "Tasks, runs, failed runs and exclusive seconds per requester, busiest first",
    {200: json_body(ref("Requesters")), 400: _BAD_WHEN},
    [query("start", _WHEN), query("end", _WHEN)],
)
@bp.get("/stat/requesters")
def requesters():
    start = accounting.parse_when("start", request.args.get("start"))
    end = accounting.parse_when("end", request.args.get("end"))
    return ok_json(accounting.requesters(context.db(), start, end))
