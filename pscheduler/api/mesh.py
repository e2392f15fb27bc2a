"""``/pscheduler/mesh``: the node's pSConfig templates and the mesh grid of their results."""

from __future__ import annotations

from flask import Blueprint, request

from pscheduler.api import context
from pscheduler.api.args import arg_json
from pscheduler.api.doc import doc, json_body, query, text_error
from pscheduler.api.responses import ok_json
from pscheduler.errors import BadRequest, NotFound
from pscheduler.psconfig import grid, sources

bp = Blueprint("mesh", __name__)

_STRINGS = {"type": "array", "items": {"type": "string"}}
_CELL = {
    "type": "object",
    "required": ["source", "destination", "status"],
    "properties": {
        "source": {"type": "string"},
        "destination": {"type": "string"},
        "lead": {"type": "string"},
        "status": {
            "enum": ["ok", "warning", "critical", "failed", "missing", "pending", "unreachable"]
        },
        "values": {"type": "object"},
        "summary": {"type": "string"},
        "run": {"type": ["string", "null"]},
        "task": {"type": ["string", "null"]},
        "time": {"type": ["string", "null"]},
    },
}
_GRID = {
    "type": "object",
    "required": ["grids", "thresholds"],
    "properties": {
        "template": {"type": "integer"},
        "source": {"type": "string"},
        "group": {"type": ["string", "null"]},
        "time": {"type": "string"},
        "thresholds": {"type": "object"},
        "errors": _STRINGS,
        "grids": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "task": {"type": "string"},
                    "test": {"type": "string"},
                    "group": {"type": "string"},
                    "sources": _STRINGS,
                    "destinations": _STRINGS,
                    "cells": {"type": "array", "items": _CELL},
                },
            },
        },
    },
}
_TEMPLATES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["template", "source", "groups"],
        "properties": {
            "template": {"type": "integer"},
            "source": {"type": "string"},
            "groups": _STRINGS,
        },
    },
}


def _templates() -> list[tuple[str, dict]]:
    config = context.config()
    return sources.cached(config.config_dir, config.state_dir)


@doc(
    "The node's pSConfig templates (local files and remote copies) and their groups",
    {200: json_body(_TEMPLATES)},
)
@bp.get("/mesh")
def mesh_templates():
    return ok_json(
        [
            {"template": i, "source": source, "groups": grid.groups(template)}
            for i, (source, template) in enumerate(_templates())
        ]
    )


@doc(
    "Sources x destinations per task of a template group, with each pair's latest run",
    {
        200: json_body(_GRID),
        400: text_error("Bad template number or thresholds"),
        404: text_error("No such template or group"),
    },
    [
        query("template", {"type": "integer", "minimum": 0}, "Template number (default 0)"),
        query("group", {"type": "string"}, "Group name (default: every group)"),
        query(
            "thresholds",
            {"type": "string"},
            'JSON: {"rtt": {"metric": "loss", "warning": 0.01, "critical": 0.1}}',
        ),
    ],
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
