"""The pSConfig template format as a JSON Schema, plus the cross-reference checks a schema
cannot express (a task naming a group that does not exist).  Errors name the path of the bad
field (``tasks.rtt.schedule: ...``) so a template author finds it in a file of hundreds of
lines.  Written from perfSONAR's published pSConfig documentation.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import jsonschema

_META = {"type": "object"}
_NAME = {"type": "string", "minLength": 1}
_DURATION = {
    "type": "string",
    "pattern": r"^P(?!$)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$",
}
_PRIVATE = {"^_": {}}

_ADDRESS_PROPS = {
    "address": _NAME,
    "lead-bind-address": _NAME,
    "pscheduler-address": _NAME,
    "disabled": {"type": "boolean"},
    "no-agent": {"type": "boolean"},
    "contexts": {"type": "array", "items": _NAME},
    "_meta": _META,
}


def _strict(props: dict, required: list[str] | None = None) -> dict:
    out = {
        "type": "object",
        "properties": props,
        "patternProperties": _PRIVATE,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    return out


_LABEL = _strict(_ADDRESS_PROPS, ["address"])
_REMOTE = _strict(
    {**_ADDRESS_PROPS, "labels": {"type": "object", "additionalProperties": _LABEL}},
    ["address"],
)
_ADDRESS = _strict(
    {
        **_ADDRESS_PROPS,
        "host": _NAME,
        "tags": {"type": "array", "items": {"type": "string"}},
        "labels": {"type": "object", "additionalProperties": _LABEL},
        "remote-addresses": {"type": "object", "additionalProperties": _REMOTE},
    },
    ["address"],
)
_SELECTOR = _strict(
    {"name": _NAME, "label": _NAME, "class": _NAME, "disabled": {"type": "boolean"}}
)
_SELECTORS = {"type": "array", "items": _SELECTOR}
_EXCLUDE = _strict(
    {"local-address": _SELECTOR, "target-addresses": _SELECTORS},
    ["local-address", "target-addresses"],
)
_GROUP_COMMON = {
    "type": {"enum": ["mesh", "disjoint", "list"]},
    "default-address-label": _NAME,
    "excludes-self": {"enum": ["host", "address", "disabled"]},
    "excludes": {"type": "array", "items": _EXCLUDE},
    "_meta": _META,
}
_GROUP = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": ["mesh", "disjoint", "list"]}},
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "disjoint"}}},
            "then": _strict(
                {
                    **_GROUP_COMMON,
                    "a-addresses": _SELECTORS,
                    "b-addresses": _SELECTORS,
                    "unidirectional": {"type": "boolean"},
                },
                ["a-addresses", "b-addresses"],
            ),
            "else": _strict({**_GROUP_COMMON, "addresses": _SELECTORS}, ["addresses"]),
        }
    ],
}
_TEST = _strict({"type": _NAME, "spec": {"type": "object"}, "_meta": _META}, ["type", "spec"])
_SCHEDULE = _strict(
    {
        "repeat": _DURATION,
        "slip": _DURATION,
        "sliprand": {"type": "boolean"},
        "max-runs": {"type": "integer", "minimum": 1},
        "repeat-cron": {"type": "string"},
        "start": {"type": "string"},
        "until": {"type": "string"},
        "_meta": _META,
    }
)
_ARCHIVE = _strict(
    {
        "archiver": _NAME,
        "data": {},
        "transform": {"type": "object"},
        "ttl": _DURATION,
        "label": {"type": "string"},
        "schema": {"type": "integer"},
        "_meta": _META,
    },
    ["archiver", "data"],
)
_CONTEXT = _strict({"context": _NAME, "data": {"type": "object"}, "_meta": _META}, ["context"])
_HOST = _strict(
    {
        "archives": {"type": "array", "items": _NAME},
        "tags": {"type": "array", "items": {"type": "string"}},
        "site": {"type": "string"},
        "no-agent": {"type": "boolean"},
        "disabled": {"type": "boolean"},
        "_meta": _META,
    }
)
_TASK = _strict(
    {
        "group": _NAME,
        "test": _NAME,
        "schedule": _NAME,
        "archives": {"type": "array", "items": _NAME},
        "tools": {"type": "array", "items": _NAME},
        "priority": {"type": "integer"},
        "reference": {"type": "object"},
        "disabled": {"type": "boolean"},
        "scheduled-by": {"type": "integer", "minimum": 0},
        "subtasks": {"type": "array"},
        "_meta": _META,
    },
    ["group", "test"],
)


_FILTER_REF = {"$ref": "#/definitions/filter"}
_JQ = {
    "anyOf": [
        {"type": "string"},
        _strict(
            {
                "script": {
                    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
                },
                "args": {},
                "output-raw": {"type": "boolean"},
            },
            ["script"],
        ),
    ]
}
_FILTERS = {
    "address-class": _strict({"type": {}, "class": _NAME}, ["type", "class"]),
    "host": _strict(
        {"type": {}, "no-agent": {"type": "boolean"}, "tag": {"type": "string"}, "jq": _JQ},
        ["type"],
    ),
    "ip-version": _strict({"type": {}, "ip-version": {"enum": [4, 6]}}, ["type", "ip-version"]),
    "jq": _strict({"type": {}, "jq": _JQ}, ["type", "jq"]),
    "netmask": _strict({"type": {}, "netmask": _NAME}, ["type", "netmask"]),
    "and": _strict(
        {"type": {}, "filters": {"type": "array", "items": _FILTER_REF}}, ["type", "filters"]
    ),
    "or": _strict(
        {"type": {}, "filters": {"type": "array", "items": _FILTER_REF}}, ["type", "filters"]
    ),
    "not": _strict({"type": {}, "filter": _FILTER_REF}, ["type", "filter"]),
    "tag": _strict({"type": {}, "tag": {"type": "string"}}, ["type", "tag"]),
}
_FILTER = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": list(_FILTERS)}},
    "allOf": [
        {"if": {"properties": {"type": {"const": kind}}}, "then": schema}
        for kind, schema in _FILTERS.items()
    ],
}
_ADDRESS_CLASS = _strict(
    {
        "data-source": _strict(
            {"type": {"enum": ["current-config", "requesting-agent"]}}, ["type"]
        ),
        "match-filter": _FILTER_REF,
        "exclude-filter": _FILTER_REF,
        "_meta": _META,
    },
    ["data-source"],
)


def _table(item: dict) -> dict:
    return {"type": "object", "additionalProperties": item}


SCHEMA: dict = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "pSConfig template",
    **_strict(
        {
            "addresses": _table(_ADDRESS),
            "address-classes": _table(_ADDRESS_CLASS),
            "groups": _table(_GROUP),
            "tests": _table(_TEST),
            "schedules": _table(_SCHEDULE),
            "archives": _table(_ARCHIVE),
            "contexts": _table(_CONTEXT),
            "hosts": _table(_HOST),
            "tasks": _table(_TASK),
            "includes": {"type": "array", "items": _NAME},
            "subtasks": {"type": "object"},
            "_meta": _META,
        },
        ["addresses", "groups", "tests", "tasks"],
    ),
    "definitions": {"filter": _FILTER},
}
# An included template (or one before its includes are merged) may hold any part of a mesh.
FRAGMENT_SCHEMA: dict = {k: v for k, v in SCHEMA.items() if k != "required"}

_VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
_FRAGMENT_VALIDATOR = jsonschema.Draft7Validator(FRAGMENT_SCHEMA)


def path_text(path) -> str:
    """``tasks.rtt.archives[0]`` from a jsonschema path (the root is ``(template)``)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(template)"


def _leaf_errors(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    if error.context:
        return [leaf for sub in error.context for leaf in _leaf_errors(sub)]
    return [error]


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        extra = [e for e in extra if not e.startswith("_")]
        return f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}"
    if error.validator == "pattern" and error.schema.get("pattern") == _DURATION["pattern"]:
        return f"{error.instance!r} is not an ISO 8601 duration"
    return error.message


def _references(template: dict) -> list[str]:
    errors = []

    def check(path: str, kind: str, name: Any) -> None:
        if isinstance(name, str) and name not in (template.get(kind) or {}):
            singular = {"addresses": "address", "address-classes": "address class"}.get(
                kind, kind[:-1]
            )
            errors.append(f"{path}: no {singular} named {name!r}")

    def selectors(path: str, items: Any) -> None:
        for i, sel in enumerate(items or []):
            if isinstance(sel, dict) and "name" in sel:
                check(f"{path}[{i}].name", "addresses", sel["name"])
                label = sel.get("label")
                addr = (template.get("addresses") or {}).get(sel["name"]) or {}
                if label and label not in (addr.get("labels") or {}):
                    errors.append(
                        f"{path}[{i}].label: address {sel['name']!r} has no label {label!r}"
                    )
            elif isinstance(sel, dict) and "class" in sel:
                check(f"{path}[{i}].class", "address-classes", sel["class"])
                if "label" in sel:
                    errors.append(f"{path}[{i}].label: a class selector has no label")
            elif isinstance(sel, dict):
                errors.append(f"{path}[{i}]: an address selector needs a 'name' or a 'class'")

    def filters(path: str, flt: Any) -> None:
        if not isinstance(flt, dict):
            return
        if flt.get("type") == "address-class":
            check(f"{path}.class", "address-classes", flt.get("class"))
        for i, sub in enumerate(flt.get("filters") or []):
            filters(f"{path}.filters[{i}]", sub)
        if "filter" in flt:
            filters(f"{path}.filter", flt["filter"])
        if flt.get("type") == "netmask":
            try:
                ipaddress.ip_network(flt.get("netmask"), strict=False)
            except ValueError:
                errors.append(f"{path}.netmask: {flt.get('netmask')!r} is not an IP network")

    classes = template.get("address-classes") or {}
    for name, cls in classes.items():
        for key in ("match-filter", "exclude-filter"):
            filters(f"address-classes.{name}.{key}", cls.get(key))
    for name in classes:
        loop = _class_loop(classes, name, (name,))
        if loop:
            errors.append(f"address-classes.{name}: refers to itself ({' -> '.join(loop)})")

    for name, addr in (template.get("addresses") or {}).items():
        if addr.get("host"):
            check(f"addresses.{name}.host", "hosts", addr["host"])
        for i, ctx in enumerate(addr.get("contexts") or []):
            check(f"addresses.{name}.contexts[{i}]", "contexts", ctx)
    for name, group in (template.get("groups") or {}).items():
        for key in ("addresses", "a-addresses", "b-addresses"):
            selectors(f"groups.{name}.{key}", group.get(key))
        for i, excl in enumerate(group.get("excludes") or []):
            selectors(f"groups.{name}.excludes[{i}].local-address", [excl["local-address"]])
            selectors(f"groups.{name}.excludes[{i}].target-addresses", excl["target-addresses"])
    for name, host in (template.get("hosts") or {}).items():
        for i, arch in enumerate(host.get("archives") or []):
            check(f"hosts.{name}.archives[{i}]", "archives", arch)
    for name, task in (template.get("tasks") or {}).items():
        check(f"tasks.{name}.group", "groups", task.get("group"))
        check(f"tasks.{name}.test", "tests", task.get("test"))
        if "schedule" in task:
            check(f"tasks.{name}.schedule", "schedules", task["schedule"])
        for i, arch in enumerate(task.get("archives") or []):
            check(f"tasks.{name}.archives[{i}]", "archives", arch)
    return errors


def _class_refs(flt: Any) -> list[str]:
    if not isinstance(flt, dict):
        return []
    out = [flt["class"]] if flt.get("type") == "address-class" and "class" in flt else []
    for sub in [*(flt.get("filters") or []), flt.get("filter")]:
        out += _class_refs(sub)
    return out


def _class_loop(classes: dict, name: str, chain: tuple[str, ...]) -> tuple[str, ...] | None:
    """The chain of address-class filters that leads back to a class already on it."""
    cls = classes.get(name) or {}
    for ref in _class_refs(cls.get("match-filter")) + _class_refs(cls.get("exclude-filter")):
        if ref in chain:
            if ref == chain[0]:
                return (*chain, ref)
            continue  # a loop elsewhere: reported for the classes on it
        found = _class_loop(classes, ref, (*chain, ref))
        if found:
            return found
    return None


def validate(template: Any, fragment: bool = False) -> list[str]:
    """Every problem in the template as ``path: message``; an empty list means it is usable.

    ``fragment`` checks only the shape of what is there (an included template, or one whose
    includes are not merged yet): no required tables, no cross-references.
    """
    if not isinstance(template, dict):
        return ["(template): a pSConfig template is a JSON object"]
    errors = []
    validator = _FRAGMENT_VALIDATOR if fragment else _VALIDATOR
    for error in sorted(validator.iter_errors(template), key=lambda e: list(map(str, e.path))):
        for leaf in _leaf_errors(error):
            text = f"{path_text(leaf.absolute_path)}: {_message(leaf)}"
            if text not in errors:
                errors.append(text)
    if fragment:
        return errors
    return errors or _references(template)
