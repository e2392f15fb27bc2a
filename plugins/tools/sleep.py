"""``snooze``, ``sleep`` and ``sleepbgm``: the tools that run the idle tests."""

from __future__ import annotations

import datetime as dt

from pscheduler_plugins.common import enumeration

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import duration_to_iso, parse_duration, parse_timestamp


def _duration(test: dict) -> dt.timedelta:
    return parse_duration(test["spec"]["duration"]) + dt.timedelta(seconds=1)


def _can_run(low: float | None, high: float | None):
    def can_run(test: dict) -> dict:
        try:
            seconds = parse_duration(test["spec"]["duration"]).total_seconds()
        except (KeyError, TypeError, ValueError):
            return {"can-run": False, "reasons": ["Missing or invalid duration"]}
        reasons = []
        if low is not None and seconds < low:
            reasons.append(f"Duration must be at least {duration_to_iso(low)}")
        if high is not None and seconds > high:
            reasons.append(f"Duration must be at most {duration_to_iso(high)}")
        return {"can-run": not reasons, **({"reasons": reasons} if reasons else {})}

    return can_run


def _comments(spec: dict) -> str:
    return "\n".join(spec[k] for k in ("starting-comment", "parting-comment") if k in spec)


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    start = parse_timestamp(input["schedule"]["start"])
    if not control.sleep_until(start):
        return {"succeeded": False, "error": "Run was cancelled."}
    slept = parse_duration(spec["duration"])
    if not control.sleep_until(start + slept):
        return {"succeeded": False, "error": "Run was cancelled."}
    result = {"succeeded": True, "result": {"time-slept": duration_to_iso(slept)}}
    comments = _comments(spec)
    if comments:
        result["diags"] = comments
    if control.emit is not None:
        control.emit({"schema": 1, "succeeded": True, "duration": duration_to_iso(slept)})
    return result


def merged_results(test: dict, results: list) -> dict:
    first = results[0] if results else None
    if not isinstance(first, dict) or not first.get("succeeded"):
        error = (first or {}).get("error") if isinstance(first, dict) else None
        return {"schema": 1, "succeeded": False, "error": error or "The run did not succeed"}
    return {"schema": 1, "succeeded": True, "duration": first["result"]["time-slept"]}


def _tool(name: str, description: str, tests: list[str], low, high) -> Tool:
    return Tool(
        enumeration=enumeration(name, description, tests=tests, preference=0),
        duration=_duration,
        run=run,
        can_run=_can_run(low, high),
        merged_results=merged_results,
    )


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        _tool("snooze", "Sleep for short periods", ["idle", "idleex", "idlenorm"], None, 60),
        _tool("sleep", "Sleep for longer periods", ["idle", "idleex", "idlenorm"], 15, 3600),
        _tool("sleepbgm", "Sleep as a background-multi tool", ["idlebgm"], None, 3600),
    ]
