"""Where archivers may send results: the archive destination policy.

A task's archive names a destination chosen by whoever posts the task, and the node connects
to it from its own addresses.  Left open, that lets anyone make the node talk to services
that trust the host (its own API, a database on loopback, anything on link-local), so by
default an archive may not reach:

* loopback, link-local, unspecified and multicast addresses;
* any address configured on this host's interfaces;
* the node's own API (its listen port on any of those addresses) even when allowed: an
  archive has no business there, and it would act with the node's own source address.
* a local (Unix) socket, except syslog's datagram sockets.

The operator opens what is needed with ``PSCHEDULER_ARCHIVE_ALLOW`` (``--archive-allow``), a
comma-separated list of networks (``127.0.0.1/32``, ``::1``, ``10.0.0.0/8``) and the word
``unix`` for local sockets, and closes more with ``PSCHEDULER_ARCHIVE_DENY``.  The deny list
wins over the allow list, which wins over the defaults.

Names are resolved once here and the connection goes to the address that was checked, so a
name whose DNS answer changes between the check and the connect (rebinding) gets nowhere.
Plugins use ``resolve`` (sockets), ``session_adapter`` (requests) or ``check_unix``.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import time
from collections.abc import Iterable

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

ALLOW_ENV = "PSCHEDULER_ARCHIVE_ALLOW"
DENY_ENV = "PSCHEDULER_ARCHIVE_DENY"
UNIX = "unix"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(OSError):
    """The archive's destination is outside what the policy allows; the text says why."""


def _networks(text: str | None, what: str) -> tuple[frozenset, bool]:
    nets = set()
    unix = False
    for item in (text or "").replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        if item.lower() == UNIX:
            unix = True
            continue
        try:
            nets.add(ipaddress.ip_network(item.strip("[]"), strict=False))
        except ValueError:
            raise ValueError(f"{what}: {item!r} is not a network (e.g. 10.0.0.0/8)") from None
    return frozenset(nets), unix


@functools.lru_cache(maxsize=8)
def _parsed(allow: str | None, deny: str | None) -> tuple:
    return _networks(allow, ALLOW_ENV), _networks(deny, DENY_ENV)


def _lists() -> tuple:
    return _parsed(os.environ.get(ALLOW_ENV), os.environ.get(DENY_ENV))


def validate_lists(allow: str | None, deny: str | None) -> None:
    """ValueError naming the bad entry, for the server to refuse a bad setting at start."""
    _parsed(allow, deny)


@functools.lru_cache(maxsize=1)
def _own_cached(stamp: int) -> frozenset:  # noqa: ARG001 - cache key only
    import psutil

    found = set()
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                try:
                    found.add(ipaddress.ip_address(addr.address.split("%", 1)[0]))
                except ValueError:
                    pass
    return frozenset(found)


def own_addresses() -> frozenset:
    """The addresses of this host's interfaces (looked up at most once a minute)."""
    return _own_cached(int(time.time() // 60))


def _plain(address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped if mapped is not None else ip


def _in(ip, nets: Iterable[Network]) -> bool:
    return any(ip.version == n.version and ip in n for n in nets)


def _api_port() -> int | None:
    listen = os.environ.get("PSCHEDULER_LISTEN", "127.0.0.1:8443")
    try:
        return int(listen.rpartition(":")[2])
    except ValueError:
        return None


def refusal(address, port: int | None = None) -> str | None:
    """Why the policy refuses ``address`` (an IP) and ``port``, or None when allowed."""
    try:
        ip = _plain(address)
    except ValueError:
        return f"{address} is not an IP address"
    (allow, _), (deny, _) = _lists()
    local = ip.is_loopback or ip.is_unspecified or ip in own_addresses()
    if local and port is not None and str(port) == str(_api_port()):
        return f"{ip} port {port} is this node's own API"
    if _in(ip, deny):
        return f"{ip} is in the archive deny list"
    if _in(ip, allow):
        return None
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_unspecified or ip.is_multicast:
        return f"{ip} is not a unicast destination"
    if ip in own_addresses():
        return f"{ip} is an address of this node"
    return None


def _refused(host: str, reason: str) -> DestinationRefused:
    return DestinationRefused(
        f"Archive destination {host} not allowed: {reason} (see {ALLOW_ENV} in the README)"
    )


def resolve(
    host: str, port: int, family: int = socket.AF_UNSPEC, kind: int = socket.SOCK_STREAM
) -> list[tuple]:
    """``getaddrinfo`` answers for ``host`` that the policy allows, in their order.

    Raises DestinationRefused when every answer is refused (the first reason is given), or
    the resolver's OSError.  Connect to what is returned, never to ``host`` again.
    """
    infos = socket.getaddrinfo(host, port, family, kind)
    allowed = []
    reason = None
    for info in infos:
        why = refusal(info[4][0], port)
        if why is None:
            allowed.append(info)
        elif reason is None:
            reason = why
    if not allowed:
        raise _refused(host, reason or "it does not resolve")
    return allowed


def check_unix(path: str) -> None:
    """DestinationRefused unless local sockets are allowed (``unix`` in the allow list)."""
    (_, unix_allowed), (_, unix_denied) = _lists()
    if unix_denied or not unix_allowed:
        raise _refused(path or "the local socket", "a local socket")


def create_connection(
    address: tuple[str, int],
    timeout: float | None = None,
    source_address: tuple | None = None,
    socket_options: Iterable | None = None,
) -> socket.socket:
    """``socket.create_connection`` to a checked address of ``address[0]``."""
    host, port = address
    last: OSError | None = None
    for family, kind, proto, _, sockaddr in resolve(host.strip("[]"), port):
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            last = exc
            sock.close()
    raise last or OSError(f"cannot connect to {host}")


class _GuardedMixin:
    def _new_conn(self) -> socket.socket:
        try:
            return create_connection(
                (self._dns_host, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except DestinationRefused:
            raise
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc


class GuardedHTTPConnection(_GuardedMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose every connection (redirects too) obeys the policy."""

    def __init__(self, bind: str | None = None, **kwargs):
        self._bind = bind
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        if self._bind:
            kwargs["source_address"] = (self._bind, 0)
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }

    def proxy_manager_for(self, *args, **kwargs):  # pragma: no cover - sessions have no proxy
        raise DestinationRefused("Archives are not sent through proxies")
