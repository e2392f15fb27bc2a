"""What the built-in archivers share: schema fragments, versioned validation, the failure
result with its retry from ``retry-policy``, and a thread-safe cache of expiring connections.

Only ``pscheduler.hookspecs`` and ``pscheduler.toolkit`` are imported, as for any plugin.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from pscheduler_plugins.common import CARDINAL, DURATION

from pscheduler.toolkit.iso8601 import parse_duration
from pscheduler.toolkit.jsonval import validate_versioned
from pscheduler.toolkit.retry import retry_after

STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
PORT = {"type": "integer", "minimum": 0, "maximum": 65535}
IP_VERSION = {"type": "integer", "enum": [4, 6]}
RETRY_POLICY = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"attempts": CARDINAL, "wait": DURATION},
        "required": ["attempts", "wait"],
        "additionalProperties": False,
    },
}
JQ_TRANSFORM = {
    "type": "object",
    "properties": {
        "script": {"anyOf": [STRING, {"type": "array", "items": STRING}]},
        "output-raw": BOOLEAN,
        "args": {},
    },
    "required": ["script"],
    "additionalProperties": False,
}


def schema_const(version: int) -> dict:
    return {"type": "integer", "enum": [version]}


def versioned_schema(versions: dict[int, dict]) -> dict:
    """One JSON Schema for every version (for display and for the default validator):
    the ``schema`` member (absent = 1) selects the version's own schema."""
    highest = max(versions)
    branches = []
    for version, schema in sorted(versions.items()):
        selector: dict = {"properties": {"schema": {"const": version}}, "required": ["schema"]}
        if version == 1:
            selector = {"anyOf": [selector, {"not": {"required": ["schema"]}}]}
        branches.append({"if": selector, "then": schema})
    return {
        "type": "object",
        "properties": {"schema": {"type": "integer", "minimum": 1, "maximum": highest}},
        "allOf": branches,
    }


def verdict(error: str | None) -> dict:
    return {"valid": True} if error is None else {"valid": False, "error": error}


def validator(versions: dict[int, dict], extra: Callable[[dict], str | None] | None = None):
    """A ``data_is_valid``: the version's schema, then ``extra`` checks on valid data."""

    def data_is_valid(data: Any) -> dict:
        error = validate_versioned(versions, data)
        if error is None and extra is not None:
            error = extra(data)
        return verdict(error)

    return data_is_valid


def unsupported_schema(data: dict, highest: int) -> dict | None:
    """The archive-time schema re-check of the original (no retry)."""
    schema = data.get("schema", 1)
    if not isinstance(schema, int) or schema > highest:
        return {
            "succeeded": False,
            "error": f"Unsupported schema version {schema}; max is {highest}",
        }
    return None


def failure(record: dict, error: str, retry: bool = True) -> dict:
    """A failed attempt, asking for another one when the data's ``retry-policy`` allows."""
    result: dict = {"succeeded": False, "error": error}
    if retry:
        data = record.get("data") or {}
        wait = retry_after(data.get("retry-policy"), int(record.get("attempts") or 0))
        if wait is not None:
            result["retry"] = wait
    return result


def payload(record: dict) -> str:
    """What gets sent: the (possibly transformed) result as compact JSON text."""
    return json.dumps(record.get("result"), separators=(",", ":"))


def seconds(iso: str | None, default: float) -> float:
    return parse_duration(iso).total_seconds() if iso else default


class ConnectionCache:
    """Connections kept per key until they expire, each used by one thread at a time.

    ``use(key, expires, connect, action)`` runs ``action(connection)`` under the key's lock,
    connecting first when there is no live connection.  When ``action`` raises, the
    connection is closed and forgotten (the next call reconnects) and the exception goes to
    the caller, which turns it into a failure result.
    """

    def __init__(self, close: Callable[[Any], None]):
        self._close = close
        self._lock = threading.Lock()
        self._entries: dict[Any, list] = {}  # key -> [lock, connection, expires_at]
        self.connects = 0  # connections opened so far, for logs and tests

    def _entry(self, key: Any) -> list:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = [threading.Lock(), None, 0.0]
            return entry

    def _drop(self, entry: list) -> None:
        connection, entry[1] = entry[1], None
        if connection is not None:
            try:
                self._close(connection)
            except Exception:  # noqa: BLE001 - a broken connection may fail to close too
                pass

    def use(
        self, key: Any, expires: float, connect: Callable[[], Any], action: Callable[[Any], Any]
    ):
        entry = self._entry(key)
        with entry[0]:
            if entry[1] is not None and time.monotonic() >= entry[2]:
                self._drop(entry)
            if entry[1] is None:
                entry[1] = connect()
                with self._lock:
                    self.connects += 1
                entry[2] = time.monotonic() + expires
            try:
                return action(entry[1])
            except BaseException:
                self._drop(entry)
                raise

    def clear(self) -> None:
        """Close every cached connection (tests, shutdown)."""
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            with entry[0]:
                self._drop(entry)
