"""Where templates come from: ``psconfig.d/*.json`` in the config dir and remote URLs.

The list of remotes is ``psconfig-remotes.json`` in the config dir (written by ``psconfig
remote add``).  A remote that cannot be fetched or no longer validates keeps the last good copy,
cached in the state dir, so one web server hiccup never deletes a mesh's tasks.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from pscheduler.psconfig import includes, schema

FETCH_TIMEOUT = 20.0


class SourceError(Exception):
    """A template that cannot be read, parsed or validated."""


@dataclass
class Loaded:
    source: str
    template: dict | None
    error: str | None = None
    stale: bool = False  # a remote served from the last good copy
    configure_archives: bool = True
    errors: list[str] = field(default_factory=list)


def template_dir(config_dir: str) -> Path:
    return Path(config_dir) / "psconfig.d"


def remotes_file(config_dir: str) -> Path:
    return Path(config_dir) / "psconfig-remotes.json"


def _cache(state_dir: str, url: str) -> Path:
    return Path(state_dir) / "psconfig-cache" / (hashlib.sha256(url.encode()).hexdigest() + ".json")


def read_text(source: str) -> str:
    """A template's text from a file path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        try:
            response = requests.get(source, timeout=FETCH_TIMEOUT)
        except requests.RequestException as exc:
            raise SourceError(f"{source}: cannot be fetched ({exc.__class__.__name__})") from None
        if response.status_code != 200:
            raise SourceError(f"{source}: HTTP status {response.status_code}")
        return response.text
    try:
        return Path(source).read_text()
    except OSError as exc:
        raise SourceError(f"{source}: {exc.strerror}") from None


def _include_cache(state_dir: str | None) -> str | None:
    return str(Path(state_dir) / "psconfig-cache") if state_dir else None


def parse(
    text: str, source: str, state_dir: str | None = None, offline: bool = False
) -> tuple[dict, list[str]]:
    """The template with its includes merged, validated, and the include warnings; or
    SourceError listing every problem.  ``state_dir`` keeps remote includes' last good copies;
    ``offline`` uses only those (never fetches)."""
    try:
        template = json.loads(text)
    except ValueError as exc:
        raise SourceError(f"{source}: invalid JSON: {exc}") from None
    errors = schema.validate(template, fragment=True)
    if errors:
        raise SourceError(f"{source}: " + "; ".join(errors))
    warnings: list[str] = []
    if template.get("includes"):
        try:
            template, warnings = includes.resolve(
                template, source, read_text, _include_cache(state_dir), offline
            )
        except includes.IncludeError as exc:
            raise SourceError(f"{source}: {exc}") from None
    errors = schema.validate(template)
    if errors:
        raise SourceError(f"{source}: " + "; ".join(errors))
    return template, warnings


def load(
    source: str, state_dir: str | None = None, offline: bool = False
) -> tuple[dict, list[str]]:
    return parse(read_text(source), source, state_dir, offline)


def remotes(config_dir: str) -> list[dict]:
    try:
        data = json.loads(remotes_file(config_dir).read_text())
    except (OSError, ValueError):
        return []
    return [r for r in data if isinstance(r, dict) and isinstance(r.get("url"), str)]


def save_remotes(config_dir: str, items: list[dict]) -> None:
    path = remotes_file(config_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(items, indent=2) + "\n")
    os.replace(tmp, path)


def local_files(config_dir: str) -> list[Path]:
    directory = template_dir(config_dir)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix == ".json" and p.is_file())


def configured(config_dir: str) -> bool:
    """Whether this node has any template (the supervisor starts the agent only then)."""
    return bool(local_files(config_dir) or remotes(config_dir))


def signature(config_dir: str) -> Any:
    """Changes when a local template or the remote list changes (wakes the agent at once)."""
    paths = [*local_files(config_dir), remotes_file(config_dir)]
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            continue
    return tuple(out)


def load_all(config_dir: str, state_dir: str) -> list[Loaded]:
    """Every configured template; a remote that fails falls back to its last good copy."""
    out = []
    for path in local_files(config_dir):
        try:
            template, warnings = load(str(path), state_dir)
            out.append(Loaded(str(path), template, errors=warnings))
        except SourceError as exc:
            out.append(Loaded(str(path), None, str(exc)))
    for remote in remotes(config_dir):
        url = remote["url"]
        archives = bool(remote.get("configure-archives", False))
        cache = _cache(state_dir, url)
        try:
            template, warnings = parse(read_text(url), url, state_dir)
        except SourceError as exc:
            try:
                template = json.loads(cache.read_text())
            except (OSError, ValueError):
                out.append(Loaded(url, None, str(exc), configure_archives=archives))
                continue
            out.append(Loaded(url, template, str(exc), stale=True, configure_archives=archives))
            continue
        # The last good copy is the merged template: it stands alone when includes fail too.
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(template))
        os.replace(tmp, cache)
        out.append(Loaded(url, template, configure_archives=archives, errors=warnings))
    return out


def cached(config_dir: str, state_dir: str) -> list[tuple[str, dict]]:
    """The configured templates without touching the network: local files as they are, remotes
    from their last good copy (for the grid, which must not fetch URLs on a request)."""
    out = []
    for path in local_files(config_dir):
        try:
            out.append((str(path), load(str(path), state_dir, offline=True)[0]))
        except SourceError:
            continue
    for remote in remotes(config_dir):
        try:
            out.append((remote["url"], json.loads(_cache(state_dir, remote["url"]).read_text())))
        except (OSError, ValueError):
            continue
    return out
