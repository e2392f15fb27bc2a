"""``/stat/*``: counters and states of the node — pause state, runs by state, archiving and
HTTP-queue backlogs, and usage per requester."""

from __future__ import annotations

from flask import Blueprint

from pscheduler.api import context
from pscheduler.api.args import arg_when
from pscheduler.api.doc import COUNT_TEXT, NOT_FOUND, doc, json_body, path, query, text_error
from pscheduler.api.responses import ok, ok_json
from pscheduler.api.schemas import ref
from pscheduler.archiving import deliver as archiving
from pscheduler.errors import NotFound
from pscheduler.node import accounting, status
from pscheduler.peers import queue as httpqueue
from pscheduler.toolkit.vocabulary import COUNTED_STATES

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


@doc(
    "Number of runs in a state, filtered on their start time",
    {200: COUNT_TEXT, 400: _BAD_WHEN, 404: NOT_FOUND},
    [path("state", {"enum": list(COUNTED_STATES)}), query("start", _WHEN), query("end", _WHEN)],
)
@bp.get("/stat/runs/<state>")
def runs_in_state(state: str):
    if state not in COUNTED_STATES:
        raise NotFound()
    count = status.count_runs(context.db(), state, arg_when("start"), arg_when("end"))
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
    start = arg_when("start")
    end = arg_when("end")
    return ok_json(accounting.requesters(context.db(), start, end))
