"""Schema fragments and helpers shared by the built-in plugins (pure data, no core imports
beyond the hookspecs and the toolkit)."""

from __future__ import annotations

import datetime as dt

from pscheduler.toolkit.iso8601 import parse_duration

MAINTAINER = {"name": "pscheduler developers", "href": "https://github.com/perfsonar/pscheduler"}

DURATION = {
    "type": "string",
    "pattern": r"^P(?!$)(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$",
    "x-invalid-message": "'%s' is not a valid ISO 8601 duration",
}
HOST = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^\s/]+$"}
URL_HOST_PORT = {
    "type": "string",
    "minLength": 1,
    "pattern": r"^(\[[0-9a-fA-F:.]+\]|[^\s/:\[\]]+)(:\d{1,5})?$",
}
PROBABILITY = {"type": "number", "minimum": 0.0, "maximum": 1.0}
CARDINAL = {"type": "integer", "minimum": 1}
SCHEMA_V1 = {"type": "integer", "enum": [1]}


def seconds(iso: str) -> float:
    return parse_duration(iso).total_seconds()


def participants_from(spec: dict, node_key: str, host_key: str) -> dict:
    """``[node ?? host ?? null]``, with the reason the lead is left to the receiving host."""
    lead = spec.get(node_key) or spec.get(host_key)
    if lead:
        return {"participants": [lead]}
    return {"participants": [None], "null-reason": f"No {host_key} specified"}


def utc(when: str) -> dt.datetime:
    from pscheduler.toolkit.iso8601 import parse_timestamp

    return parse_timestamp(when)
