"""The simple limit types (pass-fail, test-type, jq) and the table of every type.

Each evaluator has ``SCHEMA`` (its data), ``checks_schedule`` and ``evaluate(proposal) ->
(passed, reasons)`` where ``proposal`` is ``{"task": ..., "hints": ...}``.
"""

from __future__ import annotations

from pscheduler.limits.jqscript import JqError, compile_spec
from pscheduler.limits.runschedule import RunDateRange, RunSchedule
from pscheduler.limits.schemas import JQ_TRANSFORM
from pscheduler.limits.testlimit import TestLimit
from pscheduler.limits.urlfetch import UrlFetch


class PassFail:
    SCHEMA = {
        "type": "object",
        "properties": {"pass": {"type": "boolean"}},
        "required": ["pass"],
        "additionalProperties": False,
    }
    checks_schedule = False

    def __init__(self, data: dict):
        self.passes = data["pass"]

    def evaluate(self, proposal: dict) -> tuple[bool, list[str]]:
        return (True, []) if self.passes else (False, ["Forced failure"])


class TestType:
    SCHEMA = {
        "type": "object",
        "properties": {"types": {"type": "array", "items": {"type": "string"}}},
        "required": ["types"],
        "additionalProperties": False,
    }
    checks_schedule = False

    def __init__(self, data: dict):
        self.types = set(data["types"])

    def evaluate(self, proposal: dict) -> tuple[bool, list[str]]:
        kind = (proposal["task"].get("test") or {}).get("type")
        if kind is None:
            return False, ["No type in task"]
        return (True, []) if kind in self.types else (False, ["Test type not in list"])


class Jq:
    """jq on the task: ``true`` passes, a string is the failure reason."""

    SCHEMA = JQ_TRANSFORM
    checks_schedule = False

    def __init__(self, data: dict):
        try:
            self.script = compile_spec(data)
        except JqError as exc:
            raise ValueError(f"Invalid script: {exc}") from None

    def evaluate(self, proposal: dict) -> tuple[bool, list[str]]:
        try:
            result = self.script.first(proposal["task"])
        except JqError as exc:
            return False, [f"Failed to process task: {exc}"]
        if result is True:
            return True, []
        if result is False:
            return False, ["Unspecified reason"]
        if isinstance(result, str):
            return False, [result]
        return False, ["Script returned unusable data"]


TYPES: dict[str, type] = {
    "pass-fail": PassFail,
    "test-type": TestType,
    "jq": Jq,
    "url-fetch": UrlFetch,
    "run-daterange": RunDateRange,
    "run-schedule": RunSchedule,
    "test": TestLimit,
}
