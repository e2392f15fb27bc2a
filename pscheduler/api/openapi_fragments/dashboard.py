"""OpenAPI fragment for the dashboard page (pscheduler/api/dashboard.py).

Its files (``/dashboard/<path:name>``) are static assets, not API operations: left out.
"""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import html_text, op

PATHS = {
    "/pscheduler/dashboard": {
        "get": op(
            "Redirects to the dashboard (`dashboard/`)",
            {
                "308": {
                    "description": "Permanent redirect",
                    "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
                }
            },
            tags=["dashboard"],
        )
    },
    "/pscheduler/dashboard/": {
        "get": op(
            "The dashboard: schedule, runs and results in a browser",
            {"200": html_text("An HTML page")},
            tags=["dashboard"],
        )
    },
}
