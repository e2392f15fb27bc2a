"""Team Cymru's DNS services, as the original uses them: the full-bogon zone (is an address
unallocated or reserved?) and the IP-to-ASN zones (which AS announces it, who owns that AS).

Used by the ``ip-cymru-bogon``/``ip-cymru-asn`` limit identifiers and for the AS of trace
hops.  Queries go to the system's resolvers unless ``PSCHEDULER_CYMRU_RESOLVER``
(``HOST[:PORT]``, set by ``pscheduler-server --cymru-resolver``) names another server; every
query is bounded by a timeout.  An answer that never comes (always the case off the
internet) raises ``Indefinite``, so each caller decides what that means.
"""

from __future__ import annotations

import ipaddress
import os
import time
from concurrent.futures import ThreadPoolExecutor, wait

import dns.exception
import dns.resolver
import dns.reversename

RESOLVER_ENV = "PSCHEDULER_CYMRU_RESOLVER"
BOGON_ZONES = {4: "v4.fullbogons.cymru.com.", 6: "v6.fullbogons.cymru.com."}
ASN_ZONE = "asn.cymru.com."
BOGON_ANSWER = "127.0.0.2"


class Indefinite(Exception):
    """No definitive answer: a timeout, no reachable or willing name server, no answer."""


def resolver(timeout: float, nameserver: str | None = None) -> dns.resolver.Resolver:
    """A resolver giving up after ``timeout`` seconds in all, asking ``nameserver``
    (``HOST[:PORT]``), else the one in ``PSCHEDULER_CYMRU_RESOLVER``, else the system's."""
    server = nameserver or os.environ.get(RESOLVER_ENV) or None
    if server:
        host, port = _host_port(server)
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [host]
        res.port = port
    else:
        try:
            res = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            res = dns.resolver.Resolver(configure=False)
            res.nameservers = []
    res.timeout = res.lifetime = max(0.01, float(timeout))
    return res


def _host_port(text: str) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 53
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 53


def _labels(address: str) -> tuple[str, int]:
    """The reversed octets (IPv4) or nibbles (IPv6) of ``address``, and its IP version."""
    ip = ipaddress.ip_address(address)
    name = dns.reversename.from_address(str(ip))
    labels = [label.decode("ascii") for label in name.labels[:-3]]
    return ".".join(labels), ip.version


def bogon_name(address: str) -> str:
    labels, version = _labels(address)
    return f"{labels}.{BOGON_ZONES[version]}"


def origin_name(address: str, peers: bool = False) -> str:
    labels, version = _labels(address)
    kind = "peer" if peers else ("origin" if version == 4 else "origin6")
    return f"{labels}.{kind}.{ASN_ZONE}"


def _query(res: dns.resolver.Resolver, name: str, rdtype: str):
    """The answer, or None for a name that does not exist; Indefinite otherwise."""
    try:
        return res.resolve(name, rdtype)
    except dns.resolver.NXDOMAIN:
        return None
    except dns.exception.DNSException as exc:  # timeout, no server, no answer, ...
        raise Indefinite(f"{name} {rdtype}: {exc}") from None


def _texts(answer) -> list[str]:
    """The TXT strings of an answer, one per line the service returns."""
    lines: list[str] = []
    for rdata in answer:
        text = b"".join(rdata.strings).decode("utf-8", "replace")
        lines += [line.strip().strip('"') for line in text.splitlines() if line.strip()]
    return lines


def is_bogon(address: str, res: dns.resolver.Resolver) -> bool:
    """Whether Team Cymru lists ``address`` as a bogon (an A answer of 127.0.0.2, asked with
    an A query for IPv6 too, as the service wants)."""
    answer = _query(res, bogon_name(address), "A")
    return answer is not None and any(str(rdata) == BOGON_ANSWER for rdata in answer)


def origin_asns(address: str, res: dns.resolver.Resolver, peers: bool = False) -> list[int]:
    """The ASNs announcing ``address`` (or its peers' ASNs); [] when it is not routed.

    Answers look like ``"15169 | 8.8.8.0/24 | US | arin | 2023-12-28"``; the first field
    may hold several ASNs separated by spaces."""
    answer = _query(res, origin_name(address, peers), "TXT")
    asns: list[int] = []
    for line in _texts(answer) if answer is not None else []:
        for token in line.split("|")[0].split():
            if token.isdigit() and int(token) not in asns:
                asns.append(int(token))
    return asns


def as_owner(asn: int, res: dns.resolver.Resolver) -> str | None:
    """The owner of AS ``asn`` (the last field of ``AS<n>.asn.cymru.com`` TXT), or None."""
    try:
        answer = _query(res, f"AS{asn}.{ASN_ZONE}", "TXT")
    except Indefinite:
        return None
    lines = _texts(answer) if answer is not None else []
    if not lines:
        return None
    return lines[0].split("|")[-1].strip() or None


def routable(address: str) -> bool:
    """Worth asking about: a global unicast address (the original skips the rest)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_global and not ip.is_multicast


def _as_of(address: str, res: dns.resolver.Resolver) -> dict | None:
    try:
        asns = origin_asns(address, res)
    except Indefinite:
        return None
    if not asns:
        return None
    found: dict = {"number": asns[0]}
    owner = as_owner(asns[0], res)
    if owner:
        found["owner"] = owner
    return found


def bulk_as(addresses: list[str], timeout: float = 2.0, nameserver: str | None = None) -> dict:
    """``{address: {"number", "owner"?}}`` for the routable addresses whose AS is found,
    all looked up in parallel and given up on after ``timeout`` seconds in all."""
    wanted = sorted({a for a in addresses if a and routable(a)})
    if not wanted:
        return {}
    res = resolver(timeout, nameserver)
    pool = ThreadPoolExecutor(max_workers=min(8, len(wanted)), thread_name_prefix="cymru")
    futures = {pool.submit(_as_of, address, res): address for address in wanted}
    deadline = time.monotonic() + timeout
    done, _ = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
    pool.shutdown(wait=False, cancel_futures=True)
    found = {}
    for future in done:
        if future.exception() is None and future.result() is not None:
            found[futures[future]] = future.result()
    return found
