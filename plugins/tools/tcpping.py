"""``tcpping``: runs the rtt test by timing TCP connects, in pure Python (spec §6.1).

A connect that completes is a reply; a refused, reset or timed-out connect is a lost packet.
"""

from __future__ import annotations

import datetime as dt
import socket
import time

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    reverse_lookup,
    seconds_iso,
    stats,
    unsupported_keys,
    verdict,
)

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

ALLOWED = {
    "count",
    "schema",
    "source",
    "source-node",
    "dest",
    "hostnames",
    "ip-version",
    "port",
    "protocol",
}
DEFAULT_PORT = 80
PROBE_TIMEOUT = 2.0
INTERVAL = 1.0


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = unsupported_keys("tcpping", spec, ALLOWED)
    if spec.get("protocol", "tcp") != "tcp":
        reasons.append(f"tcpping does not support protocol {spec['protocol']}")
    return verdict(reasons)


def duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    seconds = 2 + (spec.get("count", 5) - 1) * 2 + (2 if spec.get("hostnames", True) else 0) + 1
    return dt.timedelta(seconds=seconds)


def _address(spec: dict) -> tuple[int, tuple]:
    family = {4: socket.AF_INET, 6: socket.AF_INET6}.get(spec.get("ip-version"), socket.AF_UNSPEC)
    info = socket.getaddrinfo(
        spec["dest"], spec.get("port", DEFAULT_PORT), family, socket.SOCK_STREAM
    )
    return info[0][0], info[0][4]


def probe(family: int, address: tuple, source: str | None, timeout: float) -> float | None:
    """Seconds one TCP connect took, or None when it did not complete."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            if source:
                sock.bind((source, 0))
            started = time.perf_counter()
            sock.connect(address)
            return time.perf_counter() - started
        except OSError:
            return None


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    try:
        family, address = _address(spec)
    except (OSError, UnicodeError) as exc:
        return failed(f"Unable to resolve {spec['dest']}: {exc}")
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    count = spec.get("count", 5)
    trips: list[dict] = []
    for seq in range(1, count + 1):
        if seq > 1 and control.stop.wait(INTERVAL):
            return failed("Run was cancelled.")
        took = probe(
            family, address, spec.get("source"), min(PROBE_TIMEOUT, max(0.01, control.remaining()))
        )
        if took is not None:
            trips.append({"seq": seq, "ip": address[0], "rtt_s": took})
    names = reverse_lookup([address[0]]) if spec.get("hostnames", True) and trips else {}
    roundtrips = []
    for trip in trips:
        entry = {"seq": trip["seq"], "ip": trip["ip"], "rtt": seconds_iso(trip["rtt_s"])}
        if names:
            entry["hostname"] = names[trip["ip"]]
        roundtrips.append(entry)
    result = {
        "succeeded": True,
        "roundtrips": roundtrips,
        "sent": count,
        "received": len(trips),
        "lost": count - len(trips),
        "loss": (count - len(trips)) / count,
        "duplicates": 0,
        "reorders": 0,
        **{k: seconds_iso(v) for k, v in stats([t["rtt_s"] for t in trips]).items()},
    }
    diags = f"TCP connect to {address[0]} port {address[1]}, {count} probes"
    return {"succeeded": True, "result": result, "error": None, "diags": diags}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "tcpping",
                "Measure round-trip time as TCP connect time",
                tests=["rtt"],
                preference=0,
            ),
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=merge_first,
        )
    ]
