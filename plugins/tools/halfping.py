"""``halfping``: estimates one-way latency for the latency test as half of ping's RTT
(spec §6.4), as the original's halfping does."""

from __future__ import annotations

import datetime as dt

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    program_missing,
    unsupported_keys,
    verdict,
)
from pscheduler_plugins.tools.ping import parse_ping, ping_argv

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

ALLOWED = {
    "schema",
    "source",
    "source-node",
    "dest",
    "dest-node",
    "packet-count",
    "packet-interval",
    "packet-timeout",
    "packet-padding",
    "ip-tos",
    "ip-version",
    "bucket-width",
    "protocol",
}
DEFAULT_BUCKET = 0.01


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = program_missing("ping") + unsupported_keys("halfping", spec, ALLOWED)
    if spec.get("protocol", "icmp") != "icmp":
        reasons.append(f"halfping does not support protocol {spec['protocol']}")
    return verdict(reasons)


def duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    seconds = 2 + (spec.get("packet-count", 5) - 1) * spec.get("packet-interval", 1.0) + 2 + 1
    return dt.timedelta(seconds=seconds)


def bucket_label(latency_ms: float, width: float) -> str:
    """The original's histogram key: the bucket's lower edge, rounded to 2 decimals."""
    return str(round((latency_ms // width) * width, 2))


def latency_result(trips: list[dict], sent: int, width: float) -> dict:
    """Latency-test fields from replies ``{seq, ttl?, latency_ms}`` in arrival order."""
    seen: set[int] = set()
    dups = reorders = 0
    previous = None
    ttls: dict[str, int] = {}
    latencies: dict[str, int] = {}
    for trip in trips:
        if trip["seq"] in seen:
            dups += 1
            continue
        seen.add(trip["seq"])
        if previous is not None and trip["seq"] < previous:
            reorders += 1
        previous = trip["seq"]
        if trip.get("ttl") is not None:
            ttls[str(trip["ttl"])] = ttls.get(str(trip["ttl"]), 0) + 1
        label = bucket_label(trip["latency_ms"], width)
        latencies[label] = latencies.get(label, 0) + 1
    return {
        "schema": 1,
        "succeeded": True,
        "packets-sent": sent,
        "packets-received": len(seen),
        "packets-lost": max(0, sent - len(seen)),
        "packets-reordered": reorders,
        "packets-duplicated": dups,
        "histogram-ttl": ttls,
        "histogram-latency": latencies,
    }


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    ping_spec = {
        "dest": spec["dest"],
        "packet-count": spec.get("packet-count", 5),
        "packet-interval": spec.get("packet-interval", 1.0),
    }
    if "ip-version" in spec:
        ping_spec["ip-version"] = spec["ip-version"]
    if spec.get("packet-timeout"):  # 0 means "no timeout" for OWAMP; ping has a default
        ping_spec["timeout"] = f"PT{spec['packet-timeout']}S"
    if "packet-padding" in spec:
        ping_spec["length"] = spec["packet-padding"] + 56
    if "ip-tos" in spec:
        ping_spec["ip-tos"] = spec["ip-tos"]
    if "source" in spec:
        ping_spec["source"] = spec["source"]
    argv, _ = ping_argv(ping_spec, count_key="packet-count", interval_key="packet-interval")
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    done = control.run_program(argv)
    diags = " ".join(argv) + "\n\n" + done.stdout
    if done.status not in (0, 1):
        return failed(done.stderr.strip() or f"ping exited with status {done.status}", diags)
    parsed = parse_ping(done.stdout)
    trips = [
        {"seq": t["seq"], "ttl": t.get("ttl"), "latency_ms": t["rtt_s"] * 1000 / 2}
        for t in parsed["roundtrips"]
        if "rtt_s" in t
    ]
    trips += [{"seq": seq, "latency_ms": 0.0} for seq in parsed["duplicate_seqs"]]
    result = latency_result(
        trips, ping_spec["packet-count"], spec.get("bucket-width", DEFAULT_BUCKET)
    )
    return {"succeeded": True, "result": result, "error": None, "diags": diags}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "halfping",
                "Estimate one-way latency as half the ping round-trip time",
                tests=["latency"],
                preference=-100,
            ),
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=merge_first,
        )
    ]
