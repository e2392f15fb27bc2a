"""The ``test`` limit: judges a test's spec against per-field limit data, without plugins.

Data: ``{"test": <type>, "limit": {<spec field>: <matcher>, ...}}``.  A task of another
type fails (``Test is not '<type>'``).  Each matcher checks one spec field; a field absent
from the spec is not judged (as the original's plugins did).  Matchers, each with optional
``description``, ``invert`` and ``fail-message``:

* ``{"range": {"lower": L, "upper": U}}`` - numbers, or ISO 8601 durations when L/U are
  strings; either bound may be left out;
* ``{"match": StringMatch}`` - strings; ``{"match": true|false}`` - booleans (absent = false);
* ``{"enumeration": [v, ...]}`` - the value is one of the list;
* ``{"cidr": [CIDR, ...]}`` - the value is an IP literal inside one of the CIDRs.

Callers that want a test's own check pass ``checker(test_type, spec, limit) -> (bool,
[reasons])`` to ``load()``; it replaces the generic matching.
"""

from __future__ import annotations

from collections.abc import Callable

from pscheduler.limits import netaddrs
from pscheduler.limits.schemas import STRING_MATCH
from pscheduler.limits.stringmatch import StringMatcher
from pscheduler.toolkit import parse_duration, schema_error

Checker = Callable[[str, dict, dict], tuple[bool, list[str]]]

_COMMON = {
    "description": {"type": "string"},
    "invert": {"type": "boolean"},
    "fail-message": {"type": "string"},
}
_BOUND = {"anyOf": [{"type": "number"}, {"type": "string"}]}

MATCHER_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                **_COMMON,
                "range": {
                    "type": "object",
                    "properties": {"lower": _BOUND, "upper": _BOUND},
                    "additionalProperties": False,
                    "minProperties": 1,
                },
            },
            "required": ["range"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {**_COMMON, "match": {"anyOf": [STRING_MATCH, {"type": "boolean"}]}},
            "required": ["match"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {**_COMMON, "enumeration": {"type": "array"}},
            "required": ["enumeration"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {**_COMMON, "cidr": {"type": "array", "items": {"type": "string"}}},
            "required": ["cidr"],
            "additionalProperties": False,
        },
    ]
}

SCHEMA = {
    "type": "object",
    "properties": {
        "test": {"type": "string"},
        "limit": {"type": "object", "additionalProperties": MATCHER_SCHEMA},
    },
    "required": ["test", "limit"],
    "additionalProperties": False,
}


def _seconds(value) -> float:
    if isinstance(value, str):
        return parse_duration(value).total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"'{value}' is not a number or duration")
    return float(value)


class _Field:
    """One compiled matcher; ``check(value, present)`` -> failure text or None."""

    def __init__(self, name: str, spec: dict):
        self.name = name
        self.invert = spec.get("invert", False)
        self.fail_message = spec.get("fail-message")
        self.kind = next(k for k in ("range", "match", "enumeration", "cidr") if k in spec)
        if self.kind == "range":
            self.lower = spec["range"].get("lower")
            self.upper = spec["range"].get("upper")
            self.lower_s = None if self.lower is None else _seconds(self.lower)
            self.upper_s = None if self.upper is None else _seconds(self.upper)
        elif self.kind == "match":
            self.match = spec["match"]
            self.matcher = StringMatcher(self.match) if isinstance(self.match, dict) else None
        elif self.kind == "enumeration":
            self.values = spec["enumeration"]
        else:
            self.cidrs = [netaddrs.parse_cidr(c) for c in spec["cidr"]]

    def _holds(self, value) -> tuple[bool, str]:
        if self.kind == "range":
            number = _seconds(value)
            ok = (self.lower_s is None or number >= self.lower_s) and (
                self.upper_s is None or number <= self.upper_s
            )
            low = "" if self.lower is None else self.lower
            high = "" if self.upper is None else self.upper
            return ok, f"{value} is {'' if ok else 'not '}in {low}..{high}"
        if self.kind == "match":
            if self.matcher is None:
                ok = bool(value) == self.match
                return ok, f"must be {str(self.match).lower()}"
            ok = isinstance(value, str) and self.matcher.matches(value)
            return ok, f"'{value}' does {'' if ok else 'not '}match"
        if self.kind == "enumeration":
            ok = value in self.values
            return ok, f"{value} is {'' if ok else 'not '}in the list"
        try:
            ok = netaddrs.in_any(netaddrs.parse_ip(value), self.cidrs)
        except ValueError:
            return False, f"'{value}' is not an IP address"
        return ok, f"{value} is {'' if ok else 'not '}in the CIDRs"

    def check(self, spec: dict) -> str | None:
        if self.name not in spec:
            if self.kind == "match" and self.matcher is None:
                value = False
            else:
                return None
        else:
            value = spec[self.name]
        try:
            ok, why = self._holds(value)
        except ValueError as exc:
            return f"{self.name}: {exc}"
        if ok != self.invert:
            return None
        if self.fail_message:
            return self.fail_message
        return f"{self.name}: {why}" + (" (inverted)" if self.invert else "")


def generic_checker(limit: dict) -> Checker:
    """A checker built from the limit data alone (no test plugin involved)."""
    fields = [_Field(name, spec) for name, spec in limit.items()]

    def check(test_type: str, spec: dict, _limit: dict) -> tuple[bool, list[str]]:
        reasons = [r for r in (f.check(spec) for f in fields) if r]
        return not reasons, reasons

    return check


class TestLimit:
    SCHEMA = SCHEMA
    checks_schedule = False

    def __init__(self, data: dict, checker: Checker | None = None):
        problem = schema_error(
            {"type": "object", "additionalProperties": MATCHER_SCHEMA}, data["limit"]
        )
        if problem:
            raise ValueError(problem)
        self.test = data["test"]
        self.limit = data["limit"]
        self.check = checker or generic_checker(self.limit)

    def evaluate(self, proposal: dict) -> tuple[bool, list[str]]:
        test = proposal["task"].get("test", {})
        if test.get("type") != self.test:
            return False, [f"Test is not '{self.test}'"]
        passed, reasons = self.check(self.test, test.get("spec", {}), self.limit)
        return bool(passed), ([] if passed else list(reasons) or ["Unspecified reason"])
