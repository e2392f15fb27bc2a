"""What the plugins offer: enumerations, spec helpers, tool surveys (spec/api.md §2.2)."""

from __future__ import annotations

from typing import Any

from pscheduler import plugins
from pscheduler.errors import BadRequest, NotFound
from pscheduler.hookspecs import PluginError, Test, Tool

KINDS = ("test", "tool", "archiver", "context")


def enumerations(kind: str) -> list[dict]:
    found = plugins.registry().kind(kind)
    return [dict(found[name].enumeration) for name in sorted(found)]


def get(kind: str, name: str) -> Any:
    plugin = plugins.registry().kind(kind).get(name)
    if plugin is None:
        raise NotFound(f'No {kind} "{name}" is available.')
    return plugin


def test(name: str) -> Test:
    return get("test", name)


def tool(name: str) -> Tool:
    return get("tool", name)


def spec_from_args(test_name: str, args: Any) -> dict:
    """Run a test's cli-to-spec; usage text and option errors are a 400 with that text."""
    plugin = test(test_name)
    try:
        spec = plugins.call(plugin, "cli_to_spec", args if args is not None else [])
    except PluginError as exc:
        raise BadRequest(str(exc)) from None
    if not isinstance(spec, dict):
        raise BadRequest("The test's CLI conversion did not produce an object")
    return spec


def spec_is_valid(test_name: str, spec: Any) -> dict:
    try:
        return plugins.spec_is_valid(test(test_name), spec)
    except PluginError as exc:
        return {"valid": False, "error": str(exc)}


def participants(test_name: str, spec: Any) -> dict:
    plugin = test(test_name)
    verdict = spec_is_valid(test_name, spec)
    if not verdict["valid"]:
        raise BadRequest(verdict.get("error") or "Invalid test specification")
    try:
        result = plugins.call(plugin, "participants", spec)
    except PluginError as exc:
        raise BadRequest(str(exc)) from None
    if not isinstance(result, dict) or not isinstance(result.get("participants"), list):
        raise BadRequest("The test did not produce a participant list")
    return result


def tools_for_test(test_name: str) -> list[str]:
    return sorted(
        name
        for name, tool_ in plugins.registry().tools.items()
        if test_name in tool_.enumeration.get("tests", [])
    )


def tool_survey(test_obj: Any) -> list[dict]:
    """Every tool for the test with its can-run verdict, by preference then name."""
    if not isinstance(test_obj, dict) or not isinstance(test_obj.get("type"), str):
        raise BadRequest("The test must be an object with a 'type' string and a 'spec'")
    candidates = [
        t
        for t in plugins.registry().tools.values()
        if test_obj["type"] in t.enumeration.get("tests", [])
    ]
    candidates.sort(key=lambda t: (-int(t.enumeration.get("preference", 0)), t.name))
    return [
        {"can-run": plugins.can_run(t, test_obj), "tool": dict(t.enumeration)} for t in candidates
    ]


def data_is_valid(kind: str, name: str, data: Any) -> dict:
    plugin = get(kind, name)
    try:
        return plugins.data_is_valid(plugin, data)
    except PluginError as exc:
        return {"valid": False, "error": str(exc)}
