"""``http``: POST or PUT each result as JSON to a URL; success iff the answer is 2xx.

Sessions (and so their connection pools) are kept per scheme, host, port, source address
and certificate check, and shared by every thread of the archiver.  As in the original,
certificates are not checked unless ``verify-ssl`` is true.  Fixed quirk: the schemas spell
``type`` correctly, so a non-integer ``schema`` is rejected.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import requests
import urllib3
from pscheduler_plugins.archivers._shared import (
    BOOLEAN,
    RETRY_POLICY,
    STRING,
    failure,
    payload,
    schema_const,
    seconds,
    unsupported_schema,
    validator,
    versioned_schema,
)
from pscheduler_plugins.common import DURATION, enumeration

from pscheduler.hookspecs import Archiver, hookimpl
from pscheduler.toolkit.destinations import DestinationRefused, GuardedAdapter

MAX_SCHEMA = 4
DEFAULT_TIMEOUT = 30.0

URL = {
    "type": "string",
    "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/]+",
    "x-invalid-message": "'%s' is not an http or https URL",
}
HEADERS = {"type": "object", "additionalProperties": STRING}

_V1_PROPS = {
    "_url": URL,
    "op": {"type": "string", "enum": ["post", "put"]},
    "bind": STRING,
    "retry-policy": RETRY_POLICY,
}


def _version(version: int, **extra: dict) -> dict:
    required = ["_url"] if version == 1 else ["schema", "_url"]
    return {
        "type": "object",
        "properties": {"schema": schema_const(version), **_V1_PROPS, **extra},
        "required": required,
        "additionalProperties": False,
    }


VERSIONS = {
    1: _version(1),
    2: _version(2, _headers=HEADERS),
    3: _version(3, _headers=HEADERS, **{"verify-ssl": BOOLEAN}),
    4: _version(4, _headers=HEADERS, **{"verify-ssl": BOOLEAN, "timeout": DURATION}),
}


_sessions: dict[tuple, requests.Session] = {}
_sessions_lock = threading.Lock()


def _session(url: str, bind: str | None, verify: bool) -> requests.Session:
    parts = urlsplit(url)
    key = (parts.scheme.lower(), parts.hostname, parts.port, bind, verify)
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            session = requests.Session()
            session.verify = verify
            if not verify:
                # Unchecked certificates are this archiver's documented default, not news.
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            session.trust_env = False  # no proxies from the environment for archiving
            adapter = GuardedAdapter(bind, pool_maxsize=32)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            _sessions[key] = session
        return session


def archive(record: dict) -> dict:
    data = record.get("data") or {}
    bad = unsupported_schema(data, MAX_SCHEMA)
    if bad:
        return bad
    op = data.get("op", "post")
    headers = {k: v for k, v in (data.get("_headers") or {}).items() if v}
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    verify = bool(data.get("verify-ssl", False))
    try:
        timeout = seconds(data.get("timeout"), DEFAULT_TIMEOUT)
        session = _session(data["_url"], data.get("bind"), verify)
        response = session.request(
            op.upper(),
            data["_url"],
            data=payload(record).encode("utf-8"),
            headers=headers,
            timeout=timeout,
        )
    except (requests.RequestException, OSError, ValueError) as exc:
        refused = _refusal(exc)
        if refused is not None:
            return {"succeeded": False, "error": f"Failed to {op} result: {refused}"}
        return failure(record, f"Failed to {op} result: {exc}")
    if 200 <= response.status_code < 300:
        return {"succeeded": True}
    # Everyone may read the run's archivings: the remote body (which may come from a service
    # the archive was aimed at to read it) goes only to the log and to key holders.
    short = f"Failed to {op} result: {response.status_code} {response.reason or ''}".rstrip()
    answer = failure(record, short)
    answer["detail"] = f"{short}: {response.text.strip()[:2000]}"
    return answer


def _refusal(exc: BaseException) -> DestinationRefused | None:
    """The destination policy's refusal somewhere in an exception's chain, if any."""
    seen = 0
    pending: list = [exc]
    while pending and seen < 20:
        item = pending.pop()
        seen += 1
        if isinstance(item, DestinationRefused):
            return item
        pending += [a for a in getattr(item, "args", ()) if isinstance(a, BaseException)]
        for linked in (item.__cause__, item.__context__, getattr(item, "reason", None)):
            if isinstance(linked, BaseException):
                pending.append(linked)
    return None


@hookimpl
def pscheduler_archivers() -> list[Archiver]:
    return [
        Archiver(
            enumeration=enumeration("http", "Send results to an HTTP server with POST or PUT"),
            data_schema=versioned_schema(VERSIONS),
            data_is_valid=validator(VERSIONS),
            archive=archive,
        )
    ]
