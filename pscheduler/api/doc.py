"""OpenAPI descriptions written on the views they describe.

``@doc(summary, responses, params)`` above a view records one operation on the view function
itself; pscheduler/api/openapi.py collects them through the application's url_map when it
builds the document, so a route and its description change together and the coverage test
(tests/openapi/test_document.py) names any route left undescribed or description left unused.
``method=`` narrows a description to one of the view's methods, ``when=`` to one alternative
of an ``<any(...)>`` variable of its rule.  What every /pscheduler operation shares (``api``
and ``pretty``, the 400/501/503 answers of the request hooks) is added by ``conventions()``
rather than repeated on each view.  Component schemas are in pscheduler/api/schemas.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pscheduler.api.schemas import PAGE_LIMIT, PAGE_OFFSET

#: The view function attribute holding its descriptions.
ATTRIBUTE = "openapi_operations"

View = TypeVar("View", bound=Callable)


@dataclass(frozen=True)
class Described:
    """One operation described on a view, for the methods and alternatives it names."""

    operation: dict
    method: str | None = None
    when: tuple[tuple[str, str], ...] = ()

    def applies(self, method: str, choices: Mapping[str, str]) -> bool:
        return self.method in (None, method) and all(choices.get(k) == v for k, v in self.when)

    @property
    def specificity(self) -> int:
        """A description naming the method or an alternative wins over a general one."""
        return (self.method is not None) + len(self.when)


def doc(
    summary: str,
    responses: Mapping[int | str, dict],
    params: Iterable[dict] = (),
    *,
    body: dict | None = None,
    description: str = "",
    method: str | None = None,
    when: Mapping[str, str] | None = None,
    operation_id: str | None = None,
) -> Callable[[View], View]:
    """Describe the decorated view's operation (see the module docstring)."""
    operation: dict[str, Any] = {"summary": summary}
    if description:
        operation["description"] = description
    if operation_id:
        operation["operationId"] = operation_id
    parameters = list(params)
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = {str(code): answer for code, answer in responses.items()}
    entry = Described(
        operation, method.lower() if method else None, tuple(sorted((when or {}).items()))
    )

    def attach(view: View) -> View:
        view.__dict__.setdefault(ATTRIBUTE, []).append(entry)
        return view

    return attach


def descriptions(view: Callable) -> list[Described]:
    return list(getattr(view, ATTRIBUTE, ()))


# ---------------------------------------------------------------------------- answers


def text_error(description: str) -> dict:
    """A plain-text error body (one line or a few, ending with a newline)."""
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def json_body(
    schema: dict, description: str = "OK", example: Any = None, links: dict | None = None
) -> dict:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    answer: dict[str, Any] = {"description": description, "content": {"application/json": media}}
    if links:
        answer["links"] = links
    return answer


def html_text(description: str, schema: dict | None = None) -> dict:
    """The original's ``ok()`` helper: text with Flask's default text/html type."""
    return {
        "description": description,
        "content": {"text/html": {"schema": schema or {"type": "string"}}},
    }


def json_request(schema: dict, example: Any = None) -> dict:
    """A required JSON request body."""
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"required": True, "content": {"application/json": media}}


OK_TEXT = html_text("`OK`", {"type": "string", "const": "OK\n"})
COUNT_TEXT = html_text("A decimal count and a newline", {"type": "string", "pattern": r"^\d+\n$"})
NOT_FOUND = text_error("`Resource not found.` (or which plugin is not available)")
FORBIDDEN = text_error("`Forbidden` (write access or key check failed)")
TOO_LARGE = text_error("Request body over 1 MiB")

# ---------------------------------------------------------------------------- parameters

_FLAG = {"type": "string", "enum": ["", "true", "yes", "1", "false"]}


def boolean(name: str, description: str) -> dict:
    """The original's boolean parameter: true iff '', true, yes or 1 (any case)."""
    return {
        "name": name,
        "in": "query",
        "description": description + " (true iff present as '', true, yes or 1)",
        "schema": _FLAG,
    }


def query(name: str, schema: dict, description: str = "", required: bool = False) -> dict:
    param: dict[str, Any] = {"name": name, "in": "query", "schema": schema}
    if description:
        param["description"] = description
    if required:
        param["required"] = True
    return param


def json_query(name: str, description: str, required: bool = False, example: Any = None) -> dict:
    """A query parameter that carries JSON text (members named ``#...`` are dropped)."""
    media: dict[str, Any] = {"schema": {}}
    if example is not None:
        media["example"] = example
    param: dict[str, Any] = {
        "name": name,
        "in": "query",
        "description": description + " (JSON text)",
        "content": {"application/json": media},
    }
    if required:
        param["required"] = True
    return param


def path(name: str, schema: dict | None = None, description: str = "", example: Any = None) -> dict:
    param: dict[str, Any] = {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema or {"type": "string"},
    }
    if description:
        param["description"] = description
    if example is not None:
        param["example"] = example
    return param


UUID = {"type": "string", "format": "uuid"}
TASK_PATH = path("task", UUID, "Task UUID")
RUN_PATH = path(
    "run", {"anyOf": [UUID, {"enum": ["first", "next"]}]}, "Run UUID, or `first` / `next`"
)
KEY_PARAM = query("key", {"type": "string"}, "The task's key: unlocks secrets and write access")
DATE_TIME = {"type": "string", "format": "date-time"}


def paging(what: str) -> list[dict]:
    """``limit`` and ``offset`` of a paged list; without ``limit`` the whole list (original)."""
    return [
        query("limit", PAGE_LIMIT, f"At most this many {what} (default: all)"),
        query("offset", PAGE_OFFSET, f"Skip this many {what} first"),
    ]


# ---------------------------------------------------------------------------- /pscheduler

API_PARAM = query(
    "api",
    {"type": "integer", "maximum": 6},
    "API level the client speaks (default 1; above the server's maximum: 501)",
)
PRETTY_PARAM = query("pretty", _FLAG, "Sorted, indented JSON")


def conventions(operation: dict) -> dict:
    """What the request hooks make true of every route under /pscheduler: the ``api`` and
    ``pretty`` parameters, 400/501 for a bad ``api``, 503 while the database is away, 507 while its disk is full
    and 413
    for a body over 1 MiB."""
    params = list(operation.get("parameters", []))
    names = {p.get("name") for p in params}
    params += [p for p in (API_PARAM, PRETTY_PARAM) if p["name"] not in names]
    every = {
        "400": text_error("Bad request (bad `api` value or the route's own checks)"),
        "501": text_error("`No API above 6 is supported`"),
        "503": text_error("The database cannot be reached (with `Retry-After`)"),
        "507": text_error(
            "The file system holding the state dir is full: `Insufficient storage: the file "
            "system ... is full` (with `Retry-After`); the node resumes once space is freed"
        ),
    }
    if "requestBody" in operation:
        every["413"] = TOO_LARGE
    return {**operation, "parameters": params, "responses": {**every, **operation["responses"]}}
