"""Address classes: a group member given as ``{"class": NAME}`` instead of a name.

A class takes the addresses of its ``data-source`` (``current-config``: every address of the
template, in template order; ``requesting-agent``: the addresses of the agent reading the
template, from its own configuration), keeps those its ``match-filter`` accepts (all of them
when it has none) and drops those its ``exclude-filter`` accepts.  Filters follow perfSONAR's
pSConfig format: ``tag`` (the address's or its host's tags, case-insensitive), ``netmask``
(the address, or every address a host name resolves to, inside a CIDR block: any one
suffices), ``ip-version`` (4 or 6, the same way), ``host`` (the address has a ``hosts`` entry
whose ``no-agent``/``tag``/``jq`` criteria given all hold), ``jq`` (a jq script over the
address object is not false/null/empty), ``address-class`` (the other class's filters accept
it) and ``and``/``or``/``not``.  Requesting-agent addresses join the template's addresses
under their own names (a name the template already has is the template's) so groups, tasks
and variables treat them like any other address.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from typing import Any


class ClassError(Exception):
    """A filter that cannot be evaluated (a jq script that fails)."""


def with_requesting(template: dict, requesting: dict[str, dict] | None) -> dict:
    """The template with the requesting agent's addresses added (when any class uses them)."""
    uses = any(
        (c.get("data-source") or {}).get("type") == "requesting-agent"
        for c in (template.get("address-classes") or {}).values()
    )
    if not uses or not requesting:
        return template
    addresses = dict(template.get("addresses") or {})
    for name, data in requesting.items():
        addresses.setdefault(name, data)
    return {**template, "addresses": addresses}


@functools.lru_cache(maxsize=1024)
def _resolve(host: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
    try:
        return (ipaddress.ip_address(host.strip("[]")),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return ()
    return tuple(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos)


def _truthy(value: Any) -> bool:
    return value not in (None, False, "", [], {})


def _jq(script: Any, data: Any) -> bool:
    import jq

    text = script if isinstance(script, str) else script.get("script")
    if isinstance(text, list):
        text = "\n".join(text)
    try:
        return _truthy(jq.compile(text).input(data).first())
    except Exception as exc:  # noqa: BLE001 - jq raises ValueError and others
        raise ClassError(f"jq {text!r}: {exc}") from None


def _tags(obj: dict) -> set[str]:
    return {str(t).lower() for t in obj.get("tags") or []}


def matches(template: dict, flt: dict | None, name: str, seen: tuple[str, ...] = ()) -> bool:
    """Whether the address ``name`` passes filter ``flt`` (None passes everything)."""
    if flt is None:
        return True
    address = template["addresses"][name]
    host = (template.get("hosts") or {}).get(address.get("host") or "")
    kind = flt["type"]
    if kind == "and":
        return all(matches(template, f, name, seen) for f in flt["filters"])
    if kind == "or":
        return any(matches(template, f, name, seen) for f in flt["filters"])
    if kind == "not":
        return not matches(template, flt["filter"], name, seen)
    if kind == "tag":
        tag = str(flt["tag"]).lower()
        return tag in _tags(address) or (host is not None and tag in _tags(host))
    if kind == "netmask":
        network = ipaddress.ip_network(flt["netmask"], strict=False)
        return any(
            ip.version == network.version and ip in network for ip in _resolve(address["address"])
        )
    if kind == "ip-version":
        return any(ip.version == flt["ip-version"] for ip in _resolve(address["address"]))
    if kind == "jq":
        return _jq(flt["jq"], address)
    if kind == "host":
        if host is None:
            return False
        if "no-agent" in flt and bool(host.get("no-agent")) != flt["no-agent"]:
            return False
        if "tag" in flt and str(flt["tag"]).lower() not in _tags(host):
            return False
        return "jq" not in flt or _jq(flt["jq"], host)
    if kind == "address-class":
        other = flt["class"]
        if other in seen:  # schema validation rejects loops; never recurse forever
            return False
        return accepts(template, other, name, (*seen, other))
    raise ClassError(f"unknown filter type {kind!r}")


def accepts(template: dict, class_name: str, name: str, seen: tuple[str, ...] = ()) -> bool:
    cls = template["address-classes"][class_name]
    seen = seen or (class_name,)
    if not matches(template, cls.get("match-filter"), name, seen):
        return False
    exclude = cls.get("exclude-filter")
    return exclude is None or not matches(template, exclude, name, seen)


def members(template: dict, class_name: str, requesting: dict[str, dict] | None) -> list[str]:
    """The address names of a class, in the order of its data source."""
    cls = template["address-classes"][class_name]
    if cls["data-source"]["type"] == "requesting-agent":
        candidates = list(requesting or {})
    else:
        own = _original(template, requesting)
        candidates = [n for n in template.get("addresses") or {} if n in own]
    return [
        n for n in candidates if n in template["addresses"] and accepts(template, class_name, n)
    ]


def _original(template: dict, requesting: dict[str, dict] | None) -> set[str]:
    """Names of the template's own addresses (not the requesting agent's additions, which
    ``with_requesting`` put in as the very objects it was given)."""
    return {
        n
        for n, data in (template.get("addresses") or {}).items()
        if n not in (requesting or {}) or data is not (requesting or {}).get(n)
    }
