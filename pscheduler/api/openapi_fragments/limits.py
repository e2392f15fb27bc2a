"""OpenAPI fragment for GET /limits (pscheduler/api/limits.py, spec/api.md §2.1)."""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import json_body, json_query, op, text_error

PATHS = {
    "/pscheduler/limits": {
        "get": op(
            "What the limit system says of a task-like proposal (rewriting on)",
            {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["passed", "diags"],
                        "properties": {"passed": {"type": "boolean"}, "diags": {"type": "string"}},
                    }
                ),
                "400": text_error("`No proposal provided`, `Invalid JSON: ...`"),
                "422": text_error("`Unable to complete request: ...` (broken limit file)"),
            },
            [
                json_query(
                    "proposal",
                    "A task-like object; may include `run_schedule`",
                    required=True,
                    example={"test": {"type": "idle", "spec": {"duration": "PT1S"}}},
                )
            ],
            tags=["limits"],
        )
    }
}
