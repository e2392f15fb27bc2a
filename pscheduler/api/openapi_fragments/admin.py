"""OpenAPI fragment for the node-level routes (pscheduler/api/admin.py, spec/api.md §2.1)."""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import (
    DURATION,
    TIMESTAMP,
    json_body,
    op,
    query,
    text_error,
)

TAGS = ["node"]

_SERVICE = {
    "type": "object",
    "properties": {
        "uptime": {"type": ["string", "null"]},
        "updates": {"type": ["integer", "null"]},
        "last": {"type": ["string", "null"]},
        "next_time": {"type": ["string", "null"]},
        "expected": {"type": ["string", "null"]},
        "overdue": {"type": ["string", "null"], "description": "non-null: not running"},
    },
}

SCHEMAS = {
    "Clock": {
        "type": "object",
        "required": ["time", "synchronized", "source"],
        "properties": {
            "time": TIMESTAMP,
            "synchronized": {"type": "boolean"},
            "source": {"enum": ["chrony", "ntp", "unknown"]},
            "reference": {"type": "string", "description": "only when synchronized"},
            "offset": {"type": "number", "description": "seconds; only when synchronized"},
        },
        "additionalProperties": False,
        "description": "The original's SystemClockStatus: other hosts validate it strictly.",
    },
    "NodeStatus": {
        "type": "object",
        "required": ["time", "limits", "services", "runs"],
        "properties": {
            "time": TIMESTAMP,
            "limits": {
                "type": "object",
                "required": ["ok"],
                "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}},
            },
            "services": {"type": "object", "additionalProperties": _SERVICE},
            "runs": {
                "type": "object",
                "properties": {
                    "last-finished": {"type": ["string", "null"]},
                    "last-scheduled": {"type": ["string", "null"]},
                },
            },
            "host": {"type": "object", "description": "load, cpu, memory and disk use"},
            "clock": {
                "type": "object",
                "description": "/clock's answer (less time) with the kernel's clock state, "
                "the reason it is not synchronized (problem) and, with --ntp-server, ntp-check",
                "properties": {
                    "synchronized": {"type": "boolean"},
                    "source": {"type": "string"},
                    "kernel": {"type": ["object", "null"]},
                    "problem": {"type": "string"},
                    "ntp-check": {"type": "object"},
                },
            },
        },
    },
}

PATHS = {
    "/pscheduler/": {
        "get": op(
            "Liveness banner",
            {"200": json_body({"type": "string"}, "`This is the pScheduler API server on ...`")},
            tags=TAGS,
        )
    },
    "/pscheduler/api": {
        "get": op(
            "Highest API level served",
            {"200": json_body({"type": "integer", "minimum": 1})},
            tags=TAGS,
        )
    },
    "/pscheduler/hostname": {
        "get": op(
            "The host's name (or its best address when the name does not resolve)",
            {"200": json_body({"type": "string"})},
            tags=TAGS,
        )
    },
    "/pscheduler/clock": {
        "get": op(
            "Clock state from the system (kernel, chrony or ntpd), the original's keys only",
            {"200": json_body({"$ref": "#/components/schemas/Clock"})},
            tags=TAGS,
        )
    },
    "/pscheduler/schedule-horizon": {
        "get": op("How far ahead runs are placed", {"200": json_body(DURATION)}, tags=TAGS)
    },
    "/pscheduler/mtu-safe": {
        "get": op(
            "Whether the path MTU to `dest` is safe (tracepath)",
            {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["safe", "message"],
                        "properties": {"safe": {"type": "boolean"}, "message": {"type": "string"}},
                    }
                ),
                "400": text_error("`Missing destination`"),
            },
            [query("dest", {"type": "string", "minLength": 1}, "Host or address", required=True)],
            tags=TAGS,
        )
    },
    "/pscheduler/status": {
        "get": op(
            "Time, limits health, daemon heartbeats, last run times, host load",
            {"200": json_body({"$ref": "#/components/schemas/NodeStatus"})},
            tags=TAGS,
        )
    },
}
