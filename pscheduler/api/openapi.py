"""``GET /pscheduler/openapi.json``: the OpenAPI 3.1 document of every route of this node.

The document is collected from the application itself: each route of the url_map, its view
function and the ``@doc`` descriptions on it (pscheduler/api/doc.py), with the component
schemas of pscheduler/api/schemas.py.  ``problems()`` lists what does not fit (a route
without a description, a description no route uses, two for one operation); the coverage
test requires it to be empty.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, current_app, request

from pscheduler.api import doc as api_doc
from pscheduler.api.doc import doc, json_body
from pscheduler.api.responses import ok_json
from pscheduler.api.schemas import SCHEMAS

bp = Blueprint("openapi", __name__)

INFO = {
    "title": "pScheduler API",
    "version": "6",
    "description": (
        "Routes under /pscheduler are wire-compatible with perfSONAR pScheduler (API level 6):"
        " errors are plain text ending with a newline.  The Panoptes monitor routes under /m1"
        ' answer errors as JSON `{"errors": [{code, message, detail}]}`.'
    ),
}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PSCHEDULER = "/pscheduler/"
_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
_AUTOMATIC = {"HEAD", "OPTIONS"}
_SLUG = re.compile(r"[^A-Za-z0-9]+")


def is_static(rule) -> bool:
    """Routes that serve files (Flask's ``static`` endpoints, ``<path:...>`` variables) are
    not API operations and are left out of the document."""
    endpoint = rule.endpoint
    return endpoint == "static" or endpoint.endswith(".static") or "<path:" in rule.rule


def rule_paths(rule: str) -> list[tuple[str, dict[str, str]]]:
    """The OpenAPI paths a Flask rule stands for, each with the ``any()`` alternatives it
    took: ``<name>`` becomes ``{name}`` and ``<any(a, b):v>`` one path per alternative."""
    paths: list[tuple[str, dict[str, str]]] = [("", {})]
    position = 0
    for match in _VARIABLE.finditer(rule):
        literal = rule[position : match.start()]
        name = match.group("name")
        if match.group("converter") == "any":
            choices = [c.strip().strip("'\"") for c in match.group("args").split(",")]
            paths = [(p + literal + c, {**took, name: c}) for p, took in paths for c in choices]
        else:
            paths = [(p + literal + "{" + name + "}", took) for p, took in paths]
        position = match.end()
    return [(p + rule[position:], took) for p, took in paths]


def _rename_variables(path: str, operation: dict) -> tuple[str, str]:
    """The path with its variables named as the operation's path parameters, which are listed
    in the order of the rule's variables (``{task}`` for ``<task_uuid>``: views keep their
    Python names, the document keeps the names its links use)."""
    variables = re.findall(r"\{([^}]*)\}", path)
    names = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"]
    if len(names) != len(variables):
        return path, f"path parameters {names} do not match the rule's variables {variables}"
    renamed = iter(names)
    return re.sub(r"\{[^}]*\}", lambda _: "{" + next(renamed) + "}", path), ""


def operations(document: dict) -> Iterable[tuple[str, str, dict]]:
    """(path, method, operation) for every operation in the document."""
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _collect(app: Flask) -> tuple[dict[str, dict], list[str]]:
    """The path items of every routed operation, and the problems met on the way."""
    paths: dict[str, dict] = {}
    problems: list[str] = []
    used: set[int] = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if is_static(rule):
            continue
        entries = api_doc.descriptions(app.view_functions[rule.endpoint])
        blueprint = rule.endpoint.rpartition(".")[0] or "app"
        for method in sorted((rule.methods or set()) - _AUTOMATIC):
            for path, choices in rule_paths(rule.rule):
                name = f"{method} {path} ({rule.endpoint})"
                found = sorted(
                    (e for e in entries if e.applies(method.lower(), choices)),
                    key=lambda e: -e.specificity,
                )
                if not found:
                    problems.append(f"{name}: no @doc on the view")
                    continue
                if len(found) > 1 and found[0].specificity == found[1].specificity:
                    problems.append(f"{name}: two @doc descriptions apply")
                used.add(id(found[0]))
                operation = copy.deepcopy(found[0].operation)
                path, mismatch = _rename_variables(path, operation)
                if mismatch:
                    problems.append(f"{name}: {mismatch}")
                operation.setdefault("tags", [blueprint])
                if path.startswith(_PSCHEDULER):
                    operation = api_doc.conventions(operation)
                item = paths.setdefault(path, {})
                if method.lower() in item:
                    problems.append(f"{name}: routed twice")
                item[method.lower()] = operation
    for endpoint, view in sorted(app.view_functions.items()):
        for entry in api_doc.descriptions(view):
            if id(entry) not in used:
                what = entry.method or "any method"
                problems.append(f"{endpoint}: @doc for {what} {dict(entry.when)} matches no route")
                used.add(id(entry))  # a view under two endpoints is reported once
    problems += _name_operations(paths)
    return paths, problems


def _name_operations(paths: dict) -> list[str]:
    """Gives every operation without one a unique ``operationId``; explicit ids used twice
    are a problem (links refer to them)."""
    problems, seen = [], set()
    ordered = [(p, m, paths[p][m]) for p in sorted(paths) for m in METHODS if m in paths[p]]
    for path, method, operation in ordered:
        if "operationId" in operation:
            if operation["operationId"] in seen:
                problems.append(f"{method.upper()} {path}: operationId used twice")
            seen.add(operation["operationId"])
    for path, method, operation in ordered:
        if "operationId" not in operation:
            base = method + _SLUG.sub("_", path).rstrip("_")
            name, n = base, 2
            while name in seen:
                name, n = f"{base}_{n}", n + 1
            operation["operationId"] = name
            seen.add(name)
    return problems


def problems(app: Flask) -> list[str]:
    """Routes without a description, descriptions without a route, ambiguities."""
    return _collect(app)[1]


def document_for(app: Flask) -> dict[str, Any]:
    paths, _ = _collect(app)
    return {
        "openapi": "3.1.0",
        "info": dict(INFO),
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": copy.deepcopy(SCHEMAS)},
    }


@doc(
    "This OpenAPI 3.1 document",
    {200: json_body({"type": "object", "required": ["openapi", "paths"]})},
)
@bp.get("/openapi.json")
def serve():
    document = current_app.extensions.get("pscheduler.openapi")
    if document is None:
        document = current_app.extensions["pscheduler.openapi"] = document_for(current_app)
    return ok_json({**document, "servers": [{"url": request.url_root.rstrip("/")}]})
