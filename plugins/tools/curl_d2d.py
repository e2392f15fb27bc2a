"""``curl-d2d``: the disk-to-disk test with curl (its ``-w`` figures, not its progress bar)."""

from __future__ import annotations

import datetime as dt
import os

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    program_missing,
    seconds,
    seconds_iso,
    verdict,
)

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

DEFAULT_TIMEOUT = "PT10S"
WRITE_OUT = "%{size_download} %{speed_download} %{time_total}"


def _local(dest: str) -> str:
    return dest[len("file://") :] if dest.startswith("file://") else dest


def _source_url(source: str) -> str:
    return "file://" + source if source.startswith("/") and not source.startswith("//") else source


def curl_argv(spec: dict) -> list[str]:
    return ["curl", "-sS", "-f", "-o", _local(spec["dest"]), "-w", WRITE_OUT,
            _source_url(spec["source"])]  # fmt: skip


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = program_missing("curl")
    if any(str(spec.get(k, "")).startswith("gopher:") for k in ("source", "dest")):
        reasons.append("curl-d2d does not do gopher: URLs")
    if spec.get("dest") == "-":
        reasons.append("The destination must be a file")
    if "://" in spec.get("dest", "") and not spec["dest"].startswith("file://"):
        reasons.append("curl-d2d copies to a local file only")
    if spec.get("parallel", 1) > 1:
        reasons.append("curl-d2d does not do parallel streams")
    return verdict(reasons)


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    dest = _local(spec["dest"])
    if os.path.exists(dest) and not os.path.isfile(dest):
        return failed("Destination exists but is not a plain file.")
    argv = curl_argv(spec)
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    done = control.run_program(argv, timeout=seconds(spec.get("timeout", DEFAULT_TIMEOUT)))
    diags = " ".join(argv) + "\n\n" + done.stdout + done.stderr
    try:
        if done.status != 0:
            return failed(f"Error running program:\n{done.stderr.strip()}", diags)
        try:
            size, speed, total = (float(x) for x in done.stdout.split()[-3:])
        except ValueError:
            return failed("curl reported no transfer figures", diags)
        result = {
            "succeeded": True,
            "time": seconds_iso(total),
            "bytes-sent": size,
            "throughput": speed * 8,  # curl's speed is in bytes per second
        }
        return {"succeeded": True, "result": result, "diags": diags}
    finally:
        if spec.get("cleanup", True) and os.path.isfile(dest):
            os.remove(dest)


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "curl-d2d",
                "Copy a file from a URL with curl",
                tests=["disk-to-disk"],
                preference=0,
            ),  # fmt: skip
            duration=lambda test: dt.timedelta(
                seconds=seconds(test["spec"].get("timeout", DEFAULT_TIMEOUT)) + 2
            ),
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=lambda test, results: merge_first(
                test, results, ["time", "bytes-sent", "throughput"]
            ),
        )
    ]
