"""OpenAPI fragment for the dashboard page (its static assets are not documented)."""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import PENDING, html_text, op

PATHS = {
    "/pscheduler/dashboard/": {
        "get": op(
            "The dashboard: schedule, runs and results in a browser",
            {"200": html_text("An HTML page")},
            tags=["dashboard"],
            **{PENDING: True},
        )
    }
}
