"""The Flask application factory: used the same way by gunicorn, the tests and the dev server.

Views are thin: parse the request, call one domain function, turn its result or typed error
into a response.  Everything lives under ``/pscheduler/``.
"""

from __future__ import annotations

import errno
import logging
import re

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from pscheduler.api.responses import text
from pscheduler.config import Config
from pscheduler.db import Database, DatabaseTimeout, DatabaseUnavailable, StorageFull
from pscheduler.errors import BadRequest, DomainError
from pscheduler.limits import LimitFile
from pscheduler.logs import Throttle
from pscheduler.node import storage
from pscheduler.plugins import PluginFailure

log = logging.getLogger(__name__)

MAX_API = 6
MAX_BODY = 1024 * 1024
# Up to this much of a too-large body is read before the 413, so a client that sends it all
# sees the answer rather than a reset; a Content-Length beyond it gets the 413 at once.
DRAIN_LIMIT = 16 * MAX_BODY
_SLASHES = re.compile(r"//+")
# Seconds a request waits for a free pooled connection (every one busy) before its 503.
API_WAIT_FOR_CONNECTION = 2.0


class _CollapseSlashes:
    """Leads fetch ``/pscheduler//api`` and ``//tools``: treat runs of slashes as one."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if "//" in path:
            environ["PATH_INFO"] = _SLASHES.sub("/", path)
        return self.app(environ, start_response)


def _refuse_large_bodies():
    """413 for bodies over MAX_BODY.

    A plausible body is read to the end first so the client sees the answer rather than a
    connection reset in the middle of its upload; an impossible Content-Length (beyond
    DRAIN_LIMIT, or announced with no body behind it) is answered at once.  Chunked bodies
    have no length: ``MAX_CONTENT_LENGTH`` makes werkzeug stop reading them at MAX_BODY.
    """
    length = request.content_length
    if length is None or length <= MAX_BODY:
        return None  # chunked bodies are cut at MAX_CONTENT_LENGTH as they are read
    too_large = text(413, f"Request body too large (at most {MAX_BODY} bytes)")
    too_large.headers["Connection"] = "close"
    if length > DRAIN_LIMIT:
        return too_large
    stream = request.environ.get("wsgi.input")
    remaining = length
    while stream is not None and remaining > 0:
        chunk = stream.read(min(65536, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
    return too_large


def _refuse_unstorable_query():
    """NUL cannot reach the database (or a tool's command line): 400 for any query value
    or name that holds one, before any view runs."""
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            # Raised, not returned: /m1/ answers it in its own error shape.
            raise BadRequest(f"Invalid query parameter {name!r}: NUL characters are not allowed")
    return None


def _check_api_level():
    raw = request.args.get("api")
    if raw is None:
        return None
    try:
        level = int(raw)
    except ValueError:
        return text(400, f"Invalid API value '{raw}': Invalid API value {raw}: Invalid integer.")
    if level > MAX_API:
        return text(501, f"No API above {MAX_API} is supported")
    return None


_throttle = Throttle(60.0)


def _storage_full(state_dir: str, exc: Exception):
    """507 naming the full file system (logged once a minute: every request hits it)."""
    message = storage.full_message(state_dir)
    _throttle.log(log, logging.ERROR, "full", "Disk full: %s (%s)", message, exc)
    return text(507, f"Insufficient storage: {message}.", headers={"Retry-After": "30"})


def _register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return text(exc.status, exc.message or "Request failed")

    @app.errorhandler(DatabaseUnavailable)
    def database_down(exc: DatabaseUnavailable):
        state_dir = app.extensions["pscheduler.config"].state_dir
        if isinstance(exc, StorageFull) or storage.is_full(state_dir):
            return _storage_full(state_dir, exc)
        _throttle.log(log, logging.WARNING, "db", "%s", exc)
        why = (
            "the database did not answer in time"
            if isinstance(exc, DatabaseTimeout)
            else "the database cannot be reached"
        )
        return text(
            503, f"Service unavailable: {why}; try again shortly.", headers={"Retry-After": "5"}
        )

    @app.errorhandler(OSError)
    def os_error(exc: OSError):
        if exc.errno == errno.ENOSPC:
            return _storage_full(app.extensions["pscheduler.config"].state_dir, exc)
        return unexpected(exc)

    @app.errorhandler(PluginFailure)
    def plugin_failure(exc: PluginFailure):
        return text(500, f"A plugin failed: {exc}")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code == 404:
            return text(404, "Resource not found.")
        if code == 405:
            allow = exc.get_headers()
            headers = {k: v for k, v in allow if k.lower() == "allow"}
            return text(405, f"{request.method} not allowed on this resource", headers=headers)
        if code == 413:
            too_large = text(413, f"Request body too large (at most {MAX_BODY} bytes)")
            too_large.headers["Connection"] = "close"  # the rest of the body was not read
            return too_large
        return text(code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("Unexpected error serving %s %s", request.method, request.path)
        return text(500, "Internal problem; see system logs.")


def create_app(config: Config | None = None, db: Database | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions["pscheduler.config"] = config
    app.extensions["pscheduler.db"] = db or Database(
        config.dsn or "",
        "pscheduler-api",
        statement_timeout=config.api_db_timeout,
        lock_timeout=config.api_db_lock_timeout,
        connect_timeout=config.api_db_connect_timeout,
        wait_for_connection=API_WAIT_FOR_CONNECTION,
    )
    app.extensions["pscheduler.limits"] = LimitFile(config.limits)
    app.url_map.strict_slashes = True
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY + 1  # chunked bodies too (args.body_bytes)
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY
    app.before_request(_refuse_large_bodies)
    app.before_request(_check_api_level)
    app.before_request(_refuse_unstorable_query)
    _register_errors(app)

    # Imported here, not at the top: ``pscheduler.api.serve`` imports this package before it
    # sets up Prometheus's multiprocess directory, and the metrics blueprint loads
    # prometheus_client, which reads that setting once, at import.
    from pscheduler.api import (
        catalog,
        control,
        dashboard,
        events,
        limits,
        mesh,
        meta,
        metrics,
        monitor,
        openapi,
        participants,
        runs,
        schedule,
        stat,
        tasks,
    )

    blueprints = (
        meta,
        catalog,
        tasks,
        runs,
        participants,
        schedule,
        stat,
        control,
        limits,
        events,
        metrics,
        dashboard,
        mesh,
        openapi,
    )
    for module in blueprints:
        app.register_blueprint(module.bp, url_prefix="/pscheduler")
    app.register_blueprint(monitor.bp, url_prefix=monitor.PREFIX)  # the monitor spec: /m1/
    app.wsgi_app = _CollapseSlashes(app.wsgi_app)
    return app
