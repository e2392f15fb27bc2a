"""``GET /pscheduler/openapi.json``: the OpenAPI 3.1 document of every route of this node.

The document is assembled from the fragments in pscheduler/api/openapi_fragments.  An
operation marked pending (its route is being added elsewhere) is served only once the
application routes it, so the document never advertises a route the node does not have.
"""

from __future__ import annotations

import re

from flask import Blueprint, Flask, current_app, request

from pscheduler import openapi
from pscheduler.api.openapi_fragments import FAMILIES, INFO
from pscheduler.api.openapi_fragments.common import PENDING
from pscheduler.api.responses import ok_json

bp = Blueprint("openapi", __name__)

_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
_AUTOMATIC = {"HEAD", "OPTIONS"}


def is_static(rule) -> bool:
    """Routes that serve files (Flask's ``static`` endpoints, ``<path:...>`` variables) are
    not API operations and are left out of the document."""
    endpoint = rule.endpoint
    return endpoint == "static" or endpoint.endswith(".static") or "<path:" in rule.rule


def rule_paths(rule: str) -> list[str]:
    """The OpenAPI paths a Flask rule stands for: ``<name>`` becomes ``{name}`` and an
    ``any(a, b)`` variable becomes one path per alternative."""
    paths = [""]
    position = 0
    for match in _VARIABLE.finditer(rule):
        literal = rule[position : match.start()]
        if match.group("converter") == "any":
            choices = [c.strip().strip("'\"") for c in match.group("args").split(",")]
            paths = [p + literal + c for p in paths for c in choices]
        else:
            paths = [p + literal + "{" + match.group("name") + "}" for p in paths]
        position = match.end()
    return [p + rule[position:] for p in paths]


def shape(path: str) -> str:
    """A path with its variable names erased, to compare routes and documents."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def routed_operations(app: Flask) -> dict[tuple[str, str], str]:
    """(method, path shape) -> Flask rule, for every API route of the application."""
    found = {}
    for rule in app.url_map.iter_rules():
        if is_static(rule):
            continue
        for method in sorted((rule.methods or set()) - _AUTOMATIC):
            for path in rule_paths(rule.rule):
                found[(method.lower(), shape(path))] = f"{method} {rule.rule}"
    return found


def document_for(app: Flask) -> dict:
    """The document with pending operations the application does not route left out."""
    routed = routed_operations(app)

    def keep(path: str, method: str, operation: dict) -> bool:
        return not operation.get(PENDING) or (method, shape(path)) in routed

    document = openapi.prune(openapi.build(FAMILIES, INFO), keep)
    openapi.strip_extension(document, PENDING)
    return document


@bp.get("/openapi.json")
def serve():
    document = current_app.extensions.get("pscheduler.openapi")
    if document is None:
        document = current_app.extensions["pscheduler.openapi"] = document_for(current_app)
    return ok_json({**document, "servers": [{"url": request.url_root.rstrip("/")}]})
