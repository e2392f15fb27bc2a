"""Schedule views: /schedule and /monitor (spec/api.md §2.5)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from pscheduler.api import context
from pscheduler.api.args import arg_cardinal, arg_datetime, arg_uuid
from pscheduler.api.responses import ok_json, root_url
from pscheduler.errors import BadRequest
from pscheduler.scheduling import view as schedule

bp = Blueprint("schedule", __name__)

#: The original sent pictures with a one-second cache lifetime.
_NO_CACHE = {"Cache-Control": "max-age=1"}


@bp.get("/schedule")
def schedule_view():
    try:
        start, end = arg_datetime("start"), arg_datetime("end")
    except BadRequest:
        raise BadRequest("Invalid start or end time") from None
    task = arg_uuid("task")
    fmt = request.args.get("format", "json")
    if fmt == "json":
        return ok_json(schedule.runs_in_window(context.db(), root_url(), start, end, task))
    if fmt not in schedule.PICTURE_FORMATS:
        raise BadRequest(f"Invalid format '{fmt}'")
    body = schedule.picture(context.db(), fmt, context.public_host(), start, end, task)
    return Response(body, mimetype=schedule.PICTURE_FORMATS[fmt], headers=_NO_CACHE)


@bp.get("/monitor")
def monitor_view():
    window = arg_cardinal("window")
    return ok_json(schedule.monitor(context.db(), root_url(), window))
