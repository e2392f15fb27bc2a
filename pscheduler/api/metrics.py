"""``/pscheduler/metrics`` in the Prometheus exposition format, and the request timer."""

from __future__ import annotations

import threading
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


# A scrape merges every process's metric files and runs a dozen queries (~5 ms of CPU, the
# dearest request of the API): one per second per process is made, the others reuse it.
# Prometheus scrapes every 15 s or so; dashboards polling it many times a second get the same.
SCRAPE_TTL = 1.0
_scraped: tuple[float, bytes, str] | None = None
_scrape_lock = threading.Lock()


def _exposition() -> tuple[bytes, str]:
    global _scraped
    with _scrape_lock:  # concurrent scrapes wait for the one being made, then share it
        if _scraped is None or time.monotonic() - _scraped[0] >= SCRAPE_TTL:
            body, content_type = metrics.exposition(context.db(), context.config().state_dir)
            _scraped = (time.monotonic(), body, content_type)
        return _scraped[1], _scraped[2]


@doc(
    "Prometheus metrics (pscheduler_*)",
    {200: {"description": "Exposition format", "content": {"text/plain": {}}}},
)
@bp.get("/metrics")
def scrape():
    body, content_type = _exposition()
    return Response(body, status=200, content_type=content_type)
