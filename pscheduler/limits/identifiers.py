"""Identifiers: each looks only at the hints and says whether the requester is "one of us".

Types: always, hint, jq, ip-cidr-list, ip-cidr-list-url, ip-reverse-dns, local-if (alias
localif), local-subnet, ip-cymru-bogon and ip-cymru-asn.  The last two ask Team Cymru's DNS
zones about the requester (see ``pscheduler.toolkit.cymru`` for which server is asked);
when no definitive answer comes in ``timeout`` they identify as ``fail-result`` says.

Unlike the original, ``invert: true`` identifies exactly when the type's test fails.
"""

from __future__ import annotations

import concurrent.futures
import socket
from collections.abc import Callable

from pscheduler.limits import netaddrs
from pscheduler.limits.cidrurl import SCHEMA as CIDR_URL_SCHEMA
from pscheduler.limits.cidrurl import CidrListUrl
from pscheduler.limits.jqscript import JqError, compile_spec
from pscheduler.limits.schemas import DURATION, JQ_TRANSFORM, STRING_MATCH
from pscheduler.limits.stringmatch import StringMatcher
from pscheduler.toolkit import cymru, parse_duration, schema_error


class Always:
    SCHEMA = {"type": "object", "additionalProperties": False}

    def __init__(self, data: dict):
        pass

    def identifies(self, hints: dict) -> bool:
        return True


class Hint:
    SCHEMA = {
        "type": "object",
        "properties": {"hint": {"type": "string"}, "match": STRING_MATCH},
        "required": ["hint", "match"],
        "additionalProperties": False,
    }

    def __init__(self, data: dict):
        self.hint = data["hint"]
        self.matcher = StringMatcher(data["match"])

    def identifies(self, hints: dict) -> bool:
        return self.hint in hints and self.matcher.matches(hints[self.hint])


class Jq:
    SCHEMA = JQ_TRANSFORM

    def __init__(self, data: dict):
        try:
            self.script = compile_spec(data)
        except JqError as exc:
            raise ValueError(f"Invalid script: {exc}") from None

    def identifies(self, hints: dict) -> bool:
        try:
            return self.script.first(hints) is True
        except JqError:
            return False


class CidrList:
    SCHEMA = {
        "type": "object",
        "properties": {"cidrs": {"type": "array", "items": {"type": "string"}}},
        "required": ["cidrs"],
        "additionalProperties": False,
    }

    def __init__(self, data: dict):
        self.cidrs = [netaddrs.parse_cidr(c) for c in data["cidrs"]]

    def identifies(self, hints: dict) -> bool:
        if "requester" not in hints:
            return False
        return netaddrs.in_any(netaddrs.parse_ip(hints["requester"]), self.cidrs)


class ReverseDns:
    """PTR of the requester, confirmed by a forward lookup, matched against ``match``."""

    SCHEMA = {
        "type": "object",
        "properties": {"match": STRING_MATCH, "timeout": DURATION},
        "required": ["match", "timeout"],
        "additionalProperties": False,
    }
    _pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="limits-dns")

    def __init__(self, data: dict):
        self.matcher = StringMatcher(data["match"])
        self.timeout = parse_duration(data["timeout"]).total_seconds()

    @staticmethod
    def _lookup(ip) -> str | None:
        try:
            name = socket.gethostbyaddr(str(ip))[0]
        except (OSError, UnicodeError):
            return None
        try:
            infos = socket.getaddrinfo(name, None)
        except (OSError, UnicodeError):
            return None
        forward = {netaddrs.parse_ip(info[4][0]) for info in infos}
        return name if ip in forward else None

    def identifies(self, hints: dict) -> bool:
        if "requester" not in hints:
            return False
        ip = netaddrs.parse_ip(hints["requester"])
        future = self._pool.submit(self._lookup, ip)
        try:
            name = future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            return False
        if name is None:
            return False
        bare = name.rstrip(".")
        return self.matcher.matches(bare) or self.matcher.matches(bare + ".")


class LocalIf:
    SCHEMA = {"type": "object", "additionalProperties": False}

    def __init__(self, data: dict):
        self.addresses = netaddrs.local_addresses()

    def identifies(self, hints: dict) -> bool:
        if "requester" not in hints:
            return False
        return netaddrs.parse_ip(hints["requester"]) in self.addresses


class LocalSubnet:
    SCHEMA = {"type": "object", "additionalProperties": False}

    def __init__(self, data: dict):
        self.networks = netaddrs.local_networks()

    def identifies(self, hints: dict) -> bool:
        if "requester" not in hints:
            return False
        return netaddrs.in_any(netaddrs.parse_ip(hints["requester"]), self.networks)


class _Cymru:
    """What both Team Cymru identifiers share: the timeout (default 2 s, as the original)
    and the result when the look-up gives no definitive answer."""

    def __init__(self, data: dict):
        timeout = parse_duration(data["timeout"]).total_seconds() if "timeout" in data else 2.0
        self.fail_result = bool(data.get("fail-result", False))
        self.resolver = cymru.resolver(timeout)


class CymruBogon(_Cymru):
    """The requester is a bogon (unallocated or reserved) by Team Cymru's full-bogon list,
    unless it lies in one of the ``exclude`` networks."""

    SCHEMA = {
        "type": "object",
        "properties": {
            "exclude": {"type": "array", "items": {"type": "string"}},
            "timeout": DURATION,
            "fail-result": {"type": "boolean"},
        },
        "required": ["fail-result"],
    }

    def __init__(self, data: dict):
        super().__init__(data)
        self.exclude = [netaddrs.parse_cidr(c) for c in data.get("exclude", [])]

    def identifies(self, hints: dict) -> bool:
        if "requester" not in hints:
            return False
        ip = netaddrs.parse_ip(hints["requester"])
        try:
            bogon = cymru.is_bogon(str(ip), self.resolver)
        except cymru.Indefinite:
            return self.fail_result
        return bogon and not netaddrs.in_any(ip, self.exclude)


class CymruAsn(_Cymru):
    """The requester's origin AS (or, with ``peers``, one of its peers' ASes) is in ``asns``."""

    SCHEMA = {
        "type": "object",
        "properties": {
            "asns": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "peers": {"type": "boolean"},
            "timeout": DURATION,
            "fail-result": {"type": "boolean"},
        },
        "required": ["fail-result"],
    }

    def __init__(self, data: dict):
        super().__init__(data)
        self.asns = set(data.get("asns", []))
        self.peers = bool(data.get("peers", False))

    def identifies(self, hints: dict) -> bool:
        if "requester" not in hints:
            return False
        ip = netaddrs.parse_ip(hints["requester"])
        try:
            found = cymru.origin_asns(str(ip), self.resolver, self.peers)
        except cymru.Indefinite:
            return self.fail_result
        return any(asn in self.asns for asn in found)


class CidrUrl(CidrListUrl):
    SCHEMA = CIDR_URL_SCHEMA


TYPES: dict[str, type] = {
    "always": Always,
    "hint": Hint,
    "jq": Jq,
    "ip-cidr-list": CidrList,
    "ip-cidr-list-url": CidrUrl,
    "ip-reverse-dns": ReverseDns,
    "local-if": LocalIf,
    "localif": LocalIf,
    "local-subnet": LocalSubnet,
    "ip-cymru-bogon": CymruBogon,
    "ip-cymru-asn": CymruAsn,
}


def build(entry: dict, error: Callable[[str], Exception]) -> object:
    """The evaluator for one identifier entry; raises ``error(msg)`` when it is unusable."""
    name, kind = entry["name"], entry["type"]
    cls = TYPES.get(kind)
    if cls is None:
        raise error(f"Identifier '{name}' has unsupported type '{kind}'")
    problem = schema_error(cls.SCHEMA, entry["data"])
    if problem:
        raise error(f"Identifier '{name}': Invalid data: {problem}")
    try:
        return cls(entry["data"])
    except ValueError as exc:
        raise error(f"Identifier '{name}': Invalid data: {exc}") from None


class IdentifierSet:
    """All identifiers in file order; ``identities(hints)`` -> (names, diagnostics)."""

    def __init__(self, entries: list[dict], error: Callable[[str], Exception]):
        self.entries: list[tuple[str, bool, object]] = []
        seen = set()
        for entry in entries:
            if entry["name"] in seen:
                raise error(f"Duplicate identifier '{entry['name']}'")
            seen.add(entry["name"])
            evaluator = build(entry, error)
            self.entries.append((entry["name"], bool(entry.get("invert", False)), evaluator))

    def __contains__(self, name: str) -> bool:
        return any(n == name for n, _, _ in self.entries)

    def identities(self, hints: dict) -> tuple[list[str], list[str]]:
        names, diags = [], []
        for name, invert, evaluator in self.entries:
            try:
                found = evaluator.identifies(hints)
            except Exception as exc:
                diags.append(
                    f"  Identifier {name} threw an exception: {exc}  Please report this as a bug."
                )
                continue
            if found != invert:
                names.append(name)
        return names, diags
