"""``twping``: the latency and rtt tests with the TWAMP client (``twping -R`` raw records).

twping is not packaged in Debian (it comes with perfSONAR's OWAMP/TWAMP packages), so
``can-run`` says so wherever it is missing.  Its raw records are owping's
(``seq stime ssync serr rtime rsync rerr ttl``); for rtt a record's round trip is its
receive time less its send time, both on the client's clock.
"""

from __future__ import annotations

import shutil

from pscheduler_plugins.common import enumeration, failed, merge_first, verdict
from pscheduler_plugins.tools import owping
from pscheduler_plugins.tools.halfping import latency_result
from pscheduler_plugins.tools.ping import rtt_result

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp

NOT_PACKAGED = "twping is not installed (it is not packaged in Debian; it comes with TWAMP)"


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = [] if shutil.which("twping") else [NOT_PACKAGED]
    if test.get("type") == "latency" and spec.get("protocol", "twamp") != "twamp":
        reasons.append(f"twping does not support protocol {spec['protocol']}")
    return verdict(reasons)


def twping_argv(test_type: str, spec: dict) -> list[str]:
    """owping's options for latency; rtt's count, interval and timeout map onto them."""
    if test_type == "rtt":
        spec = {
            "dest": spec["dest"],
            "packet-count": spec.get("count", 5),
            "packet-interval": parse_duration(spec.get("interval", "PT1S")).total_seconds(),
            **({"source": spec["source"]} if "source" in spec else {}),
            **({"ip-version": spec["ip-version"]} if "ip-version" in spec else {}),
            **({"ip-tos": spec["ip-tos"]} if "ip-tos" in spec else {}),
        }
    argv = owping.owping_argv(spec)
    argv[0] = "twping"
    # twping has no direction to choose: drop owping's -t/-f.
    return [a for a in argv if a not in ("-t", "-f")]


def duration(test: dict):
    if test.get("type") == "rtt":
        spec = test["spec"]
        count = spec.get("count", 5)
        interval = parse_duration(spec.get("interval", "PT1S")).total_seconds()
        return owping.duration({"spec": {"packet-count": count, "packet-interval": interval}})
    return owping.duration(test)


def run(input: dict, control) -> dict:
    test_type, spec = input["test"]["type"], input["test"]["spec"]
    argv = twping_argv(test_type, spec)
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    done = control.run_program(argv)
    diags = " ".join(argv)
    if done.status != 0:
        return failed(done.stderr.strip() or f"twping exited with status {done.status}", diags)
    trips, raw, _ = owping.parse_raw(done.stdout)
    if test_type == "rtt":
        parsed = {
            "roundtrips": [
                {"seq": t["seq"], "ip": spec["dest"], "ttl": t["ttl"], "rtt_s": t["latency_ms"] / 1000}
                for t in trips
            ],
            "duplicate_seqs": [],
            "sent": len(raw),
        }  # fmt: skip
        result = rtt_result(parsed, spec.get("count", 5), hostnames=False)
    else:
        result = latency_result(
            trips, spec.get("packet-count", 100), spec.get("bucket-width", 0.001) * 1000
        )
        if spec.get("output-raw"):
            result["raw-packets"] = raw
    return {"succeeded": True, "result": result, "diags": diags}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "twping", "Determine latency with TWAMP", tests=["latency", "rtt"], preference=-10
            ),
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=merge_first,
        )
    ]
