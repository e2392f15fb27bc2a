"""OpenAPI fragment for the document itself (pscheduler/api/openapi_doc.py)."""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import json_body, op

PATHS = {
    "/pscheduler/openapi.json": {
        "get": op(
            "This OpenAPI 3.1 document",
            {"200": json_body({"type": "object", "required": ["openapi", "paths"]})},
            tags=["node"],
        )
    }
}
