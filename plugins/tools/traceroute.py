"""``traceroute`` and ``tracepath``: run the trace test (spec §6.3).

Both run numerically (``-n``) and reverse-resolve hop addresses themselves, bounded in time.
Unless ``as`` is false, each routable hop gets ``as: {number, owner}`` from Team Cymru's DNS
(``pscheduler.toolkit.cymru``), all hops at once within ``AS_TIMEOUT``; hops whose look-up
gives no answer (off the internet: all of them) simply have no ``as``.
"""

from __future__ import annotations

import datetime as dt
import re

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    program_missing,
    reverse_lookup,
    seconds_iso,
    verdict,
)

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit import cymru
from pscheduler.toolkit.iso8601 import parse_duration, parse_timestamp

# traceroute's annotations after an RTT.
_TRACEROUTE_FLAGS = {
    "!H": "host-unreachable",
    "!N": "net-unreachable",
    "!P": "protocol-unreachable",
    "!S": "source-route-failed",
    "!F": "fragmentation-needed-and-df-set",
    "!X": "communication-administratively-prohibited",
    "!V": "host-precedence-violation",
    "!C": "precedence-cutoff-in-effect",
}
_TR_HOP = re.compile(r"^\s*(?P<ttl>\d+)\s+(?P<rest>.*)$")
_TR_REPLY = re.compile(
    r"^(?P<ip>[0-9a-fA-F.:]+)\s+(?P<ms>[\d.]+)\s*ms(?:\s+(?P<flag>![A-Z]?(?:-?\d+)?))?"
)

_TP_HOP = re.compile(r"^\s*(?P<ttl>\d+)\??:\s+(?P<rest>.*)$")
_TP_REPLY = re.compile(r"^(?P<ip>[0-9a-fA-F.:]+)\s+(?P<ms>[\d.]+)ms(?P<tail>.*)$")
_PMTU = re.compile(r"pmtu (\d+)")


def _hop(ip: str, ms: str, error: str | None = None, mtu: int | None = None) -> dict:
    hop = {"ip": ip, "rtt": seconds_iso(float(ms) / 1000)}
    if error:
        hop["error"] = error
    if mtu:
        hop["mtu"] = mtu
    return hop


def parse_traceroute(output: str) -> list[dict]:
    """Hops of ``traceroute -n -q 1`` output; ``{}`` for a hop that did not answer."""
    hops: dict[int, dict] = {}
    for line in output.splitlines()[1:]:
        match = _TR_HOP.match(line)
        if not match:
            continue
        ttl, rest = int(match["ttl"]), match["rest"].strip()
        reply = _TR_REPLY.match(rest)
        if not reply:
            hops[ttl] = {}
            continue
        flag = reply["flag"]
        error = _TRACEROUTE_FLAGS.get(flag[:2]) if flag else None
        mtu = int(flag[3:]) if flag and flag.startswith("!F-") and flag[3:].isdigit() else None
        hops[ttl] = _hop(reply["ip"], reply["ms"], error, mtu)
    return [hops.get(ttl, {}) for ttl in range(1, max(hops, default=0) + 1)]


def parse_tracepath(output: str) -> list[dict]:
    """Hops of ``tracepath -n`` output, first answer per TTL, with the path MTU seen so far."""
    hops: dict[int, dict] = {}
    mtu = None
    for line in output.splitlines():
        pmtu = _PMTU.search(line)
        if pmtu:
            mtu = int(pmtu[1])
        match = _TP_HOP.match(line)
        if not match or "[LOCALHOST]" in line:
            continue
        ttl, rest = int(match["ttl"]), match["rest"].strip()
        reply = _TP_REPLY.match(rest)
        if reply:
            if ttl not in hops or not hops[ttl]:
                hops[ttl] = _hop(reply["ip"], reply["ms"], mtu=mtu)
        else:
            hops.setdefault(ttl, {})
    # Hops seen before any pmtu line (loopback has none) get the path MTU of the summary.
    for hop in hops.values():
        if hop and "mtu" not in hop and mtu:
            hop["mtu"] = mtu
    return [hops.get(ttl, {}) for ttl in range(1, max(hops, default=0) + 1)]


def _seconds(spec: dict, key: str, default: float) -> float:
    return parse_duration(spec[key]).total_seconds() if key in spec else default


def _add_hostnames(hops: list[dict]) -> None:
    names = reverse_lookup([h["ip"] for h in hops if h.get("ip")])
    for hop in hops:
        if hop.get("ip"):
            hop["hostname"] = names.get(hop["ip"], hop["ip"])


AS_TIMEOUT = 2.0  # seconds for every hop's AS look-up together (the duration allows 4)


def add_ases(hops: list[dict], timeout: float = AS_TIMEOUT) -> None:
    """Give each hop whose address Team Cymru maps to an AS its ``as`` {number, owner}."""
    found = cymru.bulk_as([h["ip"] for h in hops if h.get("ip")], timeout=timeout)
    for hop in hops:
        if hop.get("ip") in found:
            hop["as"] = found[hop["ip"]]


def _runner(prog: str, argv_of, parse):
    def run(input: dict, control) -> dict:
        spec = input["test"]["spec"]
        argv = argv_of(spec)
        if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
            return failed("Run was cancelled.")
        done = control.run_program(argv)
        diags = " ".join(argv) + "\n\n" + done.stdout
        if done.status != 0:
            return failed(done.stderr.strip() or f"{prog} exited with status {done.status}", diags)
        hops = parse(done.stdout)
        if not hops:
            return failed(f"No hops found in {prog}'s output", diags)
        if spec.get("hostnames", True):
            _add_hostnames(hops)
        if spec.get("as", True):
            add_ases(hops)
        return {
            "succeeded": True,
            "result": {"succeeded": True, "paths": [hops]},
            "error": None,
            "diags": diags,
        }

    return run


# ---- traceroute ----


def traceroute_argv(spec: dict) -> list[str]:
    argv = ["traceroute", "-n", "-q", "1"]
    if "ip-version" in spec:
        argv.append(f"-{spec['ip-version']}")
    argv += {"icmp": ["-I"], "tcp": ["-T"], "udp": ["-U"]}.get(spec.get("probe-type", ""), [])
    if spec.get("fragment") is False:
        argv.append("-F")
    numeric = {
        "first-ttl": "-f",
        "hops": "-m",
        "dest-port": "-p",
        "ip-tos": "-t",
        "flow-label": "-l",
    }
    for key, flag in numeric.items():
        if key in spec:
            argv += [flag, str(spec[key])]
    if "source" in spec:
        argv += ["-s", spec["source"]]
    if "wait" in spec:
        argv += ["-w", f"{_seconds(spec, 'wait', 5):g}"]
    if "sendwait" in spec:
        argv += ["-z", f"{_seconds(spec, 'sendwait', 0):g}"]
    argv.append(spec["dest"])
    if "length" in spec:
        argv.append(str(spec["length"]))
    return argv


def traceroute_can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = program_missing("traceroute")
    if "algorithm" in spec:
        reasons.append("traceroute does not support algorithm")
    if spec.get("first-ttl", 1) > spec.get("hops", 30):
        reasons.append("first-ttl must not be greater than hops")
    if spec.get("queries", 1) != 1:
        reasons.append("traceroute supports only one query per hop")
    return verdict(reasons)


def traceroute_duration(test: dict) -> dt.timedelta:
    """sendwait·hops + wait + 2 (hostnames) + 4 (as) + 2; the 5 s default wait is counted,
    which the original forgot (its default was PT8S)."""
    spec = test["spec"]
    seconds = _seconds(spec, "sendwait", 0) * spec.get("hops", 30) + _seconds(spec, "wait", 5)
    seconds += (2 if spec.get("hostnames", True) else 0) + (4 if spec.get("as", True) else 0) + 2
    return dt.timedelta(seconds=seconds)


# ---- tracepath ----


def tracepath_argv(spec: dict) -> list[str]:
    argv = ["tracepath", "-n"]
    if "ip-version" in spec:
        argv.append(f"-{spec['ip-version']}")
    for key, flag in {"hops": "-m", "length": "-l", "dest-port": "-p"}.items():
        if key in spec:
            argv += [flag, str(spec[key])]
    return argv + [spec["dest"]]


def tracepath_can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = program_missing("tracepath")
    for key in ("algorithm", "first-ttl", "ip-tos", "wait", "sendwait"):
        if key in spec:
            reasons.append(f"tracepath does not support {key}")
    if spec.get("probe-type", "udp") != "udp":
        reasons.append("tracepath supports only udp probes")
    if spec.get("length", 28) < 28:
        reasons.append("tracepath needs a length of at least 28")
    if spec.get("fragment", False) is not False:
        reasons.append("tracepath does not support fragmentation")
    if spec.get("hops", 30) > 255:
        reasons.append("tracepath supports at most 255 hops")
    if spec.get("queries", 1) != 1:
        reasons.append("tracepath supports only one query per hop")
    return verdict(reasons)


def _tool(name: str, description: str, preference: int, can_run, duration, run) -> Tool:
    return Tool(
        enumeration=enumeration(name, description, tests=["trace"], preference=preference),
        duration=duration,
        run=run,
        can_run=can_run,
        participant_data=lambda test, participant: {},
        merged_results=lambda test, results: merge_first(test, results, ["succeeded", "paths"]),
    )


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        _tool(
            "traceroute",
            "Trace the path with traceroute",
            0,
            traceroute_can_run,
            traceroute_duration,
            _runner("traceroute", traceroute_argv, parse_traceroute),
        ),
        _tool(
            "tracepath",
            "Trace the path and its MTU with tracepath",
            -10,
            tracepath_can_run,
            lambda test: dt.timedelta(seconds=93 + 2 + 4 + 2),
            _runner("tracepath", tracepath_argv, parse_tracepath),
        ),
    ]
