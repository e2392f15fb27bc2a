"""``paris-traceroute``: the trace test with Paris traceroute probes, through scamper.

Paris traceroute keeps every probe of a trace in one flow (same header fields that load
balancers hash), so the path found is one real path.  scamper implements it
(``trace -P udp-paris`` / ``icmp-paris``) and reports each trace as JSON.
"""

from __future__ import annotations

import datetime as dt
import json

from pscheduler_plugins.common import (
    ICMP_ERRORS,
    enumeration,
    failed,
    merge_first,
    program_missing,
    seconds_iso,
    verdict,
)
from pscheduler_plugins.tools.traceroute import AS_TIMEOUT, _add_hostnames, _seconds, add_ases

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

METHODS = {"udp": "udp-paris", "icmp": "icmp-paris"}
# ICMP destination-unreachable codes, in the order of the test's error names (code 3, port
# unreachable, is how a UDP probe arrives and is no error).
_UNREACHABLE = dict(enumerate(ICMP_ERRORS))


def scamper_argv(spec: dict) -> list[str]:
    trace = ["trace", "-P", METHODS[spec.get("probe-type", "udp")], "-q", "1"]
    for key, flag in {"hops": "-m", "first-ttl": "-f", "dest-port": "-d", "ip-tos": "-t"}.items():
        if key in spec:
            trace += [flag, str(spec[key])]
    if "wait" in spec:
        trace += ["-w", str(max(1, round(_seconds(spec, "wait", 5))))]
    if "length" in spec:
        trace += ["-s", str(spec["length"])]
    if "source" in spec:
        trace += ["-S", spec["source"]]
    return ["scamper", "-O", "json", "-c", " ".join(trace), "-i", spec["dest"]]


def parse_scamper(output: str) -> list[dict] | None:
    """Hops of scamper's trace record, ``{}`` for a TTL that did not answer; None when
    there is no trace record."""
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("type") != "trace":
            continue
        hops: dict[int, dict] = {}
        for reply in record.get("hops", []):
            ttl = reply.get("probe_ttl")
            if ttl is None or ttl in hops:
                continue
            hop = {"ip": reply["addr"], "rtt": seconds_iso(float(reply.get("rtt", 0)) / 1000)}
            if reply.get("icmp_type") == 3 and reply.get("icmp_code") != 3:
                error = _UNREACHABLE.get(reply.get("icmp_code"))
                if error:
                    hop["error"] = error
            hops[ttl] = hop
        first = record.get("firsthop", 1)
        last = max(hops, default=first - 1)
        return [hops.get(ttl, {}) for ttl in range(first, last + 1)]
    return None


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = program_missing("scamper")
    if spec.get("probe-type", "udp") not in METHODS:
        reasons.append("paris-traceroute supports only udp and icmp probes")
    for key in ("algorithm", "flow-label", "sendwait", "fragment"):
        if key in spec:
            reasons.append(f"paris-traceroute does not support {key}")
    if spec.get("queries", 1) != 1:
        reasons.append("paris-traceroute supports only one query per hop")
    return verdict(reasons)


def duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    seconds = _seconds(spec, "wait", 5) * 2 + (2 if spec.get("hostnames", True) else 0) + 3
    seconds += 2 * AS_TIMEOUT if spec.get("as", True) else 0
    return dt.timedelta(seconds=seconds)


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    argv = scamper_argv(spec)
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    done = control.run_program(argv)
    diags = " ".join(argv) + "\n\n" + done.stdout + done.stderr
    hops = parse_scamper(done.stdout) if done.status == 0 else None
    if not hops:
        return failed(done.stderr.strip() or "scamper reported no trace", diags)
    if spec.get("hostnames", True):
        _add_hostnames(hops)
    if spec.get("as", True):
        add_ases(hops)
    return {"succeeded": True, "result": {"succeeded": True, "paths": [hops]}, "diags": diags}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "paris-traceroute",
                "Trace one flow's path with Paris traceroute (scamper)",
                tests=["trace"],
                preference=-5,
            ),  # fmt: skip
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=lambda test, results: merge_first(test, results, ["succeeded", "paths"]),
        )
    ]
