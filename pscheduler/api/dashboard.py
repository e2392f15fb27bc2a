"""``/pscheduler/dashboard/``: the web dashboard, static files shipped in the package.

The pages are plain HTML, CSS and JavaScript that draw with SVG and talk only to this node's
public API and event stream, so they work on an isolated network (no CDN) and add no server
code beyond handing out the files.
"""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, redirect, send_from_directory

from pscheduler.api.doc import doc, html_text

bp = Blueprint("dashboard", __name__)

STATIC = str(files("pscheduler.api") / "static" / "dashboard")


@doc(
    "Redirects to the dashboard (`dashboard/`)",
    {
        308: {
            "description": "Permanent redirect",
            "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
        }
    },
)
@bp.get("/dashboard")
def dashboard_bare():
    return redirect("dashboard/", code=308)


@doc("The dashboard: schedule, runs and results in a browser", {200: html_text("An HTML page")})
@bp.get("/dashboard/")
def dashboard_index():
    return _send("index.html")


@bp.get("/dashboard/<path:name>")
def dashboard_file(name: str):
    return _send(name)


def _send(name: str):
    response = send_from_directory(STATIC, name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
