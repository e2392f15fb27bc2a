"""The ``ip-cidr-list-url`` identifier: a CIDR list fetched over HTTP and cached.

The list is fetched when the limit file loads and again, lazily, ``update`` after a good
fetch or ``retry`` after a failed one.  A failed refresh keeps the previous list.  Text is
one CIDR per line with ``#`` comments; a ``transform`` (jq, raw output) turns fetched JSON
into that text.  With no list at all the identifier answers ``fail-state``.
"""

from __future__ import annotations

import threading
import time

from pscheduler.limits import netaddrs
from pscheduler.limits.fetch import http_get
from pscheduler.limits.jqscript import JqError, compile_spec
from pscheduler.limits.schemas import DURATION, JQ_TRANSFORM
from pscheduler.toolkit import json_load, parse_duration

_CIDR_OR_IP = {"type": "string"}

SCHEMA = {
    "type": "object",
    "properties": {
        "source": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9+.-]*://"},
        "update": DURATION,
        "retry": DURATION,
        "bind": {"type": "string"},
        "exclude": {"type": "array", "items": _CIDR_OR_IP},
        "transform": JQ_TRANSFORM,
        "fail-state": {"type": "boolean"},
    },
    "required": ["source", "update", "retry"],
    "additionalProperties": False,
}

FETCH_TIMEOUT = 10.0


def parse_cidr_text(text: str) -> list:
    """CIDRs from one-per-line text; comments, blanks and junk lines are skipped."""
    out = []
    for line in text.split("\n"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            out.append(netaddrs.parse_cidr(line))
        except ValueError:
            continue
    return out


class CidrListUrl:
    """Identifies requesters inside the fetched list and outside ``exclude``."""

    def __init__(self, data: dict, clock=time.monotonic):
        self.source = data["source"]
        self.bind = data.get("bind")
        self.update = parse_duration(data["update"]).total_seconds()
        self.retry = parse_duration(data["retry"]).total_seconds()
        self.fail_state = data.get("fail-state", False)
        self.exclude = [netaddrs.parse_cidr(c) for c in data.get("exclude", [])]
        self.transform = None
        if "transform" in data:
            try:
                self.transform = compile_spec(data["transform"], output_raw=True)
            except JqError as exc:
                raise ValueError(f"Invalid transform: {exc}") from None
        self._clock = clock
        self._lock = threading.Lock()
        self.cidrs: list = []
        self.last_error: str | None = None
        self.next_attempt = 0.0
        self.refresh()

    def _fetch(self) -> list:
        response = http_get(self.source, bind=self.bind, timeout=FETCH_TIMEOUT)
        if response.status_code != 200:
            raise ValueError(f"Status {response.status_code} from {self.source}")
        text = response.text
        if self.transform is not None:
            text = self.transform.raw_text(json_load(text))
        return parse_cidr_text(text)

    def refresh(self, force: bool = False) -> None:
        """Fetch the list if it is due (or ``force``); failures keep the old list."""
        with self._lock:
            now = self._clock()
            if not force and now < self.next_attempt:
                return
            try:
                self.cidrs = self._fetch()
                self.last_error = None
                self.next_attempt = now + self.update
            except Exception as exc:  # any fetch/parse failure: retry later
                self.last_error = str(exc)
                self.next_attempt = now + self.retry

    def identifies(self, hints: dict) -> bool:
        self.refresh()
        if not self.cidrs:
            return self.fail_state
        if "requester" not in hints:
            return False
        ip = netaddrs.parse_ip(hints["requester"])
        return netaddrs.in_any(ip, self.cidrs) and not netaddrs.in_any(ip, self.exclude)
