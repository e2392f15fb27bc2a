"""OpenAPI fragment for /schedule and /monitor (pscheduler/api/schedule.py, spec/api.md §2.5)."""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import TIMESTAMP, URL, json_body, op, query, text_error

TAGS = ["schedule"]

_ENTRY = {
    "type": "object",
    "required": ["start-time", "end-time", "href", "result-href", "state", "task"],
    "properties": {
        "ppf": {"enum": [-1, 0, 1], "description": "monitor: past, present, future"},
        "start-time": TIMESTAMP,
        "end-time": TIMESTAMP,
        "href": URL,
        "result-href": URL,
        "state": {"type": "string"},
        "state-display": {"type": "string"},
        "task": {"type": "object"},
        "cli": {},
        "test": {},
        "tool": {},
        "scheduling-class": {"type": ["string", "null"]},
        "errors": {},
        "priority": {"type": ["integer", "null"]},
    },
}
_TIME = {"type": "string", "format": "date-time"}

SCHEMAS = {"ScheduleEntry": _ENTRY}

_ENTRIES = json_body({"type": "array", "items": {"$ref": "#/components/schemas/ScheduleEntry"}})

_TEXT = {"schema": {"type": "string"}}
_SCHEDULE_200 = {
    "description": "`json` (default): the runs; `png`/`svg`: a picture of them, one lane per "
    "scheduling class; `data`: gnuplot lines `<level> <start> <end>` (exclusive 1, normal 2, "
    "background 3, background-multi 4, non-starter 5); `script`: a gnuplot script plotting them",
    "content": {
        **_ENTRIES["content"],
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/svg+xml": _TEXT,
        "text/plain": _TEXT,
    },
}

PATHS = {
    "/pscheduler/schedule": {
        "get": op(
            "Runs overlapping [start, end), by time (secrets sanitised)",
            {
                "200": _SCHEDULE_200,
                "400": text_error(
                    "`Invalid start or end time`, `Invalid task UUID`, `Invalid format '<f>'`"
                ),
            },
            [
                query("start", _TIME),
                query("end", _TIME),
                query("task", {"type": "string", "format": "uuid"}),
                query("format", {"enum": ["json", "png", "svg", "data", "script"]}, "Answer type"),
            ],
            tags=TAGS,
        )
    },
    "/pscheduler/monitor": {
        "get": op(
            "Up to `window` past runs, every current run, up to `window` upcoming runs",
            {"200": _ENTRIES, "400": text_error("`Invalid window: ...`")},
            [query("window", {"type": "integer", "minimum": 1})],
            tags=TAGS,
        )
    },
}
