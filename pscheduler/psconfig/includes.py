"""A template's ``includes``: other templates (URLs or file paths) merged into it.

As the original pSConfig agent does, every object table of an included template
(``addresses``, ``address-classes``, ``archives``, ``contexts``, ``groups``, ``hosts``,
``schedules``, ``subtasks``, ``tasks``, ``tests``) is merged into the including one, and a
name that already exists is kept from the including template (the included copy is skipped
with a warning when it differs; an identical copy is silent).  Unlike the original, includes
nest (an included template's own ``includes`` are merged too, in order and depth-first, the
first definition met winning) up to ``MAX_DEPTH`` levels, a template that includes itself (directly or
through others) is an error rather than a loop, and a relative path or URL is taken relative
to the template that names it.  An include that cannot be fetched, parsed or checked is an
error naming it; with a cache directory, a remote include that fails keeps its last good copy
(as a remote template does) and the failure becomes a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlparse

from pscheduler.psconfig import schema

MAX_DEPTH = 4
TABLES = (
    "addresses",
    "address-classes",
    "archives",
    "contexts",
    "groups",
    "hosts",
    "schedules",
    "subtasks",
    "tasks",
    "tests",
)


class IncludeError(Exception):
    """An include that cannot be used (names the include and the template naming it)."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def locate(include: str, parent: str) -> str:
    """``include`` as an absolute path or URL, relative ones taken from ``parent``'s place."""
    if include.startswith("file://"):
        include = urlparse(include).path
    if is_url(include) or os.path.isabs(include):
        return include
    if is_url(parent):
        return urljoin(parent, include)
    return str((Path(parent).parent / include).resolve())


def _cache_path(cache_dir: str, url: str) -> Path:
    return Path(cache_dir) / (hashlib.sha256(url.encode()).hexdigest() + ".include.json")


def _fetch(
    source: str,
    read: Callable[[str], str],
    cache_dir: str | None,
    offline: bool,
    warnings: list[str],
) -> str:
    """The include's text; a URL falls back to its last good copy when there is one."""
    cached = _cache_path(cache_dir, source) if cache_dir and is_url(source) else None
    if offline and cached is not None:
        try:
            return cached.read_text()
        except OSError:
            raise IncludeError(f"include {source}: no copy fetched yet") from None
    try:
        return read(source)
    except Exception as exc:  # noqa: BLE001 - the reader's own error says why
        if cached is not None:
            try:
                text = cached.read_text()
            except OSError:
                text = None
            if text is not None:
                warnings.append(f"include {source}: {exc}; using its last good copy")
                return text
        raise IncludeError(f"include {source}: {exc}") from None


def _parse(text: str, source: str) -> dict:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise IncludeError(f"include {source}: invalid JSON: {exc}") from None
    errors = schema.validate(data, fragment=True)
    if errors:
        raise IncludeError(f"include {source}: " + "; ".join(errors))
    return data


def _merge(into: dict, other: dict, source: str, warnings: list[str]) -> None:
    for table in TABLES:
        for name, value in (other.get(table) or {}).items():
            mine = into.setdefault(table, {})
            if name not in mine:
                mine[name] = value
            elif mine[name] != value:
                warnings.append(f"include {source}: {table}.{name} already defined; kept the first")


def resolve(
    template: dict,
    source: str,
    read: Callable[[str], str],
    cache_dir: str | None = None,
    offline: bool = False,
) -> tuple[dict, list[str]]:
    """``template`` with its includes merged in (without ``includes``), and the warnings.

    ``read`` returns a source's text (raising with a reason when it cannot); ``offline`` uses
    only cached copies of URLs (for the grid, which must not fetch on a request).
    """
    warnings: list[str] = []
    merged = {k: v for k, v in template.items() if k != "includes"}

    def walk(node: dict, where: str, chain: tuple[str, ...]) -> None:
        for include in node.get("includes") or []:
            target = locate(include, where)
            if target in chain:
                loop = " -> ".join([*chain, target])
                raise IncludeError(f"include {target}: includes itself ({loop})")
            if len(chain) > MAX_DEPTH:
                raise IncludeError(
                    f"include {target}: nested deeper than {MAX_DEPTH} levels (from {where})"
                )
            text = _fetch(target, read, cache_dir, offline, warnings)
            child = _parse(text, target)
            if cache_dir and is_url(target) and not offline:
                path = _cache_path(cache_dir, target)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(text)
                os.replace(tmp, path)
            _merge(merged, child, target, warnings)
            walk(child, target, (*chain, target))

    walk(template, source, (locate(source, source) if not is_url(source) else source,))
    return merged, warnings
