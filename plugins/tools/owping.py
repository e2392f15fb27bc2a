"""``owping``: runs the latency test with the OWAMP client (spec §6.4).

Parses ``owping -R`` raw records (``seq stime ssync serr rtime rsync rerr ttl``, NTP 64-bit
timestamps); a record whose receive time is 0 is a lost packet.
"""

from __future__ import annotations

import datetime as dt

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    program_missing,
    verdict,
)
from pscheduler_plugins.tools.halfping import latency_result

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

DEFAULT_BUCKET = 0.001


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = program_missing("owping")
    if spec.get("schema", 1) > 4:
        reasons.append(f"Schema version {spec['schema']} is not supported (highest is 4)")
    if spec.get("protocol", "owamp") != "owamp":
        reasons.append(f"owping does not support protocol {spec['protocol']}")
    return verdict(reasons)


def duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    count, interval = spec.get("packet-count", 100), spec.get("packet-interval", 0.1)
    seconds = interval * count * 1.1 + count / 50000 + spec.get("packet-timeout", 0) + 10 + 1
    return dt.timedelta(seconds=int(seconds))


def owping_argv(spec: dict) -> list[str]:
    argv = [
        "owping",
        "-R",
        "-c",
        str(spec.get("packet-count", 100)),
        "-i",
        f"{spec.get('packet-interval', 0.1):g}",
    ]
    argv += ["-L", str(spec.get("packet-timeout", 0))]
    if "packet-padding" in spec:
        argv += ["-s", str(spec["packet-padding"])]
    if "data-ports" in spec:
        argv += ["-P", f"{spec['data-ports']['lower']}-{spec['data-ports']['upper']}"]
    if "ip-tos" in spec:
        argv += ["-D", str(spec["ip-tos"] >> 2)]
    if "ip-version" in spec:
        argv.append(f"-{spec['ip-version']}")
    if "source" in spec:
        argv += ["-S", spec["source"]]
    argv.append("-f" if spec.get("reverse") else "-t")
    dest = spec["dest"]
    if ":" in dest:
        dest = f"[{dest}]"
    return argv + [dest + (f":{spec['ctrl-port']}" if "ctrl-port" in spec else "")]


def _ntp_seconds(value: str) -> float:
    number = int(value, 16) if any(c in value.lower() for c in "abcdef") else int(value)
    return number / 2**32


def parse_raw(output: str) -> tuple[list[dict], list[dict], float | None]:
    """(trips for latency_result, raw-packets records, max clock error in ms)."""
    trips, raw, max_error = [], [], None
    for line in output.splitlines():
        fields = line.split()
        if len(fields) != 8 or not fields[0].isdigit():
            continue
        try:
            seq, stime, ssync, serr, rtime, rsync, rerr, ttl = fields
            record = {
                "seq-num": int(seq),
                "src-ts": int(stime, 0) if stime.startswith("0x") else int(stime),
                "src-clock-sync": ssync == "1",
                "src-clock-err": float(serr),
                "dst-ts": int(rtime, 0) if rtime.startswith("0x") else int(rtime),
                "dst-clock-sync": rsync == "1",
                "dst-clock-err": float(rerr),
                "ip-ttl": int(ttl),
            }
        except ValueError:
            continue
        raw.append(record)
        if record["dst-ts"] == 0:
            continue
        latency = (_ntp_seconds(rtime) - _ntp_seconds(stime)) * 1000
        trips.append({"seq": record["seq-num"], "ttl": record["ip-ttl"], "latency_ms": latency})
        error = (record["src-clock-err"] + record["dst-clock-err"]) * 1000
        max_error = error if max_error is None else max(max_error, error)
    return trips, raw, max_error


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    argv = owping_argv(spec)
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    done = control.run_program(argv)
    diags = " ".join(argv)
    if done.status != 0:
        return failed(done.stderr.strip() or f"owping exited with status {done.status}", diags)
    trips, raw, max_error = parse_raw(done.stdout)
    result = latency_result(
        trips, spec.get("packet-count", 100), spec.get("bucket-width", DEFAULT_BUCKET) * 1000
    )
    if max_error is not None:
        result["max-clock-error"] = max_error
    if spec.get("output-raw"):
        result["raw-packets"] = raw
    return {"succeeded": True, "result": result, "error": None, "diags": diags}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "owping",
                "Measure one-way latency with the OWAMP client",
                tests=["latency"],
                preference=0,
            ),
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=merge_first,
        )
    ]
