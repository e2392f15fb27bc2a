"""Assembles an OpenAPI 3.1 document from fragments kept beside the code they describe.

Domain-free: a fragment is any object (usually a module) with ``PATHS`` (path -> path item)
and optionally ``SCHEMAS`` (name -> JSON Schema for ``components.schemas``).  Two fragments
defining the same operation or schema is an error, not a silent overwrite, so parallel work
on different blueprints cannot hide each other's routes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from typing import Any

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class FragmentConflict(ValueError):
    """Two fragments describe the same operation or component."""


def build(fragments: Iterable[Any], info: dict, servers: list | None = None) -> dict:
    """The merged document; every operation gets a unique ``operationId``."""
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {}
    for fragment in fragments:
        where = getattr(fragment, "__name__", repr(fragment))
        for path, item in getattr(fragment, "PATHS", {}).items():
            target = paths.setdefault(path, {})
            for key, value in copy.deepcopy(item).items():
                if key in target and target[key] != value:
                    raise FragmentConflict(f"{where}: {key.upper()} {path} is already described")
                target[key] = value
        for name, schema in getattr(fragment, "SCHEMAS", {}).items():
            if name in schemas and schemas[name] != schema:
                raise FragmentConflict(f"{where}: schema {name} is already described")
            schemas[name] = copy.deepcopy(schema)
    _name_operations(paths)
    document: dict[str, Any] = {"openapi": "3.1.0", "info": dict(info)}
    if servers:
        document["servers"] = servers
    document["paths"] = dict(sorted(paths.items()))
    document["components"] = {"schemas": dict(sorted(schemas.items()))}
    return document


def operations(document: dict) -> Iterable[tuple[str, str, dict]]:
    """(path, method, operation) for every operation in the document."""
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def prune(document: dict, keep: Callable[[str, str, dict], bool]) -> dict:
    """A copy without the operations ``keep(path, method, operation)`` refuses; path items
    left without operations go too."""
    pruned = copy.deepcopy(document)
    for path in list(pruned["paths"]):
        item = pruned["paths"][path]
        for method in METHODS:
            if method in item and not keep(path, method, item[method]):
                del item[method]
        if not any(m in item for m in METHODS):
            del pruned["paths"][path]
    return pruned


def strip_extension(document: dict, name: str) -> None:
    """Removes an ``x-...`` marker from every operation, in place."""
    for _, _, operation in operations(document):
        operation.pop(name, None)


_SLUG = re.compile(r"[^A-Za-z0-9]+")


def _name_operations(paths: dict) -> None:
    seen: set[str] = set()
    for _, _, operation in _sorted_operations(paths):
        if "operationId" in operation:
            if operation["operationId"] in seen:
                raise FragmentConflict(f"operationId {operation['operationId']} is used twice")
            seen.add(operation["operationId"])
    for path, method, operation in _sorted_operations(paths):
        if "operationId" not in operation:
            base = method + _SLUG.sub("_", path).rstrip("_")
            name, n = base, 2
            while name in seen:
                name, n = f"{base}_{n}", n + 1
            operation["operationId"] = name
            seen.add(name)


def _sorted_operations(paths: dict):
    for path in sorted(paths):
        for method in METHODS:
            if method in paths[path]:
                yield path, method, paths[path][method]
