"""``curl``: runs the http test, in Python with requests (spec §6.10).

Named ``curl`` for compatibility with the original's tool lists.  Fixed quirks: runs v4 specs
(headers), waits for the start time, adds 1 s of slop to its duration, and a failed fetch
merges to an error object rather than ``null``.  ``ftp:`` is not supported (requests has no
FTP); ``file:`` works within the original's restrictions.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import time
import urllib.parse

import requests
import urllib3
from pscheduler_plugins.common import enumeration, merge_first, seconds_iso, verdict

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

DEFAULT_TIMEOUT = 10.0
FORBIDDEN_DIRS = ("/dev", "/etc", "/media", "/proc", "/run", "/srv", "/sys", "/var")


def _file_reasons(spec: dict, path: str) -> list[str]:
    reasons = []
    parts = path.split("/")
    if "." in parts or ".." in parts:
        reasons.append("File URLs may not contain . or .. components")
    if any(path == d or path.startswith(d + "/") for d in FORBIDDEN_DIRS):
        reasons.append(f"File URLs may not point into {', '.join(FORBIDDEN_DIRS)}")
    if not os.path.isfile(path):
        reasons.append("File URLs must point to a regular file")
    if "parse" in spec or "keep-content" in spec:
        reasons.append("File URLs cannot be used with parse or keep-content")
    return reasons


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = []
    if spec.get("schema", 1) > 4:
        reasons.append(f"Schema version {spec['schema']} is not supported (highest is 4)")
    url = urllib.parse.urlsplit(str(spec.get("url", "")))
    if url.scheme == "file":
        reasons += _file_reasons(spec, urllib.parse.unquote(url.path))
    elif url.scheme not in ("http", "https"):
        reasons.append(f"curl does not support {url.scheme or 'scheme-less'} URLs")
    return verdict(reasons)


def _timeout(spec: dict) -> float:
    return parse_duration(spec["timeout"]).total_seconds() if "timeout" in spec else DEFAULT_TIMEOUT


def duration(test: dict) -> dt.timedelta:
    return dt.timedelta(seconds=_timeout(test["spec"]) + 1)


def pin_version(url: str, version: int | None, headers: dict) -> str:
    """Force an IP version by connecting to an address of that family (Host header kept)."""
    parts = urllib.parse.urlsplit(url)
    if version is None or not parts.hostname:
        return url
    try:
        if ipaddress.ip_address(parts.hostname).version != version:
            raise ValueError(f"{parts.hostname} is not an IPv{version} address")
        return url
    except ValueError as exc:
        if "is not an IPv" in str(exc):
            raise
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    address = socket.getaddrinfo(parts.hostname, parts.port or 80, family, socket.SOCK_STREAM)[0][
        4
    ][0]
    headers.setdefault("Host", parts.netloc.rsplit("@", 1)[-1])
    host = f"[{address}]" if version == 6 else address
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _content(text: str, keep: int | None) -> str:
    return text if not keep else text.encode()[:keep].decode("utf-8", "replace")


def _fetch_file(spec: dict, path: str) -> dict:
    started = time.perf_counter()
    with open(path, "rb") as handle:
        handle.read()
    return {"schema": 1, "succeeded": True, "time": seconds_iso(time.perf_counter() - started)}


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    url = spec["url"]
    headers = dict(spec.get("headers") or {})
    diags = f"GET {url}"
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return {"succeeded": False, "error": "Run was cancelled.", "diags": diags}
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        result = _fetch_file(spec, urllib.parse.unquote(parts.path))
        return {"succeeded": True, "error": None, "diags": diags, "result": result}
    timeout = min(_timeout(spec), max(0.1, control.remaining()))
    started = time.perf_counter()
    try:
        target = pin_version(url, spec.get("ip-version"), headers)
        response = requests.get(
            target, headers=headers, timeout=timeout, verify=False, allow_redirects=True
        )
        text = response.text
    except (requests.RequestException, OSError, ValueError) as exc:
        took = seconds_iso(time.perf_counter() - started)
        return {
            "succeeded": False,
            "error": f"Fetch failed: {exc}",
            "diags": diags,
            "result": {"schema": 1, "succeeded": False, "time": took, "error": str(exc)},
        }
    took = seconds_iso(time.perf_counter() - started)
    ok = 200 <= response.status_code < 300 or bool(spec.get("always-succeed"))
    result: dict = {
        "schema": 2,
        "succeeded": ok,
        "time": took,
        "status": response.status_code,
        "headers": dict(response.headers),
    }
    if "parse" in spec:
        result["found"] = spec["parse"] in text
    if not ok or "keep-content" in spec:
        result["content"] = _content(text, spec.get("keep-content"))
    if not ok:
        result["error"] = f"HTTP status {response.status_code}"
    diags += f"\n{response.status_code} {response.reason}"
    return {"succeeded": ok, "error": result.get("error"), "diags": diags, "result": result}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "curl",
                "Fetch URLs (HTTP, HTTPS, local files) with Python requests",
                tests=["http"],
                preference=0,
            ),
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=merge_first,
        )
    ]
