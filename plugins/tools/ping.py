"""``ping``: runs the rtt test with the system ping and parses every reply (spec §6.1)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    program_missing,
    reverse_lookup,
    seconds_iso,
    stats,
    verdict,
)

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp

_REPLY = re.compile(
    r"^(?P<length>\d+) bytes from (?:(?P<name>\S+) \((?P<ip>[^)]+)\)|(?P<bare>\S+?)):?"
    r"\s+icmp_seq=(?P<seq>\d+)(?:\s+ttl=(?P<ttl>\d+))?(?:\s+time=(?P<time>[\d.]+)\s*ms)?"
    r"(?P<dup>.*\(DUP!\))?"
)
_ERROR = re.compile(
    r"^From (?P<from>\S+?)(?: \((?P<ip>[^)]+)\))?:? icmp_seq=(?P<seq>\d+) (?P<msg>.+)$"
)
_SUMMARY = re.compile(r"(?P<sent>\d+) packets transmitted, (?P<received>\d+) received")

# ping's texts for ICMP errors, most specific first.
_ICMP_TEXTS = [
    ("net unreachable for tos", "network-unreachable-for-type-of-service"),
    ("host unreachable for tos", "host-unreachable-for-type-of-service"),
    ("destination net unreachable", "net-unreachable"),
    ("destination host unreachable", "host-unreachable"),
    ("destination protocol unreachable", "protocol-unreachable"),
    ("destination port unreachable", "port-unreachable"),
    ("frag needed", "fragmentation-needed-and-df-set"),
    ("source route failed", "source-route-failed"),
    ("destination net unknown", "destination-network-unknown"),
    ("destination host unknown", "destination-host-unknown"),
    ("source host isolated", "source-host-isolated"),
    ("destination net prohibited", "destination-network-administratively-prohibited"),
    ("destination host prohibited", "destination-host-administratively-prohibited"),
    ("packet filtered", "communication-administratively-prohibited"),
    ("administratively prohibited", "communication-administratively-prohibited"),
    ("precedence violation", "host-precedence-violation"),
    ("precedence cutoff", "precedence-cutoff-in-effect"),
    ("no route", "net-unreachable"),
    ("address unreachable", "host-unreachable"),
    ("port unreachable", "port-unreachable"),
]


def icmp_error(message: str) -> str | None:
    """The pScheduler name of an ICMP error as ping words it, or None if not an error."""
    text = message.lower()
    for needle, name in _ICMP_TEXTS:
        if needle in text:
            return name
    return None


def parse_ping(output: str) -> dict:
    """Every reply and error line of ping's output, in order, plus its own packet counts.

    Returns {roundtrips: [{seq, length, ip, ttl, rtt_s | error}], duplicate_seqs: [seq],
    sent?: n, received?: n}.  Lines that are neither (headers, summaries) are skipped.
    """
    trips: list[dict] = []
    dups: list[int] = []
    summary: dict = {}
    for line in output.splitlines():
        line = line.strip()
        match = _REPLY.match(line)
        if match:
            trip = {
                "seq": int(match["seq"]),
                "length": int(match["length"]),
                "ip": match["ip"] or match["bare"],
            }
            if match["ttl"]:
                trip["ttl"] = int(match["ttl"])
            if match["time"]:
                trip["rtt_s"] = float(match["time"]) / 1000.0
            if match["dup"]:
                dups.append(trip["seq"])
                continue
            trips.append(trip)
            continue
        match = _ERROR.match(line)
        if match:
            error = icmp_error(match["msg"])
            if error:
                trips.append(
                    {"seq": int(match["seq"]), "ip": match["ip"] or match["from"], "error": error}
                )
            continue
        match = _SUMMARY.search(line)
        if match:
            summary = {"sent": int(match["sent"]), "received": int(match["received"])}
    return {"roundtrips": trips, "duplicate_seqs": dups, **summary}


def rtt_result(parsed: dict, count: int, hostnames: bool) -> dict:
    """The rtt test's result fields from parsed ping output."""
    trips = parsed["roundtrips"]
    replies = [t for t in trips if "rtt_s" in t]
    names = reverse_lookup([t["ip"] for t in trips]) if hostnames else {}
    received = len({t["seq"] for t in replies})
    sent = max(parsed.get("sent", count), received)
    reorders = sum(1 for a, b in zip(replies, replies[1:], strict=False) if b["seq"] < a["seq"])
    roundtrips = []
    for trip in trips:
        entry = {k: v for k, v in trip.items() if k != "rtt_s"}
        if "rtt_s" in trip:
            entry["rtt"] = seconds_iso(trip["rtt_s"])
        if hostnames and trip.get("ip") and "error" not in trip:
            entry["hostname"] = names.get(trip["ip"], trip["ip"])
        roundtrips.append(entry)
    result = {
        "succeeded": True,
        "roundtrips": roundtrips,
        "sent": sent,
        "received": received,
        "lost": sent - received,
        "loss": (sent - received) / sent if sent else 1.0,
        "duplicates": len(parsed["duplicate_seqs"]),
        "reorders": reorders,
    }
    result.update({k: seconds_iso(v) for k, v in stats([t["rtt_s"] for t in replies]).items()})
    return result


def _seconds(spec: dict, key: str, default: float) -> float:
    return parse_duration(spec[key]).total_seconds() if key in spec else default


def _resolve(dest: str, version: int | None) -> tuple[str, int]:
    """The address ping should use and its IP version (ping6 behaviour for v6)."""
    try:
        ip = ipaddress.ip_address(dest)
        return str(ip), ip.version
    except ValueError:
        pass
    family = {4: socket.AF_INET, 6: socket.AF_INET6}.get(version, socket.AF_UNSPEC)
    try:
        info = socket.getaddrinfo(dest, None, family, socket.SOCK_RAW)
    except OSError:
        return dest, version or 4
    address = info[0][4][0]
    return address, 6 if ":" in address else 4


def ping_argv(
    spec: dict, count_key: str = "count", interval_key: str = "interval"
) -> tuple[list[str], str]:
    """The ping command line for an rtt spec, and the address it pings."""
    dest, version = _resolve(spec["dest"], spec.get("ip-version"))
    argv = ["ping", f"-{version}", "-n", "-c", str(spec.get(count_key, 5))]
    interval = spec.get(interval_key)
    if interval is not None:
        seconds = (
            interval
            if isinstance(interval, int | float)
            else parse_duration(interval).total_seconds()
        )
        argv += ["-i", f"{seconds:g}"]
    options = {
        "timeout": lambda v: ["-W", f"{parse_duration(v).total_seconds():g}"],
        "deadline": lambda v: ["-w", str(max(1, round(parse_duration(v).total_seconds())))],
        "length": lambda v: ["-s", str(v)],
        "ttl": lambda v: ["-t", str(v)],
        "ip-tos": lambda v: ["-Q", str(v)],
        "flow-label": lambda v: ["-F", str(v)],
        "source": lambda v: ["-I", v],
        "suppress-loopback": lambda v: ["-L"] if v else [],
        "fragment": lambda v: ["-M", "dont" if not v else "want"],
    }
    for key, make in options.items():
        if key in spec:
            argv += make(spec[key])
    return argv + [dest], dest


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = program_missing("ping")
    if spec.get("schema", 1) > 4:
        reasons.append(f"Schema version {spec['schema']} is not supported (highest is 4)")
    if "port" in spec:
        reasons.append("ping does not support port")
    if spec.get("protocol", "icmp") != "icmp":
        reasons.append(f"ping does not support protocol {spec['protocol']}")
    if "flow-label" in spec and spec.get("ip-version") != 6:
        reasons.append("Flow label is only supported with ip-version 6")
    return verdict(reasons)


def duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    if "deadline" in spec:
        seconds = _seconds(spec, "deadline", 0)
    else:
        seconds = (spec.get("count", 5) - 1) * _seconds(spec, "interval", 1.0) + _seconds(
            spec, "timeout", 2.0
        )
    seconds += 1 + (2 if spec.get("hostnames", True) else 0) + 1
    return dt.timedelta(seconds=seconds)


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    argv, _ = ping_argv(spec)
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    done = control.run_program(argv)
    diags = " ".join(argv) + "\n\n" + done.stdout
    # ping exits 1 when replies are missing: still a measurement (100 % loss).
    if done.status not in (0, 1) or (done.status == 1 and done.stderr.strip()):
        return failed(done.stderr.strip() or f"ping exited with status {done.status}", diags)
    result = rtt_result(parse_ping(done.stdout), spec.get("count", 5), spec.get("hostnames", True))
    return {"succeeded": True, "result": result, "error": None, "diags": diags}


RESULT_FIELDS = [
    "succeeded",
    "roundtrips",
    "loss",
    "sent",
    "received",
    "lost",
    "duplicates",
    "reorders",
    "min",
    "max",
    "mean",
    "stddev",
]


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "ping", "Measure round-trip time with the system ping", tests=["rtt"], preference=0
            ),
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=lambda test, results: merge_first(test, results, RESULT_FIELDS),
        )
    ]
