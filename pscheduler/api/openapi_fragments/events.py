"""OpenAPI fragment for the live event stream, GET /events (pscheduler/api/events.py)."""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import op, query, text_error

PATHS = {
    "/pscheduler/events": {
        "get": op(
            "Server-sent events: task and run changes as they happen",
            {
                "200": {
                    "description": "An endless `text/event-stream`; each event has an `id`"
                    " to resume from with `Last-Event-ID`",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "400": text_error("A bad filter"),
                "503": text_error("Too many streams on this process (with `Retry-After`)"),
            },
            [
                query(
                    "task",
                    {"type": "array", "items": {"type": "string", "format": "uuid"}},
                    "Only these tasks' events (repeatable)",
                ),
                query(
                    "test",
                    {"type": "array", "items": {"type": "string"}},
                    "Only events of tasks of these test types (repeatable)",
                ),
                query(
                    "kind",
                    {"type": "array", "items": {"type": "string"}},
                    "Only events of these kinds (repeatable)",
                ),
                query("since", {"type": "string"}, "As `Last-Event-ID`, for clients without it"),
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "description": "Resume after this event id",
                    "schema": {"type": "string"},
                },
            ],
            tags=["events"],
        )
    }
}
