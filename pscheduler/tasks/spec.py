"""The TaskSpecification (task schema 1–5) a client posts, as a JSON Schema.

Members newer than the declared ``schema`` are refused with a message naming the version
they need, rather than the original's opaque "not valid under any of the given schemas".
"""

from __future__ import annotations

from typing import Any

from pscheduler.toolkit.jsonval import schema_error

MAX_SCHEMA = 5

_DURATION = {
    "type": "string",
    "pattern": r"^P(?!$)(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$",
    "x-invalid-message": "'%s' is not an ISO 8601 duration (W, D, H, M and S only)",
}

SCHEDULE = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "minimum": 1, "maximum": 2},
        "start": {"type": "string", "minLength": 1},
        "slip": _DURATION,
        "sliprand": {"type": "boolean"},
        "repeat": _DURATION,
        "repeat-cron": {"type": "string", "minLength": 1},
        "until": {"type": "string", "minLength": 1},
        "max-runs": {"type": "integer", "minimum": 1},
    },
    "additionalProperties": False,
}

ARCHIVE = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "minimum": 1, "maximum": 3},
        "archiver": {"type": "string", "minLength": 1},
        "data": {},
        "transform": {
            "type": "object",
            "properties": {
                "script": {
                    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
                },
                "args": {"type": "object"},
                "output-raw": {"type": "boolean"},
            },
            "required": ["script"],
            "additionalProperties": False,
        },
        "ttl": _DURATION,
        "runs": {"enum": ["all", "succeeded", "failed"]},
        "uri-host": {"type": "string"},
        "label": {"type": "string"},
    },
    "required": ["archiver", "data"],
    "additionalProperties": False,
}

CONTEXTS = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [1]},
        "contexts": {
            "type": "array",
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"context": {"type": "string"}, "data": {}},
                    "required": ["context"],
                    "additionalProperties": False,
                },
            },
        },
    },
    "required": ["contexts"],
    "additionalProperties": False,
}

TASK = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "minimum": 1},
        "test": {
            "type": "object",
            "properties": {"type": {"type": "string", "minLength": 1}, "spec": {"type": "object"}},
            "required": ["type", "spec"],
            "additionalProperties": False,
        },
        "tool": {"type": "string"},
        "tools": {"type": "array", "items": {"type": "string"}},
        "schedule": SCHEDULE,
        "archives": {"type": "array", "items": ARCHIVE},
        "reference": {},
        "lead-bind": {"type": "string"},
        "_key": {"type": ["string", "null"]},
        "contexts": CONTEXTS,
        "priority": {"type": "integer"},
        "debug": {"type": "boolean"},
        "keep-after-archive": _DURATION,
        "participants": {"type": "array"},
    },
    "required": ["test"],
    "additionalProperties": False,
}

# The task schema version that introduced each member.
_SINCE = {"contexts": 2, "priority": 3, "debug": 4, "keep-after-archive": 5}


def task_error(task: Any) -> str | None:
    """None when ``task`` is a valid TaskSpecification, else a message for a 400."""
    if not isinstance(task, dict):
        return "JSON must be an object"
    schema = task.get("schema", 1)
    if not isinstance(schema, int) or isinstance(schema, bool):
        return "Schema value must be an integer"
    if schema > MAX_SCHEMA:
        return f"Schema version {schema} is not supported (highest is {MAX_SCHEMA})"
    for member, since in _SINCE.items():
        if member in task and schema < since:
            return f"At /{member}: needs task schema {since} or later (this task says {schema})"
    if "schedule" in task and isinstance(task["schedule"], dict):
        sched = task["schedule"]
        if "repeat-cron" in sched and sched.get("schema", 1) < 2:
            return "At /schedule/repeat-cron: needs schedule schema 2 or later"
    return schema_error(TASK, task)
