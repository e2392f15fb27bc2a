"""``passthrough``: runs the noop test by handing its data back."""

from __future__ import annotations

import datetime as dt
import random

from pscheduler_plugins.common import enumeration

from pscheduler.hookspecs import Tool, hookimpl


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    if random.random() < float(spec.get("fail", 0.0)):
        return {"succeeded": False, "error": "Randomly-induced failure", "diags": None}
    return {"succeeded": True, "result": {"data": spec.get("data")}}


def merged_results(test: dict, results: list) -> dict:
    first = results[0] if results else None
    if not isinstance(first, dict) or not first.get("succeeded"):
        error = first.get("error") if isinstance(first, dict) else "No result"
        return {"schema": 1, "succeeded": False, "error": error}
    return {"schema": 1, "succeeded": True, "data": first["result"]["data"]}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "passthrough", "Pass data through for the noop test", tests=["noop"], preference=0
            ),
            duration=lambda test: dt.timedelta(seconds=1),
            run=run,
            merged_results=merged_results,
        )
    ]
