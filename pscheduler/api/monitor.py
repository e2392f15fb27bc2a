"""The Panoptes monitor API at ``/m1/`` (not under /pscheduler/); see spec/panoptes.md.

Every route answers with and without its trailing slash, the spec's table and text disagree on
methods so both are accepted, and every error has the spec's ``{"errors": [...]}`` shape.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from pscheduler.api import context
from pscheduler.api.args import arg_boolean, body_bytes
from pscheduler.api.doc import doc, json_body, path, query
from pscheduler.api.responses import host_url, ok_json, root_url
from pscheduler.api.schemas import INTEGER, STRINGS, closed, ref
from pscheduler.db import DatabaseUnavailable
from pscheduler.errors import DomainError
from pscheduler.monitor import panoptes
from pscheduler.toolkit.jsonval import parse_untrusted

log = logging.getLogger(__name__)

PREFIX = "/m1"
bp = Blueprint("panoptes", __name__)

# Documentation (pscheduler/api/doc.py); the monitor's own error shape, not /pscheduler's.
_ERROR = json_body(ref("MonitorError"), "An error in the Panoptes shape")
_ID = path("id", {"type": "string"}, "Workflow id (a task UUID or a reported workflow's)")
_KEY = query("key", {"type": "string"}, "The key the creation answered with (any address)")
_CREATED = closed(
    {
        "id": {"type": "string", "format": "uuid"},
        "key": {"type": "string", "description": "lets any address write to the workflow"},
    }
)
_WORKFLOW = closed({"workflow": ref("MonitorWorkflow")})
_ACCEPTED = closed({"id": {"type": "string", "format": "uuid"}, "accepted": {"const": True}})
_ADMIN = "Needs `Authorization: Bearer <admin token>` (a local source address is not enough)"


def _error(status: int, message: str, detail: str = "") -> Response:
    body = {"errors": [{"code": status, "message": message, "detail": detail}]}
    return ok_json(body, status=status)


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    return _error(exc.status, exc.message or "Request failed")


@bp.errorhandler(DatabaseUnavailable)
def _database_down(exc: DatabaseUnavailable):
    log.warning("%s", exc)
    response = _error(503, "Service unavailable", "The database cannot be reached; retry shortly.")
    response.headers["Retry-After"] = "5"
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return _error(exc.code or 500, exc.name, exc.description or "")


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    log.exception("Unexpected error serving %s %s", request.method, request.path)
    return _error(500, "Internal problem", "See the node's logs.")


@bp.before_app_request
def _routing_errors_as_json():
    """Unknown URLs and methods under /m1/ never reach a view: answer them in our shape."""
    exc = request.routing_exception
    if exc is None or not (request.path == PREFIX or request.path.startswith(PREFIX + "/")):
        return None
    code = getattr(exc, "code", 404) or 404
    if code == 405:
        response = _error(405, f"{request.method} not allowed on this resource")
        allow = dict(exc.get_headers()).get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response
    if code in (301, 308):  # werkzeug's own redirects; keep them
        return None
    return _error(404, "Not found", f"No monitor endpoint at {request.path}")


def _body():
    raw = body_bytes()
    if not raw.strip():
        return None
    try:
        return parse_untrusted(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise panoptes.MonitorError(400, "Invalid JSON: the body is not valid UTF-8") from None
    except ValueError as exc:
        raise panoptes.MonitorError(400, str(exc)) from None


def _route(rule: str, **options):
    """Registers a view at ``rule`` and ``rule/`` (the spec writes trailing slashes)."""

    def register(view):
        bp.add_url_rule(rule, view_func=view, endpoint=view.__name__ + "_bare", **options)
        bp.add_url_rule(rule + "/", view_func=view, endpoint=view.__name__, **options)
        return view

    return register


@doc(
    "Panoptes service info",
    {
        200: json_body(
            closed(
                {
                    "status": {"const": "running"},
                    "version": {"type": "string"},
                    "spec": {"const": "m1"},
                    "timestamps": {"type": "string"},
                }
            )
        ),
        503: _ERROR,
    },
)
@_route("")
def service_info():
    return ok_json(panoptes.service_info())


@doc(
    "Statuses and the run states each stands for",
    {
        200: json_body(
            closed(
                {
                    "statuses": {
                        "type": "array",
                        "items": closed(
                            {
                                "name": {"type": "string"},
                                "description": {"type": "string"},
                                "run_states": STRINGS,
                            }
                        ),
                    },
                    "run_states": {"type": "object", "additionalProperties": {"type": "string"}},
                }
            )
        )
    },
)
@_route("/statuses")
def statuses():
    return ok_json(panoptes.statuses())


@doc(
    "Create a reported workflow (optional body or ?name=)",
    {201: json_body(_CREATED), 400: _ERROR},
    [query("name", {"type": "string", "minLength": 1}, "The workflow's name")],
)
@_route("/workflow/create", methods=["GET", "POST"])
def create_workflow():
    body = _body()
    name = body.get("name") if isinstance(body, dict) else None
    name = name if name is not None else request.args.get("name")
    created = panoptes.create_workflow(context.db(), name, context.hints()["requester"])
    response = ok_json(created, status=201)
    response.headers["Location"] = f"{host_url()}{PREFIX}/workflow/{created['id']}/"
    return response


@doc(
    "Tasks and reported workflows",
    {
        200: json_body(
            closed(
                {"workflows": {"type": "array", "items": ref("MonitorWorkflow")}, "count": INTEGER}
            )
        )
    },
    method="get",
)
@doc(
    "Delete every reported workflow (tasks stay)",
    {200: json_body(closed({"deleted": INTEGER})), 403: _ERROR, 410: _ERROR},
    description=_ADMIN,
    method="delete",
)
@_route("/workflows", methods=["GET", "DELETE"])
def workflows():
    db = context.db()
    if request.method == "DELETE":
        if not context.admin():
            raise panoptes.MonitorError(403, "Deleting every workflow needs an admin token")
        return ok_json(panoptes.delete_all_workflows(db))
    return ok_json(panoptes.workflows(db))


@doc("One workflow", {200: json_body(_WORKFLOW), 404: _ERROR}, [_ID], method="get")
@doc(
    "Report progress",
    {202: json_body(_ACCEPTED), 400: _ERROR, 403: _ERROR, 404: _ERROR},
    [_ID, _KEY],
    body={"content": {"application/json": {"schema": ref("MonitorUpdate")}}},
    method="post",
)
@doc(
    "Report progress ({message}) or rename ({name})",
    {
        200: json_body(_WORKFLOW, "Renamed"),
        202: json_body(_ACCEPTED, "Progress stored"),
        400: _ERROR,
        403: _ERROR,
        404: _ERROR,
    },
    [_ID, _KEY],
    method="put",
)
@doc(
    "Delete a reported workflow (403 for tasks or while running without ?force)",
    {204: {"description": "Deleted"}, 403: _ERROR, 404: _ERROR},
    [_ID, _KEY],
    method="delete",
)
@_route("/workflow/<wid>", methods=["GET", "POST", "PUT", "DELETE"])
def workflow(wid: str):
    db = context.db()
    if request.method == "GET":
        return ok_json(panoptes.workflow(db, wid))
    panoptes.check_write(
        db, wid, context.hints()["requester"], request.args.get("key"), context.admin()
    )
    if request.method == "DELETE":
        panoptes.delete_workflow(db, wid, force=arg_boolean("force"))
        return Response(status=204)
    body = _body()
    if isinstance(body, dict) and ("message" in body or "msg" in body):
        return ok_json(panoptes.update_workflow(db, wid, body), status=202)
    if request.method == "PUT" and isinstance(body, dict) and "name" in body:
        return ok_json(panoptes.rename_workflow(db, wid, body))
    raise panoptes.MonitorError(
        400,
        'Expecting {"message": {...}, "timestamp": ..., "id": ...} to update'
        ' or (with PUT) {"name": "..."} to rename',
    )


@doc("A workflow's jobs (a task's runs)", {200: json_body(ref("MonitorJobs")), 404: _ERROR}, [_ID])
@_route("/workflow/<wid>/jobs")
def jobs(wid: str):
    return ok_json(panoptes.jobs(context.db(), wid, _pscheduler_root()))


@doc(
    "One job",
    {200: json_body(ref("MonitorJobs")), 404: _ERROR},
    [_ID, path("jobid", {"type": "string"}, "Job id (a run UUID for a task)")],
)
@_route("/workflow/<wid>/job/<jid>")
def job(wid: str, jid: str):
    return ok_json(panoptes.jobs(context.db(), wid, _pscheduler_root(), job_id=jid))


def _pscheduler_root() -> str:
    return root_url()
