"""``/pscheduler/metrics`` in the Prometheus exposition format, and the request timer."""

from __future__ import annotations

import time

from flask import Blueprint, Response, g, request

from pscheduler.api import context
from pscheduler.api.doc import doc
from pscheduler.node import metrics

bp = Blueprint("metrics", __name__)


@bp.before_app_request
def _start_timer():
    g.pscheduler_request_start = time.perf_counter()


@bp.after_app_request
def _observe(response: Response) -> Response:
    start = g.get("pscheduler_request_start")
    if start is not None:
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        metrics.observe_request(
            request.method, route, response.status_code, time.perf_counter() - start
        )
    return response


@doc(
    "Prometheus metrics (pscheduler_*)",
    {200: {"description": "Exposition format", "content": {"text/plain": {}}}},
)
@bp.get("/metrics")
def scrape():
    body, content_type = metrics.exposition(context.db(), context.config().state_dir)
    return Response(body, status=200, content_type=content_type)
