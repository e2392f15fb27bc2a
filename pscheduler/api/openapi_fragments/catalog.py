"""OpenAPI fragment for the plugin catalogue (pscheduler/api/catalog.py, spec/api.md §2.2)."""

from __future__ import annotations

from pscheduler.api.openapi_fragments.common import (
    URL,
    boolean,
    json_body,
    json_query,
    op,
    path,
    text_error,
)

TAGS = ["catalog"]
_ENUM = {"$ref": "#/components/schemas/Enumeration"}
_EXPANDED = boolean("expanded", "Enumerations with `href` instead of URLs")
_LISTING = json_body(
    {"type": "array", "items": {"anyOf": [URL, _ENUM]}},
    "Plugin URLs, or their enumerations with `expanded`",
)
_VALIDITY = json_body(
    {
        "type": "object",
        "required": ["valid"],
        "properties": {"valid": {"type": "boolean"}, "error": {"type": ["string", "null"]}},
    },
    "The verdict (200 even when invalid)",
)
_NOT_AVAILABLE = text_error('`No test "<name>" is available.` (or tool, archiver, context)')
_EXAMPLES = {"test": "idle", "tool": "sleep", "archiver": "bitbucket", "context": "changenothing"}


def _name(kind: str) -> dict:
    return path("name", {"type": "string", "minLength": 1}, f"{kind} name", _EXAMPLES[kind])


_NAME = _name("test")

SCHEMAS = {
    "Enumeration": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "version": {"type": "string"},
            "maintainer": {"type": "object"},
            "scheduling-class": {"enum": ["background", "background-multi", "exclusive", "normal"]},
            "tests": {"type": "array", "items": {"type": "string"}},
            "preference": {"type": "integer"},
            "href": URL,
        },
    },
    "CanRun": {
        "type": "object",
        "required": ["can-run", "tool"],
        "properties": {
            "can-run": {
                "type": "object",
                "required": ["can-run"],
                "properties": {
                    "can-run": {"type": "boolean"},
                    "reasons": {"type": "array", "items": {"type": "string"}},
                },
            },
            "tool": _ENUM,
        },
    },
}

_TEST_EXAMPLE = {"type": "idle", "spec": {"schema": 1, "duration": "PT1S"}}


def _listing(summary: str) -> dict:
    return {"get": op(summary, {"200": _LISTING}, [_EXPANDED], tags=TAGS)}


def _one(kind: str) -> dict:
    return {
        "get": op(
            f"One {kind} plugin's enumeration",
            {"200": json_body(_ENUM), "404": _NOT_AVAILABLE},
            [_name(kind)],
            tags=TAGS,
        )
    }


def _data_is_valid(kind: str, what: str) -> dict:
    return {
        "get": op(
            f"Validate {kind} data against the plugin",
            {
                "200": _VALIDITY,
                "400": text_error(f"`No {what} data provided` or invalid JSON"),
                "404": _NOT_AVAILABLE,
            },
            [_name(kind), json_query("data", f"The {kind} data", required=True, example={})],
            tags=TAGS,
        )
    }


PATHS = {
    "/pscheduler/tests": _listing("Test plugins"),
    "/pscheduler/archivers": _listing("Archiver plugins"),
    "/pscheduler/contexts": _listing("Context plugins"),
    "/pscheduler/tools": {
        "get": op(
            "Tool plugins, or (with `test`) which tools can run a test",
            {
                "200": json_body(
                    {
                        "type": "array",
                        "items": {"anyOf": [URL, _ENUM, {"$ref": "#/components/schemas/CanRun"}]},
                    },
                    "URLs or enumerations; with `test`: at api >= 6 every tool's can-run"
                    " verdict, below 6 the enumerations of the tools that can",
                ),
                "400": text_error("`Invalid JSON: ...`"),
            },
            [
                _EXPANDED,
                json_query("test", '`{"type": ..., "spec": ...}`', example=_TEST_EXAMPLE),
            ],
            tags=TAGS,
        )
    },
    "/pscheduler/tests/{name}": _one("test"),
    "/pscheduler/tools/{name}": _one("tool"),
    "/pscheduler/archivers/{name}": _one("archiver"),
    "/pscheduler/contexts/{name}": _one("context"),
    "/pscheduler/tests/{name}/spec": {
        "get": op(
            "Test spec from command-line arguments (the test's cli-to-spec)",
            {
                "200": json_body({"type": "object"}),
                "400": text_error("Bad `args`, or the plugin's usage / error text"),
                "404": _NOT_AVAILABLE,
            },
            [
                _NAME,
                json_query(
                    "args",
                    "Array of command-line strings",
                    example=["--duration", "PT1S"],
                ),
            ],
            tags=TAGS,
        )
    },
    "/pscheduler/tests/{name}/spec/is-valid": {
        "get": op(
            "Validate a test spec (text that is not JSON gets `valid: false` too)",
            {
                "200": _VALIDITY,
                "400": text_error("`No test spec provided`"),
                "404": _NOT_AVAILABLE,
            },
            [
                _NAME,
                json_query("spec", "The test spec", required=True, example=_TEST_EXAMPLE["spec"]),
            ],
            tags=TAGS,
        )
    },
    "/pscheduler/tests/{name}/tools": {
        "get": op(
            "Tools that implement the test (unknown test: `[]`)",
            {"200": _LISTING},
            [_NAME, _EXPANDED],
            tags=TAGS,
        )
    },
    "/pscheduler/tests/{name}/participants": {
        "get": op(
            "Participants a spec involves (element 0 is the lead)",
            {
                "200": json_body(
                    {
                        "type": "object",
                        "required": ["participants"],
                        "properties": {
                            "participants": {
                                "type": "array",
                                "items": {"type": ["string", "null"]},
                            },
                            "null-reason": {"type": "string"},
                        },
                    }
                ),
                "400": text_error("`No test spec provided`, invalid JSON or the plugin's error"),
                "404": _NOT_AVAILABLE,
            },
            [
                _NAME,
                json_query("spec", "The test spec", required=True, example=_TEST_EXAMPLE["spec"]),
            ],
            tags=TAGS,
        )
    },
    "/pscheduler/archivers/{name}/data-is-valid": _data_is_valid("archiver", "archive"),
    "/pscheduler/contexts/{name}/data-is-valid": _data_is_valid("context", "context"),
}
