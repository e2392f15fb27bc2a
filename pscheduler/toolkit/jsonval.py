"""JSON helpers: loading with comment stripping, schema validation with readable errors,
and sanitising of private (``_``-prefixed) members."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

# Bodies and query JSON from the network: deeper nesting than this is refused with a 400
# (Python's parser and every recursive walk after it would otherwise overflow the stack).
MAX_DEPTH = 100
# NUL cannot be stored by PostgreSQL; a lone surrogate cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def untrusted_problem(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Why a parsed JSON value from the network cannot be accepted, or None.

    Iterative, so it is safe on any depth the parser produced.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                return f"nested deeper than {max_depth} levels"
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    return "a member name holds NUL or a lone surrogate (\\u0000, \\ud800-\\udfff)"
                stack.append((child, depth + 1))
        elif isinstance(item, str) and _UNSTORABLE.search(item):
            return "a string holds NUL or a lone surrogate (\\u0000, \\ud800-\\udfff)"
    return None


def parse_untrusted(text: str | bytes) -> Any:
    """``json.loads`` for text from the network: ValueError("Invalid JSON: ...") for bad
    syntax, too deep a nesting, NUL or lone surrogates."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"Invalid JSON: nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Invalid JSON: {exc}") from exc
    problem = untrusted_problem(value)
    if problem:
        raise ValueError(f"Invalid JSON: {problem}")
    return value


def _strip_comments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_comments(v) for k, v in value.items() if not k.startswith("#")}
    if isinstance(value, list):
        return [_strip_comments(v) for v in value]
    return value


def json_load(text: str | bytes, max_schema: int | None = None, untrusted: bool = False) -> Any:
    """Parse JSON, dropping ``#`` comment members; ValueError("Invalid JSON: ...") when bad.

    ``untrusted``: text from the network, checked as ``parse_untrusted`` does.
    """
    if untrusted:
        value = parse_untrusted(text)
    else:
        try:
            value = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Invalid JSON: {exc}") from exc
    value = _strip_comments(value)
    if max_schema is not None and isinstance(value, dict):
        schema = value.get("schema", 1)
        if not isinstance(schema, int) or isinstance(schema, bool):
            raise ValueError("Schema value must be an integer")
        if schema > max_schema:
            raise ValueError(f"Schema version {schema} is not supported (highest is {max_schema})")
    return value


def sanitize(value: Any) -> Any:
    """Replace the value of every member whose name starts with ``_`` by None, at any depth."""
    if isinstance(value, dict):
        return {k: (None if k.startswith("_") else sanitize(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [sanitize(v) for v in value]
    return value


def _path(error: jsonschema.ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path)


def schema_error(schema: dict, value: Any) -> str | None:
    """Validate ``value``; None when valid, else ``At /<path>: <problem>`` for the best error."""
    validator_cls = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    message = error.schema.get("x-invalid-message") if isinstance(error.schema, dict) else None
    if message:
        message = message.replace("%s", str(error.instance))
    else:
        message = error.message
    return f"At {_path(error)}: {message}"


def validate_versioned(versions: dict[int, dict], value: Any) -> str | None:
    """Validate an object whose ``schema`` member (default 1) selects one of ``versions``.

    Separate schemas per version rather than ``oneOf`` give errors a person can read.
    """
    if not isinstance(value, dict):
        return "At /: must be an object"
    schema = value.get("schema", 1)
    if not isinstance(schema, int) or isinstance(schema, bool):
        return "At /schema: must be an integer"
    highest = max(versions)
    if schema not in versions:
        if schema > highest:
            return f"Schema version {schema} is not supported (highest is {highest})."
        return f"At /schema: unknown schema version {schema}"
    return schema_error(versions[schema], value)
