"""Pieces every /pscheduler fragment shares: the error and body shapes of spec/api.md §0.

``op()`` builds one operation and adds what the global request hooks make true of every
route under /pscheduler: the ``api`` and ``pretty`` query parameters, 400/501 for a bad
``api`` value and 503 while the database is unreachable.
"""

from __future__ import annotations

from typing import Any

#: Marks an operation whose route another branch is adding; the served document leaves it
#: out until the application routes it (see pscheduler/api/openapi.py).
PENDING = "x-pending-route"


def text_error(description: str) -> dict:
    """A plain-text error body (one line or a few, ending with a newline)."""
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def json_body(schema: dict, description: str = "OK", **extra: Any) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema, **extra}},
    }


def html_text(description: str, schema: dict | None = None) -> dict:
    """The original's ``ok()`` helper: text with Flask's default text/html type."""
    return {
        "description": description,
        "content": {"text/html": {"schema": schema or {"type": "string"}}},
    }


OK_TEXT = html_text("`OK`", {"type": "string", "const": "OK\n"})
COUNT_TEXT = html_text("A decimal count and a newline", {"type": "string", "pattern": r"^\d+\n$"})

URL = {"type": "string", "format": "uri"}
URL_LIST = {"type": "array", "items": URL}
TIMESTAMP = {"type": "string", "description": "ISO 8601 date-time"}
DURATION = {"type": "string", "description": "ISO 8601 duration (W/D/H/M/S only)"}

NOT_FOUND = text_error("`Resource not found.` (or which plugin is not available)")
FORBIDDEN = text_error("`Forbidden` (write access or key check failed)")
TOO_LARGE = text_error("Request body over 1 MiB")

API_PARAM = {
    "name": "api",
    "in": "query",
    "description": "API level the client speaks (default 1; above the server's maximum: 501)",
    "schema": {"type": "integer", "maximum": 6},
}
PRETTY_PARAM = {
    "name": "pretty",
    "in": "query",
    "description": "Sorted, indented JSON",
    "schema": {"type": "string", "enum": ["", "true", "yes", "1", "false"]},
}


def boolean(name: str, description: str) -> dict:
    """The original's boolean parameter: true iff '', true, yes or 1 (any case)."""
    return {
        "name": name,
        "in": "query",
        "description": description + " (true iff present as '', true, yes or 1)",
        "schema": {"type": "string", "enum": ["", "true", "yes", "1", "false"]},
    }


def query(name: str, schema: dict, description: str = "", required: bool = False) -> dict:
    param = {"name": name, "in": "query", "schema": schema}
    if description:
        param["description"] = description
    if required:
        param["required"] = True
    return param


def json_query(name: str, description: str, required: bool = False, example: Any = None) -> dict:
    """A query parameter that carries JSON text (members named ``#...`` are dropped)."""
    param = {
        "name": name,
        "in": "query",
        "description": description + " (JSON text)",
        "content": {"application/json": {"schema": {}}},
    }
    if example is not None:
        param["content"]["application/json"]["example"] = example
    if required:
        param["required"] = True
    return param


def path(name: str, schema: dict | None = None, description: str = "", example=None) -> dict:
    param = {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}
    if description:
        param["description"] = description
    if example is not None:
        param["example"] = example
    return param


TASK_PATH = path("task", {"type": "string", "format": "uuid"}, "Task UUID")
RUN_PATH = path(
    "run",
    {"anyOf": [{"type": "string", "format": "uuid"}, {"enum": ["first", "next"]}]},
    "Run UUID, or `first` / `next`",
)
KEY_PARAM = query("key", {"type": "string"}, "The task's key: unlocks secrets and write access")


def op(
    summary: str,
    responses: dict,
    parameters: list | None = None,
    body: dict | None = None,
    description: str = "",
    tags: list[str] | None = None,
    **extra: Any,
) -> dict:
    """One operation under /pscheduler with the global parameters and errors added."""
    operation: dict[str, Any] = {"summary": summary}
    if description:
        operation["description"] = description
    if tags:
        operation["tags"] = tags
    names = {p.get("name") for p in parameters or []}
    params = list(parameters or [])
    params += [p for p in (API_PARAM, PRETTY_PARAM) if p["name"] not in names]
    operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = body
    every = {
        "400": text_error("Bad request (bad `api` value or the route's own checks)"),
        "501": text_error("`No API above 6 is supported`"),
        "503": text_error("The database cannot be reached (with `Retry-After`)"),
    }
    if body is not None:
        every["413"] = TOO_LARGE
    operation["responses"] = {**every, **responses}
    operation.update(extra)
    return operation
