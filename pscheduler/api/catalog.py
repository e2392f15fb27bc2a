"""Plugin metadata routes: /tests, /tools, /archivers, /contexts (spec/api.md §2.2)."""

from __future__ import annotations

from flask import Blueprint, request

from pscheduler import catalog
from pscheduler.api.args import arg_boolean, arg_integer, arg_json
from pscheduler.api.doc import boolean, doc, json_body, json_query, path, text_error
from pscheduler.api.responses import base_url, ok_json, root_url
from pscheduler.api.schemas import URL, ref
from pscheduler.errors import BadRequest
from pscheduler.toolkit.jsonval import json_load, sanitize

bp = Blueprint("catalog", __name__)

_PLURAL = {"tests": "test", "tools": "tool", "archivers": "archiver", "contexts": "context"}

# Documentation (pscheduler/api/doc.py): one description per plugin kind of a rule.
_EXPANDED = boolean("expanded", "Enumerations with `href` instead of URLs")
_LISTING = json_body(
    {"type": "array", "items": {"anyOf": [URL, ref("Enumeration")]}},
    "Plugin URLs, or their enumerations with `expanded`",
)
_VALIDITY = json_body(ref("Validity"), "The verdict (200 even when invalid)")
_NOT_AVAILABLE = text_error('`No test "<name>" is available.` (or tool, archiver, context)')
_EXAMPLE_NAME = {
    "test": "idle",
    "tool": "sleep",
    "archiver": "bitbucket",
    "context": "changenothing",
}
_TEST = {"type": "idle", "spec": {"schema": 1, "duration": "PT1S"}}
_SPEC = json_query("spec", "The test spec", required=True, example=_TEST["spec"])


def _name(kind: str) -> dict:
    return path("name", {"type": "string", "minLength": 1}, f"{kind} name", _EXAMPLE_NAME[kind])


def _each_kind(plurals: tuple[str, ...], describe):
    """``describe(plural, kind)`` -> @doc for each alternative of the rule's ``<plural>``."""

    def apply(view):
        for plural in plurals:
            view = describe(plural, _PLURAL[plural])(view)
        return view

    return apply


def _listing(kind: str, items: list[dict], base: str):
    if arg_boolean("expanded"):
        return ok_json(sanitize([{**item, "href": f"{base}/{item['name']}"} for item in items]))
    return ok_json([f"{base}/{item['name']}" for item in items])


@_each_kind(
    ("tests", "archivers", "contexts"),
    lambda plural, kind: doc(
        f"{kind.title()} plugins", {200: _LISTING}, [_EXPANDED], when={"plural": plural}
    ),
)
@bp.get("/<any(tests, archivers, contexts):plural>")
def listing(plural: str):
    return _listing(_PLURAL[plural], catalog.enumerations(_PLURAL[plural]), base_url())


@doc(
    "Tool plugins, or (with `test`) which tools can run a test",
    {
        200: json_body(
            {"type": "array", "items": {"anyOf": [URL, ref("Enumeration"), ref("CanRun")]}},
            "URLs or enumerations; with `test`: at api >= 6 every tool's can-run verdict,"
            " below 6 the enumerations of the tools that can",
        ),
        400: text_error("`Invalid JSON: ...`"),
    },
    [_EXPANDED, json_query("test", '`{"type": ..., "spec": ...}`', example=_TEST)],
)
@bp.get("/tools")
def tools():
    test_obj = arg_json("test")
    if "test" not in request.args:
        return _listing("tool", catalog.enumerations("tool"), base_url())
    survey = catalog.tool_survey(test_obj)
    if (arg_integer("api", 1) or 1) >= 6:
        return ok_json(sanitize(survey))
    return ok_json(sanitize([entry["tool"] for entry in survey if entry["can-run"]["can-run"]]))


@_each_kind(
    tuple(_PLURAL),
    lambda plural, kind: doc(
        f"One {kind} plugin's enumeration",
        {200: json_body(ref("Enumeration")), 404: _NOT_AVAILABLE},
        [_name(kind)],
        when={"plural": plural},
    ),
)
@bp.get("/<any(tests, tools, archivers, contexts):plural>/<name>")
def one(plural: str, name: str):
    plugin = catalog.get(_PLURAL[plural], name)
    return ok_json(sanitize({**plugin.enumeration, "href": base_url()}))


@doc(
    "Test spec from command-line arguments (the test's cli-to-spec)",
    {
        200: json_body({"type": "object", "description": "The test spec (the test owns it)"}),
        400: text_error("Bad `args`, or the plugin's usage / error text"),
        404: _NOT_AVAILABLE,
    },
    [
        _name("test"),
        json_query("args", "Array of command-line strings", example=["--duration", "PT1S"]),
    ],
)
@bp.get("/tests/<name>/spec")
def spec(name: str):
    args = arg_json("args", "JSON passed to 'args'")
    return ok_json(catalog.spec_from_args(name, args))


@doc(
    "Validate a test spec (text that is not JSON gets `valid: false` too)",
    {
        200: _VALIDITY,
        400: text_error("`No test spec provided`"),
        404: _NOT_AVAILABLE,
    },
    [_name("test"), _SPEC],
)
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


@doc(
    "Tools that implement the test (unknown test: `[]`)",
    {200: _LISTING},
    [_name("test"), _EXPANDED],
)
@bp.get("/tests/<name>/tools")
def test_tools(name: str):
    names = catalog.tools_for_test(name)
    base = root_url() + "/tools"
    if arg_boolean("expanded"):
        return ok_json([{**catalog.tool(n).enumeration, "href": f"{base}/{n}"} for n in names])
    return ok_json([f"{base}/{n}" for n in names])


@doc(
    "Participants a spec involves (element 0 is the lead)",
    {
        200: json_body(
            {
                "type": "object",
                "description": "The test's answer (the test owns it)",
                "required": ["participants"],
                "properties": {
                    "participants": {"type": "array", "items": {"type": ["string", "null"]}},
                    "null-reason": {"type": "string"},
                },
            }
        ),
        400: text_error("`No test spec provided`, invalid JSON or the plugin's error"),
        404: _NOT_AVAILABLE,
    },
    [_name("test"), _SPEC],
)
@bp.get("/tests/<name>/participants")
def participants(name: str):
    catalog.test(name)
    if "spec" not in request.args:
        raise BadRequest("No test spec provided")
    return ok_json(catalog.participants(name, arg_json("spec")))


@_each_kind(
    ("archivers", "contexts"),
    lambda plural, kind: doc(
        f"Validate {kind} data against the plugin",
        {
            200: _VALIDITY,
            400: text_error("`No archive data provided`, `No context data provided` or bad JSON"),
            404: _NOT_AVAILABLE,
        },
        [_name(kind), json_query("data", f"The {kind} data", required=True, example={})],
        when={"plural": plural},
    ),
)
@bp.get("/<any(archivers, contexts):plural>/<name>/data-is-valid")
def data_is_valid(plural: str, name: str):
    kind = _PLURAL[plural]
    catalog.get(kind, name)
    if "data" not in request.args:
        raise BadRequest(f"No {'archive' if kind == 'archiver' else 'context'} data provided")
    return ok_json(catalog.data_is_valid(kind, name, arg_json("data")))
