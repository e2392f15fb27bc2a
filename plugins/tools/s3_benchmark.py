"""``s3-benchmark``: the s3throughput test with Wasabi's s3-benchmark program.

s3-benchmark is not packaged in Debian, so ``can-run`` says so wherever it is missing.
Its per-loop lines (``Loop 1: PUT time 60.0 secs, objects = ..., speed = ...MB/sec, ...
operations/sec.``; GET likewise; ``DELETE time 2.3 secs, 2406.9 deletes/sec.``) give each
loop's times and rates; the result averages the times over the loops.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    seconds,
    seconds_iso,
    verdict,
)

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

NOT_PACKAGED = "s3-benchmark is not installed (it is not packaged in Debian)"
DEFAULT_DURATION = "PT5S"
DEFAULT_TIMEOUT = "PT120S"
_LOOP = re.compile(
    r"Loop (?P<loop>\d+): (?P<op>PUT|GET|DELETE) time (?P<time>[\d.]+) secs"
    r"(?:, objects = (?P<objects>\d+))?(?:, speed = (?P<speed>[\d.]+\w*/sec))?"
    r", (?P<rate>[\d.]+) (?:operations|deletes)/sec"
)


def s3_argv(spec: dict) -> list[str]:
    argv = ["s3-benchmark", "-a", spec["access-key"], "-s", spec["secret-key"]]
    argv += ["-b", spec["bucket"], "-u", spec["url"]]
    argv += ["-d", str(round(seconds(spec.get("duration", DEFAULT_DURATION))))]
    for key, flag in (("iterations", "-l"), ("threads", "-t"), ("object-size", "-z")):
        if key in spec:
            argv += [flag, str(spec[key])]
    return argv


def parse_loops(output: str) -> list[dict]:
    loops: dict[int, dict] = {}
    for match in _LOOP.finditer(output):
        entry = loops.setdefault(int(match["loop"]), {"loop": int(match["loop"])})
        op = match["op"].lower()
        entry[f"{op}-time"] = float(match["time"])
        entry[f"{op}-operations-per-second"] = float(match["rate"])
        if match["objects"]:
            entry[f"{op}-objects"] = int(match["objects"])
        if match["speed"]:
            entry[f"{op}-speed"] = match["speed"]
    return [loops[n] for n in sorted(loops)]


def summary(loops: list[dict]) -> dict:
    def mean(key: str) -> float:
        values = [loop[key] for loop in loops if key in loop]
        return sum(values) / len(values) if values else 0.0

    return {f"average_{op}_time": mean(f"{op}-time") for op in ("put", "get", "delete")}


def duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    return dt.timedelta(seconds=seconds(spec.get("timeout", DEFAULT_TIMEOUT)) + 5)


def can_run(test: dict) -> dict:
    return verdict([] if shutil.which("s3-benchmark") else [NOT_PACKAGED])


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    argv = s3_argv(spec)
    shown = " ".join("***" if a in (spec["access-key"], spec["secret-key"]) else a for a in argv)
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    began = time.monotonic()
    done = control.run_program(argv, timeout=seconds(spec.get("timeout", DEFAULT_TIMEOUT)))
    elapsed = time.monotonic() - began
    if done.status != 0:
        return failed(
            done.stderr.strip() or f"s3-benchmark exited with status {done.status}", shown
        )
    loops = parse_loops(done.stdout)
    if not loops:
        return failed("s3-benchmark reported no loops", shown + "\n\n" + done.stdout)
    result = {"succeeded": True, "time": seconds_iso(elapsed), **summary(loops), "loops": loops}
    return {"succeeded": True, "result": result, "diags": shown + "\n\n" + done.stdout}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "s3-benchmark",
                "Measure S3 throughput with s3-benchmark",
                tests=["s3throughput"],
                preference=0,
            ),  # fmt: skip
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=merge_first,
        )
    ]
