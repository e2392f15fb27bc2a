"""``powstream``: the latencybg test with OWAMP's continuous sender.

powstream is not packaged in Debian (it comes with perfSONAR's OWAMP packages), so
``can-run`` says so wherever it is missing.  Where it exists, powstream runs for the
task's duration writing a session file per ``packet-count`` packets into the run's
temporary directory and naming each finished one on stdout (``-p``); each is read with
``owstats -R`` and handed over as a result of its own (background-multi).
"""

from __future__ import annotations

import datetime as dt
import shutil

from pscheduler_plugins.common import enumeration, failed, merge_first, seconds, verdict
from pscheduler_plugins.tools.halfping import latency_result
from pscheduler_plugins.tools.owping import parse_raw

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

NOT_PACKAGED = "powstream is not installed (it is not packaged in Debian; it comes with OWAMP)"
DEFAULT_COUNT = 600
DEFAULT_DURATION = "PT1H"


def can_run(test: dict) -> dict:
    reasons = [] if shutil.which("powstream") else [NOT_PACKAGED]
    if reasons == [] and not shutil.which("owstats"):
        reasons.append("owstats is not installed")
    return verdict(reasons)


def powstream_argv(spec: dict, directory: str) -> list[str]:
    argv = ["powstream", "-p", "-d", directory, "-c", str(spec.get("packet-count", DEFAULT_COUNT))]
    argv += ["-i", f"{spec.get('packet-interval', 0.1):g}"]
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
    if spec.get("flip"):
        argv.append("-t")
    dest = spec["dest"]
    if ":" in dest:
        dest = f"[{dest}]"
    return argv + [dest + (f":{spec['ctrl-port']}" if "ctrl-port" in spec else "")]


def duration(test: dict) -> dt.timedelta:
    return dt.timedelta(seconds=seconds(test["spec"].get("duration", DEFAULT_DURATION)) + 5)


def session_result(spec: dict, raw_output: str) -> dict:
    trips, raw, max_error = parse_raw(raw_output)
    result = latency_result(
        trips, len(raw) or spec.get("packet-count", DEFAULT_COUNT),
        spec.get("bucket-width", 0.001) * 1000,
    )  # fmt: skip
    if max_error is not None:
        result["max-clock-error"] = max_error
    if spec.get("output-raw"):
        result["raw-packets"] = raw
    return result


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    argv = powstream_argv(spec, control.tmpdir or ".")
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    done = control.run_program(argv, timeout=seconds(spec.get("duration", DEFAULT_DURATION)))
    diags = " ".join(argv)
    sessions = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    if done.status not in (0, 2) or (done.status == 127 and not sessions):
        return failed(done.stderr.strip() or f"powstream exited with status {done.status}", diags)
    last = None
    for path in sessions:
        stats = control.run_program(["owstats", "-R", path])
        if stats.status != 0:
            continue
        last = session_result(spec, stats.stdout)
        if control.emit is not None:
            control.emit({"schema": 1, **last})
    if last is None:
        return failed(done.stderr.strip() or "powstream completed no session", diags)
    return {"succeeded": True, "result": last, "diags": diags}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "powstream",
                "Measure one-way latency continuously with OWAMP's powstream",
                tests=["latencybg"],
                preference=0,
            ),  # fmt: skip
            duration=duration,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=merge_first,
        )
    ]
