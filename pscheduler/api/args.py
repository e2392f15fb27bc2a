"""Query-parameter parsing with the original's rules and messages (spec/api.md §0.3)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from pscheduler.errors import BadRequest
from pscheduler.toolkit.iso8601 import parse_timestamp, parse_when
from pscheduler.toolkit.jsonval import json_load

_TRUE = ("", "true", "yes", "1")
_MAX_CARDINAL = 2**31 - 1


def arg_boolean(name: str) -> bool:
    value = request.args.get(name)
    return value is not None and value.lower() in _TRUE


def arg_integer(name: str, default: int | None = None) -> int | None:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid {name}: Invalid integer.") from None


def arg_cardinal(name: str, default: int | None = None) -> int | None:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise BadRequest(f"Invalid {name}: Invalid cardinal; expecting integer > 0")
    return min(number, _MAX_CARDINAL)  # PostgreSQL integers stop here; more means "all"


def arg_natural(name: str, default: int = 0) -> int:
    """An integer >= 0 (``offset``): anything else is a 400 naming the parameter."""
    value = request.args.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise BadRequest(f"Invalid {name}: Invalid integer; expecting integer >= 0")
    return min(number, _MAX_CARDINAL)


def arg_datetime(name: str) -> dt.datetime | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise BadRequest(f"Invalid {name}: Invalid ISO8601 date '{value}'") from None


def arg_when(name: str) -> dt.datetime | None:
    """A time as /stat routes take it: ISO 8601 or ``+``/``-`` a duration from now."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return parse_when(value)
    except ValueError:
        raise BadRequest(
            f"Invalid {name} time '{value}': expecting ISO 8601 or +/-duration"
        ) from None


def arg_json(name: str, what: str | None = None) -> Any:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return json_load(value, untrusted=True)
    except ValueError as exc:
        prefix = f"{what}: " if what else ""
        raise BadRequest(f"{prefix}{exc}") from None


def arg_uuid(name: str) -> uuid.UUID | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadRequest(f"Invalid {name} UUID") from None


def body_bytes() -> bytes:
    """The request body, at most ``MAX_CONTENT_LENGTH - 1`` bytes.

    Werkzeug stops reading a chunked body (which has no Content-Length) at the limit and
    hands back what it read; one byte more than allowed means there was more: 413.
    """
    raw = request.get_data(cache=True)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and len(raw) >= limit:
        raise RequestEntityTooLarge()
    return raw


def body_json(max_schema: int | None = None, what: str = "") -> Any:
    """The request body as JSON; non-ASCII is fine here (the original crashed on it)."""
    raw = body_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{what}Body is not valid UTF-8") from None
    try:
        return json_load(text, max_schema=max_schema, untrusted=True)
    except ValueError as exc:
        raise BadRequest(f"{what}{exc}") from None
