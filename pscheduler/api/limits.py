"""GET /limits?proposal=: what the limit system says of a task-like proposal."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from pscheduler.api import context
from pscheduler.api.args import arg_json
from pscheduler.api.doc import doc, json_body, json_query, text_error
from pscheduler.api.responses import ok_json
from pscheduler.api.schemas import closed
from pscheduler.errors import BadRequest, Unprocessable
from pscheduler.limits import LimitConfigError
from pscheduler.toolkit.jsonval import sanitize

bp = Blueprint("limits", __name__)

_VERDICT = closed({"passed": {"type": "boolean"}, "diags": {"type": "string"}})


@doc(
    "What the limit system says of a task-like proposal (rewriting on)",
    {
        200: json_body(_VERDICT),
        400: text_error("`No proposal provided`, `Invalid JSON: ...`"),
        422: text_error("`Unable to complete request: ...` (broken limit file)"),
    },
    [
        json_query(
            "proposal",
            "A task-like object; may include `run_schedule`",
            required=True,
            example={"test": {"type": "idle", "spec": {"duration": "PT1S"}}},
        )
    ],
)
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
