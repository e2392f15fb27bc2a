"""Schedule views: /schedule and /monitor (spec/api.md §2.5)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from pscheduler.api import context
from pscheduler.api.args import arg_cardinal, arg_datetime, arg_uuid
from pscheduler.api.doc import DATE_TIME, UUID, doc, json_body, query, text_error
from pscheduler.api.responses import ok_json, root_url
from pscheduler.api.schemas import ref
from pscheduler.errors import BadRequest
from pscheduler.scheduling import view as schedule

bp = Blueprint("schedule", __name__)

#: The original sent pictures with a one-second cache lifetime.
_NO_CACHE = {"Cache-Control": "max-age=1"}
_TEXT = {"schema": {"type": "string"}}
_SCHEDULE_200 = {
    "description": "`json` (default): the runs; `png`/`svg`: a picture of them, one lane per "
    "scheduling class; `data`: gnuplot lines `<level> <start> <end>` (exclusive 1, normal 2, "
    "background 3, background-multi 4, non-starter 5); `script`: a gnuplot script plotting them",
    "content": {
        "application/json": {"schema": {"type": "array", "items": ref("ScheduleEntry")}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/svg+xml": _TEXT,
        "text/plain": _TEXT,
    },
}


@doc(
    "Runs overlapping [start, end), by time (secrets sanitised)",
    {
        200: _SCHEDULE_200,
        400: text_error("`Invalid start or end time`, `Invalid task UUID`, `Invalid format '<f>'`"),
    },
    [
        query("start", DATE_TIME),
        query("end", DATE_TIME),
        query("task", UUID),
        query("format", {"enum": ["json", *schedule.PICTURE_FORMATS]}, "Answer type"),
    ],
)
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


@doc(
    "Up to `window` past runs, every current run, up to `window` upcoming runs",
    {
        200: json_body({"type": "array", "items": ref("MonitorEntry")}),
        400: text_error("`Invalid window: ...`"),
    },
    [query("window", {"type": "integer", "minimum": 1})],
)
@bp.get("/monitor")
def monitor_view():
    window = arg_cardinal("window")
    return ok_json(schedule.monitor(context.db(), root_url(), window))
