"""``/pscheduler/mesh``: the node's pSConfig templates and the mesh grid of their results."""

from __future__ import annotations

from flask import Blueprint, request

from pscheduler.api import context
from pscheduler.api.args import arg_json
from pscheduler.api.responses import ok_json
from pscheduler.errors import BadRequest, NotFound
from pscheduler.psconfig import grid, sources

bp = Blueprint("mesh", __name__)


def _templates() -> list[tuple[str, dict]]:
    config = context.config()
    return sources.cached(config.config_dir, config.state_dir)


@bp.get("/mesh")
def mesh_templates():
    return ok_json(
        [
            {"template": i, "source": source, "groups": grid.groups(template)}
            for i, (source, template) in enumerate(_templates())
        ]
    )


@bp.get("/mesh/grid")
def mesh_grid():
    templates = _templates()
    raw = request.args.get("template", "0")
    try:
        index = int(raw)
    except ValueError:
        raise BadRequest("template must be the number of a configured template") from None
    if not 0 <= index < len(templates):
        raise NotFound("No such template")
    source, template = templates[index]
    group = request.args.get("group") or None
    if group is not None and group not in grid.groups(template):
        raise NotFound(f"No point-to-point group {group!r} in the template")
    thresholds = arg_json("thresholds")
    if thresholds is not None and not (
        isinstance(thresholds, dict) and all(isinstance(v, dict) for v in thresholds.values())
    ):
        raise BadRequest('thresholds must be {"test": {"metric", "warning", "critical"}}')
    body = grid.build(template, group, thresholds)
    body["template"] = index
    body["source"] = source
    return ok_json(body)
