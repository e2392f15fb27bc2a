"""GET /limits?proposal=: what the limit system says of a task-like proposal."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from pscheduler.api import context
from pscheduler.api.args import arg_json
from pscheduler.api.responses import ok_json
from pscheduler.errors import BadRequest, Unprocessable
from pscheduler.limits import LimitConfigError
from pscheduler.toolkit.jsonval import sanitize

bp = Blueprint("limits", __name__)


@bp.get("/limits")
def evaluate():
    if "proposal" not in request.args:
        raise BadRequest("No proposal provided")
    proposal = arg_json("proposal")
    if not isinstance(proposal, dict):
        raise BadRequest("The proposal must be a JSON object")
    try:
        verdict = current_app.extensions["pscheduler.limits"].process(
            proposal, context.hints(), rewrite=True, prioritize=False
        )
    except LimitConfigError as exc:
        raise Unprocessable(f"Unable to complete request: {exc}") from None
    return ok_json(sanitize({"passed": verdict.passed, "diags": verdict.diags}))
