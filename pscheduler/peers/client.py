"""All HTTP from this node to other pScheduler nodes (the lead/participant wire protocol).

Only the original's wire protocol is spoken: ``https://<host>/pscheduler/...`` with its query
parameters, so an original node can be a participant and an original lead can task us.
Certificates are self-signed in practice, so verification is off (per request: the
environment's REQUESTS_CA_BUNDLE would override a session setting).  Every call has a short
timeout and every failure is a ``PeerError`` whose text names the host and the reason.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

TIMEOUT = 5.0  # seconds for one request unless the caller says otherwise


class PeerError(Exception):
    """A participant failed us; ``str()`` names the host and why."""

    def __init__(self, host: str, reason: str, status: int | None = None):
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason
        self.status = status


def _tls_context() -> ssl.SSLContext:
    """One client context for every connection, certificates unchecked (see above).

    Left to make its own, urllib3 builds a context per connection and loads the system's CA
    store into it (``load_default_certs``, milliseconds of CPU each); in a 16-node mesh the
    schedulers spent most of their time there.  Ours loads no CA store at all."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_TLS = _tls_context()
# Host pools kept per session: a node in a mesh talks to every other node, and a pool pushed
# out of the cache closes its kept-alive connections (a new TLS handshake per request).
HOST_POOLS = 256


class _BoundAdapter(HTTPAdapter):
    """Connections from one local address (``lead-bind``): participants trust the lead by it."""

    def __init__(self, source: str | None):
        self.source = source
        super().__init__(pool_connections=HOST_POOLS, pool_maxsize=16)

    def init_poolmanager(self, *args, **kwargs):
        if self.source:
            kwargs["source_address"] = (self.source, 0)
        kwargs["ssl_context"] = _TLS
        super().init_poolmanager(*args, **kwargs)


_sessions: dict[str | None, requests.Session] = {}
_lock = threading.Lock()
_calls = [0]


def _session(bind: str | None) -> requests.Session:
    with _lock:
        session = _sessions.get(bind)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxies, no CA bundle from the environment
            adapter = _BoundAdapter(bind)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _sessions[bind] = session
        return session


def bracket(host: str) -> str:
    """``host[:port]`` as a URL authority: a bare IPv6 literal gets brackets."""
    if host.startswith("["):
        return host
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def url(host: str, path: str) -> str:
    return f"https://{bracket(host)}/pscheduler/{path.lstrip('/')}"


def calls_made() -> int:
    """HTTP requests this process has made to other nodes (placement logs report the cost)."""
    return _calls[0]


def request(
    method: str,
    host: str,
    path: str,
    *,
    params: dict | None = None,
    body: Any = None,
    bind: str | None = None,
    timeout: float = TIMEOUT,
    ok: Iterable[int] = (200,),
) -> requests.Response:
    """One request to a participant; PeerError unless the status is in ``ok``."""
    with _lock:
        _calls[0] += 1
    kwargs: dict[str, Any] = {"params": params, "timeout": timeout, "verify": False}
    if body is not None:
        kwargs["data"] = json.dumps(body)
        kwargs["headers"] = {"Content-Type": "application/json"}
    try:
        response = _session(bind).request(method, url(host, path), **kwargs)
    except requests.Timeout:
        raise PeerError(host, f"did not answer within {timeout:g} s") from None
    except requests.ConnectionError as exc:
        raise PeerError(host, f"cannot be reached ({_short(exc)})") from None
    except requests.RequestException as exc:
        raise PeerError(host, _short(exc)) from None
    if response.status_code not in tuple(ok):
        text = response.text.strip()[:500] or response.reason
        raise PeerError(
            host, f"returned status {response.status_code}: {text}", response.status_code
        )
    return response


def _short(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "timed out", "Name or service not known"):
        if marker in text:
            return marker
    return text[:200]


def _json(response: requests.Response, host: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PeerError(host, "returned something that is not JSON") from None


def parallel(hosts: list[str], work: Callable[[str], Any]) -> list[tuple[Any, PeerError | None]]:
    """``work(host)`` for every host at once; per host (value, None) or (None, error)."""
    if not hosts:
        return []

    def guarded(host: str):
        try:
            return work(host), None
        except PeerError as exc:
            return None, exc

    if len(hosts) == 1:
        return [guarded(hosts[0])]
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        return list(pool.map(guarded, hosts))


# ---------------------------------------------------------------------------- task creation


def api_level(host: str, bind: str | None = None) -> int:
    response = request("GET", host, "/api", bind=bind, ok=range(100, 600))
    if response.status_code == 400:
        raise PeerError(host, response.text.strip())
    if response.status_code != 200:
        if response.status_code in (202, 204, 205, 206, 207, 208, 226) or (
            300 <= response.status_code < 500
        ):
            raise PeerError(host, "Host is not running pScheduler")
        raise PeerError(host, f"returned status {response.status_code}: {response.text.strip()}")
    value = _json(response, host)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PeerError(host, f"{host} returned bad API value {value}")
    return value


def survey_tools(host: str, test_obj: dict, bind: str | None = None) -> list[dict]:
    """The participant's tools for the test with verdicts, in its preference order (API 6)."""
    level = api_level(host, bind)
    params = {"test": json.dumps(test_obj), "api": str(min(level, 6))}
    found = _json(request("GET", host, "/tools", params=params, bind=bind), host)
    if not isinstance(found, list):
        raise PeerError(host, "returned a tool list that is not a list")
    if level < 6:
        return [{"can-run": {"can-run": True}, "tool": t} for t in found]
    return found


def post_task(host: str, task_uuid: str, number: int, body: dict, bind: str | None) -> None:
    request(
        "POST",
        host,
        f"/tasks/{task_uuid}",
        params={"participant": str(number)},
        body=body,
        bind=bind,
        timeout=10,
    )


def get_task(host: str, task_uuid: str, bind: str | None) -> dict:
    response = request("GET", host, f"/tasks/{task_uuid}", params={"detail": "true"}, bind=bind)
    return _json(response, host)


def delete_task(host: str, task_uuid: str, key: str | None, bind: str | None) -> None:
    params = {"key": key} if key else None
    request("DELETE", host, f"/tasks/{task_uuid}", params=params, bind=bind, ok=(200, 404))


def post_lead_task(host: str, body: dict, bind: str | None) -> str:
    """Hand a task to the node that leads it (its first participant); returns its task URL."""
    response = request("POST", host, "/tasks", body=body, bind=bind, timeout=30)
    value = _json(response, host)
    if not isinstance(value, str):
        raise PeerError(host, "did not answer with a task URL")
    return value


# ---------------------------------------------------------------------------- runs


def runtimes(host: str, task_uuid: str, start: str, end: str, bind: str | None) -> list[dict]:
    params = {"start": start, "end": end}
    found = _json(
        request("GET", host, f"/tasks/{task_uuid}/runtimes", params=params, bind=bind), host
    )
    if not isinstance(found, list):
        raise PeerError(host, "returned runtimes that are not a list")
    return found


def put_run(
    host: str, task_uuid: str, run_uuid: str, body: dict, key: str | None, bind: str | None
) -> None:
    request(
        "PUT",
        host,
        f"/tasks/{task_uuid}/runs/{run_uuid}",
        params={"key": key} if key else None,
        body=body,
        bind=bind,
    )


def get_run(
    host: str,
    task_uuid: str,
    run_uuid: str,
    key: str | None,
    bind: str | None,
    wait_local: float | None = None,
) -> dict:
    params: dict[str, str] = {"key": key} if key else {}
    timeout = TIMEOUT
    if wait_local is not None:
        params.update({"wait-local": "true", "wait": str(max(0, int(wait_local)))})
        timeout = wait_local + TIMEOUT
    response = request(
        "GET",
        host,
        f"/tasks/{task_uuid}/runs/{run_uuid}",
        params=params,
        bind=bind,
        timeout=timeout,
    )
    return _json(response, host)


def delete_run(host: str, task_uuid: str, run_uuid: str, key: str | None, bind: str | None) -> None:
    request(
        "DELETE",
        host,
        f"/tasks/{task_uuid}/runs/{run_uuid}",
        params={"key": key} if key else None,
        bind=bind,
        ok=(200, 404),
    )


def clock(host: str, bind: str | None) -> dict:
    return _json(request("GET", host, "/clock", bind=bind), host)
