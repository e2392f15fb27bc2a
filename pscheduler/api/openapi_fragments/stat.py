"""OpenAPI fragment for the ``/stat/...`` counters (spec/api.md §2.6).

``/stat/requesters`` lives in the interfaces fragment beside its blueprint.
"""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import (
    COUNT_TEXT,
    DURATION,
    NOT_FOUND,
    PENDING,
    json_body,
    op,
    path,
    query,
    text_error,
)
from pscheduler.toolkit.vocabulary import COUNTED_STATES

TAGS = ["stat"]

_WHEN = {
    "type": "string",
    "description": "ISO 8601 date-time, or +/- an ISO 8601 duration from now",
    "examples": ["-PT1H", "+P1D", "2024-05-01T10:00:00Z"],
}

SCHEMAS = {
    "PauseState": {
        "type": "object",
        "required": ["is_paused"],
        "properties": {
            "is_paused": {"type": "boolean"},
            "infinite": {"type": "boolean"},
            "remaining": DURATION,
        },
    }
}


def _count(summary: str, pending: bool = False, **kw) -> dict:
    operation = op(summary, {"200": COUNT_TEXT}, tags=TAGS, **kw)
    if pending:
        operation[PENDING] = True
    return operation


PATHS = {
    "/pscheduler/stat/control/pause": {
        "get": op(
            "Pause state",
            {"200": json_body({"$ref": "#/components/schemas/PauseState"})},
            tags=TAGS,
        )
    },
    "/pscheduler/stat/runs/{state}": {
        "get": op(
            "Number of runs in a state, filtered on their start time",
            {
                "200": COUNT_TEXT,
                "400": text_error("`Invalid start time '...': expecting ISO 8601 or +/-duration`"),
                "404": NOT_FOUND,
            },
            [
                path("state", {"enum": list(COUNTED_STATES)}),
                query("start", _WHEN),
                query("end", _WHEN),
            ],
            tags=TAGS,
        )
    },
    "/pscheduler/stat/archiving/backlog": {
        "get": _count("Archivings not done whose next attempt is due")
    },
    "/pscheduler/stat/archiving/upcoming": {
        "get": _count("Archivings not done whose next attempt is in the future")
    },
    "/pscheduler/stat/http-queue/backlog": {
        "get": _count("Outgoing HTTP requests never attempted")
    },
    "/pscheduler/stat/http-queue/length": {"get": _count("Outgoing HTTP requests queued")},
}
