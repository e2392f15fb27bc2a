"""``nuttcp``: the throughput test with nuttcp (``-fparse`` output, one-shot server)."""

from __future__ import annotations

import re

from pscheduler_plugins.common import enumeration, program_missing, unsupported_keys, verdict
from pscheduler_plugins.tools.pairs import DEFAULT_DURATION, Pair, seconds_of

from pscheduler.hookspecs import Tool, hookimpl

ALLOWED = {
    "schema", "source", "source-node", "dest", "dest-node", "duration", "interval", "parallel",
    "udp", "reverse", "ip-version", "bandwidth", "buffer-length", "window-size", "ip-tos",
    "loopback", "link-rtt", "mss",
}  # fmt: skip
MEGABYTE = 2**20  # nuttcp's megabytes are binary ones


def server_argv(spec: dict, ports: list[int]) -> list[str]:
    return ["nuttcp", "-1", "--nofork", "-P", str(ports[0]), "-p", str(ports[1])]


def client_argv(spec: dict, dest: str, ports: list[int]) -> list[str]:
    argv = ["nuttcp", "-fparse", "-P", str(ports[0]), "-p", str(ports[1])]
    argv.append(f"-T{seconds_of(spec, 'duration', DEFAULT_DURATION):g}")
    if "interval" in spec:
        argv.append(f"-i{seconds_of(spec, 'interval', 1):g}")
    valued = {
        "parallel": "-N",
        "buffer-length": "-l",
        "ip-tos": "-c",
        "mss": "-M",
    }
    for key, flag in valued.items():
        if key in spec:
            argv.append(f"{flag}{spec[key]}")
    if "window-size" in spec:  # nuttcp takes kilobytes
        argv.append(f"-w{max(1, spec['window-size'] // 1024)}")
    if "bandwidth" in spec:  # and kilobits per second
        argv.append(f"-R{max(1, spec['bandwidth'] // 1000)}")
    argv += [flag for key, flag in (("udp", "-u"), ("reverse", "-r")) if spec.get(key)]
    if spec.get("ip-version"):
        argv.append(f"-{spec['ip-version']}")
    return argv + [dest]


_FIELDS = re.compile(r"(\w+)=([-\d.]+)")


def _data(fields: dict, start: float, end: float) -> dict:
    data = {
        "stream-id": 1,
        "start": start,
        "end": end,
        "throughput-bits": float(fields["rate_Mbps"]) * 1e6,
        "throughput-bytes": int(float(fields["megabytes"]) * MEGABYTE),
        "omitted": False,
    }
    if "retrans" in fields:
        data["retransmits"] = int(fields["retrans"])
    if "rtt_ms" in fields:
        data["rtt"] = float(fields["rtt_ms"]) * 1000  # microseconds, as iperf3 reports
    if "data_loss" in fields:
        data["lost"] = float(fields["data_loss"])
    return data


def parse(output: str, spec: dict) -> dict | None:
    """Interval lines carry ``real_sec``, the summary ``real_seconds``."""
    intervals, summary, clock = [], None, 0.0
    for line in output.splitlines():
        fields = dict(_FIELDS.findall(line))
        if "rate_Mbps" not in fields or "megabytes" not in fields:
            continue
        if "real_seconds" in fields:
            summary = _data(fields, 0.0, float(fields["real_seconds"]))
        elif "real_sec" in fields:
            end = clock + float(fields["real_sec"])
            block = _data(fields, clock, end)
            intervals.append({"streams": [block], "summary": dict(block)})
            clock = end
    if summary is None:
        return None
    return {"intervals": intervals, "summary": {"streams": [summary], "summary": dict(summary)}}


PAIR = Pair("nuttcp", "nuttcp", server_argv, client_argv, parse, ports=2)


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    return verdict(program_missing("nuttcp") + unsupported_keys("nuttcp", spec, ALLOWED))


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "nuttcp", "Measure throughput with nuttcp", tests=["throughput"], preference=5
            ),
            duration=PAIR.duration,
            run=PAIR.run,
            can_run=can_run,
            participant_data=PAIR.participant_data,
            merged_results=PAIR.merged_results,
        )
    ]
