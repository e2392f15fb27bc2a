"""``/stat/*``: counters and states of the node — pause state, runs by state, archiving and
HTTP-queue backlogs, and usage per requester."""

from __future__ import annotations

from flask import Blueprint

from pscheduler.api import context
from pscheduler.api.args import arg_when
from pscheduler.api.responses import ok, ok_json
from pscheduler.archiving import deliver as archiving
from pscheduler.errors import NotFound
from pscheduler.node import accounting, status
from pscheduler.peers import queue as httpqueue
from pscheduler.toolkit.vocabulary import COUNTED_STATES

bp = Blueprint("stat", __name__)


@bp.get("/stat/control/pause")
def pause_state():
    return ok_json(status.pause_state(context.db()))


@bp.get("/stat/runs/<state>")
def runs_in_state(state: str):
    if state not in COUNTED_STATES:
        raise NotFound()
    count = status.count_runs(context.db(), state, arg_when("start"), arg_when("end"))
    return ok(str(count))


@bp.get("/stat/archiving/backlog")
def archiving_backlog():
    return ok(str(archiving.backlog(context.db())))


@bp.get("/stat/archiving/upcoming")
def archiving_upcoming():
    return ok(str(archiving.upcoming(context.db())))


@bp.get("/stat/http-queue/<any(backlog, length):which>")
def http_queue_count(which: str):
    return ok(str(httpqueue.counts(context.db())[which]))


@bp.get("/stat/requesters")
def requesters():
    start = arg_when("start")
    end = arg_when("end")
    return ok_json(accounting.requesters(context.db(), start, end))
