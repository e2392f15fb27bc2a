"""The REST client the commands share: host[:port] parsing, URL building and HTTP with
timeouts, and one error type per way a request can go wrong.

The CLI speaks only the pScheduler wire protocol (https://HOST[:PORT]/pscheduler/...), so it
works against our nodes and original pScheduler hosts alike.  Certificates are not checked
unless asked (self-signed ones are normal); ``verify=False`` is passed on every request
because REQUESTS_CA_BUNDLE in the environment would override a session-wide setting.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import warnings
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

DEFAULT_HOST = "127.0.0.1:8443"
DEFAULT_PORT = 443
API_LEVEL = 6
DEFAULT_TIMEOUT = 30.0


class ClientError(Exception):
    """A request that could not be completed; ``str()`` is what the user should read."""


class Unreachable(ClientError):
    """No pScheduler answered: DNS, connection refused, TLS failure or timeout."""


class ServerError(ClientError):
    """The server answered with an error status; the message is its body, as written."""

    def __init__(self, status: int, text: str, url: str = ""):
        super().__init__(text.rstrip("\n") or f"HTTP status {status}")
        self.status = status
        self.text = text.rstrip("\n")
        self.url = url


def local_host() -> str:
    """Where commands go by default: $PSCHEDULER_LOCALHOST, else our node's default listen."""
    return os.environ.get("PSCHEDULER_LOCALHOST") or DEFAULT_HOST


def assist_host(given: str | None = None) -> str:
    """The assist server: --assist, then $PSCHEDULER_ASSIST, then the local host."""
    return given or os.environ.get("PSCHEDULER_ASSIST") or local_host()


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int | None

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port in (None, DEFAULT_PORT) else f"{host}:{self.port}"


def split_host(text: str) -> HostPort:
    """Parse ``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 literal."""
    text = (text or "").strip()
    if not text:
        raise ValueError("Empty host name")
    if "://" in text:
        parts = urllib.parse.urlsplit(text)
        return HostPort(parts.hostname or "", parts.port)
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"Bad host '{text}': unclosed '['")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"Bad host '{text}'")
        port = rest[1:] or None
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, None  # a name, an IPv4 address or a bare IPv6 literal
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"Bad port in host '{text}'")
        return HostPort(host, int(port))
    return HostPort(host, None)


def api_url(host: str, path: str = "") -> str:
    """``https://HOST[:PORT]/pscheduler/<path>`` with IPv6 literals bracketed."""
    netloc = split_host(host).netloc
    return f"https://{netloc}/pscheduler/{path.lstrip('/')}"


def host_of_url(url: str) -> str:
    """The host[:port] part of a URL, as the other commands accept it."""
    return urllib.parse.urlsplit(url).netloc


def with_query(url: str, **params: Any) -> str:
    """Append query parameters; dicts and lists become JSON, True becomes ``true``."""
    pairs = []
    for key, value in params.items():
        if value is None or value is False:
            continue
        if value is True:
            value = "true"
        elif isinstance(value, (dict, list)):
            value = json.dumps(value, separators=(",", ":"))
        pairs.append((key.replace("_", "-"), str(value)))
    if not pairs:
        return url
    sep = "&" if "?" in url else "?"
    return url + sep + urllib.parse.urlencode(pairs)


class Client:
    """HTTP to pScheduler hosts with one policy for certificates, timeouts and errors."""

    def __init__(self, verify: bool = False, timeout: float = DEFAULT_TIMEOUT, debug=None):
        self.verify = verify
        self.timeout = timeout
        self.debug = debug or (lambda message: None)
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify=False
        self.session.headers["User-Agent"] = "pscheduler-cli"
        if not verify:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)

    def request(
        self, method: str, url: str, timeout: float | None = None, **kw
    ) -> requests.Response:
        """Send a request; Unreachable when nothing answered, ServerError for a status >= 400."""
        self.debug(f"{method} {url}")
        try:
            response = self.session.request(
                method, url, verify=self.verify, timeout=timeout or self.timeout, **kw
            )
        except requests.exceptions.SSLError as exc:
            raise Unreachable(f"{host_of_url(url)}: TLS failure: {_reason(exc)}") from None
        except requests.exceptions.Timeout:
            raise Unreachable(f"{host_of_url(url)}: no answer (timed out)") from None
        except requests.exceptions.ConnectionError as exc:
            raise Unreachable(f"{host_of_url(url)} is unreachable: {_reason(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise Unreachable(f"{host_of_url(url)}: {_reason(exc)}") from None
        self.debug(f"  -> {response.status_code}")
        if response.status_code >= 400:
            raise ServerError(response.status_code, response.text, url)
        return response

    def get(self, url: str, **kw) -> requests.Response:
        return self.request("GET", url, **kw)

    def get_json(self, url: str, **kw) -> Any:
        response = self.get(url, **kw)
        try:
            return response.json()
        except ValueError:
            raise ServerError(
                response.status_code, f"Invalid JSON from {url}: {response.text[:200]}", url
            ) from None

    def get_text(self, url: str, **kw) -> str:
        return self.get(url, **kw).text

    def post_json(self, url: str, data: Any, **kw) -> Any:
        response = self.request(
            "POST",
            url,
            data=json.dumps(data, ensure_ascii=True),
            headers={"Content-Type": "application/json"},
            **kw,
        )
        try:
            return response.json()
        except ValueError:
            return response.text.strip()

    def delete(self, url: str, **kw) -> requests.Response:
        return self.request("DELETE", url, **kw)

    def ping(self, host: str, timeout: float = 5.0) -> str:
        """The liveness banner of ``host``; Unreachable when it is not a pScheduler server."""
        url = api_url(host)
        try:
            response = self.get(url, timeout=timeout)
        except ServerError as exc:
            if exc.status == 400:
                raise Unreachable(f"{host}: {exc.text}") from None
            raise Unreachable(f"{host}: Not running pScheduler (status {exc.status})") from None
        try:
            banner = response.json()
        except ValueError:
            banner = None
        if response.status_code != 200 or not isinstance(banner, str):
            raise Unreachable(f"{host}: Not running pScheduler")
        return banner


def _reason(exc: Exception) -> str:
    """The innermost, most readable reason of a requests exception."""
    text = str(exc)
    for marker in ("[Errno", "Name or service", "Connection refused", "CERTIFICATE_VERIFY"):
        index = text.find(marker)
        if index >= 0:
            return text[index:].rstrip("')\"] ")
    return text
