"""Which addresses are this host's own: local requesters get the original's privileges."""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import socket

import psutil


@functools.lru_cache(maxsize=1)
def _local_addresses_cached(stamp: int) -> frozenset:  # noqa: ARG001 - cache key only
    found = set()
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                found.add(addr.address.split("%", 1)[0])
    return frozenset(found)


def local_addresses() -> frozenset:
    """Addresses configured on this host's interfaces (looked up at most once a minute)."""
    stamp = int(dt.datetime.now(dt.timezone.utc).timestamp() // 60)
    return _local_addresses_cached(stamp)


def is_local_address(address: str | None) -> bool:
    """True for an address configured on an interface of this host, as the original decides.

    Only the exact addresses count: 127.0.0.2 reaches the host through ``lo`` but is not one
    of its addresses, so (as in the original) it is treated as remote.
    """
    if not address:
        return False
    address = address.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return str(ip) in local_addresses() or str(ip) in ("127.0.0.1", "::1")


def host_name() -> str:
    """This host's name as ``GET /hostname`` answers it (as the original): the system's host
    name when it resolves, else the best address of the host's own interfaces."""
    name = socket.gethostname()
    try:
        if name and socket.getaddrinfo(name, None):
            return name
    except (OSError, UnicodeError):
        pass
    addresses = sorted(local_addresses(), key=_address_preference)
    return addresses[0] if addresses else name or "localhost"


def _address_preference(address: str) -> tuple:
    """Global before private before loopback or link-local; IPv4 before IPv6 among equals."""
    ip = ipaddress.ip_address(address)
    if ip.is_loopback or ip.is_link_local:
        rank = 2
    elif ip.is_private:
        rank = 1
    else:
        rank = 0
    return (rank, ip.version, address)
