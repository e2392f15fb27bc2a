"""``failer``: a test aid that succeeds, fails, asks for retries or crashes at random."""

from __future__ import annotations

import random
import time

from pscheduler_plugins.common import DURATION, enumeration

from pscheduler.hookspecs import Archiver, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration

# ``fail`` and ``retry`` are any number, as the original's data-is-valid has them (a value
# past 1 simply always fails or always retries).
_COMMON = {"delay": DURATION, "fail": {"type": "number"}, "retry": {"type": "number"}}
DATA_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "minimum": 1, "maximum": 2},
        **_COMMON,
        "badly": {"type": "boolean"},
    },
    "additionalProperties": False,
    "if": {"not": {"properties": {"schema": {"const": 2}}, "required": ["schema"]}},
    "then": {"not": {"required": ["badly"]}},
}


class FailedBadly(RuntimeError):
    """Raised on purpose so the daemon records a permanent failure."""


def archive(record: dict) -> dict:
    data = record.get("data") or {}
    if "delay" in data:
        time.sleep(parse_duration(data["delay"]).total_seconds())
    if random.random() >= float(data.get("fail", 0.5)):
        return {"succeeded": True}
    if data.get("badly"):
        raise FailedBadly("Failed badly, as asked")
    if random.random() < float(data.get("retry", 0.5)):
        return {"succeeded": False, "error": "Failure requested; retrying", "retry": "PT10S"}
    return {"succeeded": False, "error": "Failure requested"}


@hookimpl
def pscheduler_archivers() -> list[Archiver]:
    return [
        Archiver(
            enumeration=enumeration("failer", "Fail archiving at random (for testing)"),
            data_schema=DATA_SCHEMA,
            archive=archive,
        )
    ]
