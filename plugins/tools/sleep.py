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


def _slept(spec: dict, slept: dt.timedelta) -> dict:
    result = {"succeeded": True, "result": {"time-slept": duration_to_iso(slept)}}
    comments = _comments(spec)
    if comments:
        result["diags"] = comments
    return result


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    start = parse_timestamp(input["schedule"]["start"])
    if not control.sleep_until(start):
        return {"succeeded": False, "error": "Run was cancelled."}
    slept = parse_duration(spec["duration"])
    if not control.sleep_until(start + slept):
        return {"succeeded": False, "error": "Run was cancelled."}
    if control.emit is not None:
        control.emit({"schema": 1, "succeeded": True, "duration": duration_to_iso(slept)})
    return _slept(spec, slept)


def timed(input: dict) -> tuple[dt.datetime, dict]:
    """An idle run only waits: the runner holds a timer for it instead of a thread in ``run``."""
    spec = input["test"]["spec"]
    slept = parse_duration(spec["duration"])
    return parse_timestamp(input["schedule"]["start"]) + slept, _slept(spec, slept)


def run_bgm(input: dict, control) -> dict:
    """Like ``run``, but with an ``interval`` a background-multi run reports once per interval
    (each report becomes a run of its own), then the remainder at the end."""
    spec = input["test"]["spec"]
    if "interval" not in spec or control.emit is None:
        return run(input, control)
    start = parse_timestamp(input["schedule"]["start"])
    total = parse_duration(spec["duration"])
    step = parse_duration(spec["interval"])
    if not control.sleep_until(start):
        return {"succeeded": False, "error": "Run was cancelled."}
    elapsed = dt.timedelta()
    while step > dt.timedelta() and elapsed + step < total:
        if not control.sleep_until(start + elapsed + step):
            return {"succeeded": False, "error": "Run was cancelled."}
        elapsed += step
        control.emit({"schema": 1, "succeeded": True, "duration": duration_to_iso(step)})
    if not control.sleep_until(start + total):
        return {"succeeded": False, "error": "Run was cancelled."}
    control.emit({"schema": 1, "succeeded": True, "duration": duration_to_iso(total - elapsed)})
    return _slept(spec, total)


def merged_results(test: dict, results: list) -> dict:
    first = results[0] if results else None
    if not isinstance(first, dict) or not first.get("succeeded"):
        error = (first or {}).get("error") if isinstance(first, dict) else None
        return {"schema": 1, "succeeded": False, "error": error or "The run did not succeed"}
    return {"schema": 1, "succeeded": True, "duration": first["result"]["time-slept"]}


def _tool(
    name: str, description: str, tests: list[str], low, high, runner=run, waits=timed
) -> Tool:
    return Tool(
        enumeration=enumeration(name, description, tests=tests, preference=0),
        duration=_duration,
        run=runner,
        can_run=_can_run(low, high),
        merged_results=merged_results,
        timed=waits,
    )


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        _tool("snooze", "Sleep for short periods", ["idle", "idleex", "idlenorm"], None, 60),
        _tool("sleep", "Sleep for longer periods", ["idle", "idleex", "idlenorm"], 15, 3600),
        _tool(
            "sleepbgm",
            "Sleep as a background-multi tool",
            ["idlebgm"],
            None,
            3600,
            runner=run_bgm,
            waits=None,  # its runs report records as they go
        ),
    ]
