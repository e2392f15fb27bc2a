"""OpenAPI fragment for the live event stream, GET /events (issue 10, live view)."""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import PENDING, op, query, text_error

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
            },
            [
                query("task", {"type": "string", "format": "uuid"}, "Only this task's events"),
                query("test", {"type": "string"}, "Only events of tasks of this test type"),
                query("kind", {"type": "string"}, "Only events of this kind"),
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "description": "Resume after this event id",
                    "schema": {"type": "string"},
                },
            ],
            tags=["events"],
            **{PENDING: True},
        )
    }
}
