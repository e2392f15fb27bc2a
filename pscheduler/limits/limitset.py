"""The limits of a file by name, clones resolved, each entry and its data validated.

A clone ``{name, description, clone, data, invert?}`` takes the source's type and the
source's data deep-merged with its own (its own values win; ``invert`` is not inherited).
"""

from __future__ import annotations

import copy
import traceback
from collections.abc import Callable

from pscheduler.limits.limittypes import TYPES
from pscheduler.limits.schemas import LIMIT_CLONE, LIMIT_PLAIN
from pscheduler.limits.testlimit import Checker, TestLimit
from pscheduler.toolkit import schema_error


def merge(base: dict, over: dict) -> dict:
    """Deep merge of two JSON objects; values of ``over`` win."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class LimitSet:
    def __init__(
        self,
        entries: list[dict],
        error: Callable[[str], Exception],
        test_checker: Checker | None = None,
    ):
        self.limits: dict[str, dict] = {}
        for index, entry in enumerate(entries):
            schema = LIMIT_CLONE if isinstance(entry, dict) and "clone" in entry else LIMIT_PLAIN
            problem = schema_error(schema, entry)
            if problem:
                path, _, why = problem.removeprefix("At ").partition(": ")
                where = f"/limits/{index}" + ("" if path == "/" else path)
                raise error(f"Invalid limit configuration: At {where}: {why}")
            name = entry["name"]
            if name in self.limits:
                raise error(f"Duplicate limit '{name}'")
            if "clone" in entry:
                source = self.limits.get(entry["clone"])
                if source is None:
                    raise error(
                        f"Limit '{name}': Unable to clone undefined limit '{entry['clone']}'"
                    )
                kind, data = source["type"], merge(source["data"], entry["data"])
            else:
                kind, data = entry["type"], entry["data"]
            cls = TYPES.get(kind)
            if cls is None:
                raise error(f"Limit '{name}' has unsupported type '{kind}'")
            problem = schema_error(cls.SCHEMA, data)
            if problem:
                raise error(f"Limit '{name}': Invalid data: {problem}")
            try:
                evaluator = cls(data, test_checker) if cls is TestLimit else cls(data)
            except ValueError as exc:
                raise error(f"Limit '{name}': Invalid data: {exc}") from None
            self.limits[name] = {
                "type": kind,
                "data": data,
                "invert": bool(entry.get("invert", False)),
                "evaluator": evaluator,
            }

    def __contains__(self, name: str) -> bool:
        return name in self.limits

    def check(self, name: str, proposal: dict, check_schedule: bool) -> tuple[bool, list[str]]:
        """(passed, reasons) for one limit, invert applied; exceptions become failures."""
        limit = self.limits[name]
        evaluator = limit["evaluator"]
        if evaluator.checks_schedule and not check_schedule:
            return True, []
        try:
            passed, reasons = evaluator.evaluate(proposal)
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            passed, reasons = False, [f"Limit {name} threw an exception:\n{detail}"]
            if limit["invert"]:
                return False, reasons
        if limit["invert"]:
            return (False, ["Passed but inverted"]) if passed else (True, [])
        return passed, reasons
