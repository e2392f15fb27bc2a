"""Plugin metadata routes: /tests, /tools, /archivers, /contexts (spec/api.md §2.2)."""

from __future__ import annotations

from flask import Blueprint, request

from pscheduler import catalog
from pscheduler.api.args import arg_boolean, arg_integer, arg_json
from pscheduler.api.responses import base_url, ok_json, root_url
from pscheduler.errors import BadRequest
from pscheduler.toolkit.jsonval import json_load, sanitize

bp = Blueprint("catalog", __name__)

_PLURAL = {"tests": "test", "tools": "tool", "archivers": "archiver", "contexts": "context"}


def _listing(kind: str, items: list[dict], base: str):
    if arg_boolean("expanded"):
        return ok_json(sanitize([{**item, "href": f"{base}/{item['name']}"} for item in items]))
    return ok_json([f"{base}/{item['name']}" for item in items])


@bp.get("/<any(tests, archivers, contexts):plural>")
def listing(plural: str):
    return _listing(_PLURAL[plural], catalog.enumerations(_PLURAL[plural]), base_url())


@bp.get("/tools")
def tools():
    test_obj = arg_json("test")
    if "test" not in request.args:
        return _listing("tool", catalog.enumerations("tool"), base_url())
    survey = catalog.tool_survey(test_obj)
    if (arg_integer("api", 1) or 1) >= 6:
        return ok_json(sanitize(survey))
    return ok_json(sanitize([entry["tool"] for entry in survey if entry["can-run"]["can-run"]]))


@bp.get("/<any(tests, tools, archivers, contexts):plural>/<name>")
def one(plural: str, name: str):
    plugin = catalog.get(_PLURAL[plural], name)
    return ok_json(sanitize({**plugin.enumeration, "href": base_url()}))


@bp.get("/tests/<name>/spec")
def spec(name: str):
    args = arg_json("args", "JSON passed to 'args'")
    return ok_json(catalog.spec_from_args(name, args))


@bp.get("/tests/<name>/spec/is-valid")
def spec_is_valid(name: str):
    catalog.test(name)
    if "spec" not in request.args:
        raise BadRequest("No test spec provided")
    try:
        spec = json_load(request.args["spec"])
    except ValueError as exc:
        # The original hands the text to the plugin, which answers that it is not valid.
        return ok_json({"valid": False, "error": str(exc)})
    return ok_json(catalog.spec_is_valid(name, spec))


@bp.get("/tests/<name>/tools")
def test_tools(name: str):
    names = catalog.tools_for_test(name)
    base = root_url() + "/tools"
    if arg_boolean("expanded"):
        return ok_json([{**catalog.tool(n).enumeration, "href": f"{base}/{n}"} for n in names])
    return ok_json([f"{base}/{n}" for n in names])


@bp.get("/tests/<name>/participants")
def participants(name: str):
    catalog.test(name)
    if "spec" not in request.args:
        raise BadRequest("No test spec provided")
    return ok_json(catalog.participants(name, arg_json("spec")))


@bp.get("/<any(archivers, contexts):plural>/<name>/data-is-valid")
def data_is_valid(plural: str, name: str):
    kind = _PLURAL[plural]
    catalog.get(kind, name)
    if "data" not in request.args:
        raise BadRequest(f"No {'archive' if kind == 'archiver' else 'context'} data provided")
    return ok_json(catalog.data_is_valid(kind, name, arg_json("data")))
