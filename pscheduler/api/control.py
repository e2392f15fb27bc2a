"""Node administration over the API: pause and resume.

``PUT /pscheduler/control/pause[?duration=PT1H]`` and ``PUT /pscheduler/control/resume``
need an admin token (``Authorization: Bearer <token>``, see ``pscheduler-server token``),
whatever the source address: the node's own archiver and tools send from the host's
addresses too.  On the host, ``pscheduler-server pause|resume`` acts on the database.  Both
answer the pause state as ``GET /pscheduler/stat/control/pause`` does.
"""

from __future__ import annotations

from flask import Blueprint, request

from pscheduler.api import context
from pscheduler.api.doc import FORBIDDEN, doc, json_body, query, text_error
from pscheduler.api.responses import ok_json, text
from pscheduler.api.schemas import DURATION, ref
from pscheduler.errors import BadRequest
from pscheduler.node import status
from pscheduler.toolkit.iso8601 import parse_duration

bp = Blueprint("control", __name__)

_ADMIN = "Needs `Authorization: Bearer <admin token>` (a local source address is not enough)"


@doc(
    "Pause runs, for `duration` or until resumed",
    {200: json_body(ref("PauseState")), 400: text_error("`Invalid duration ...`"), 403: FORBIDDEN},
    [query("duration", DURATION, "How long (default: until resumed)")],
    description=_ADMIN,
)
@bp.put("/control/pause")
def pause():
    if not context.admin():
        return text(403, "Forbidden")
    raw = request.args.get("duration")
    duration = None
    if raw:
        try:
            duration = parse_duration(raw)
        except ValueError:
            raise BadRequest(f"Invalid duration '{raw}': expecting ISO 8601") from None
    status.pause(context.db(), duration)
    return ok_json(status.pause_state(context.db()))


@doc(
    "Resume runs",
    {200: json_body(ref("PauseState")), 403: FORBIDDEN},
    description=_ADMIN,
)
@bp.put("/control/resume")
def resume():
    if not context.admin():
        return text(403, "Forbidden")
    status.resume(context.db())
    return ok_json(status.pause_state(context.db()))
