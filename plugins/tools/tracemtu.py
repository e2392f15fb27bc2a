"""``tracemtu``: the path MTU as ``tracepath`` discovers it (the ``Resume: pmtu N`` line)."""

from __future__ import annotations

import datetime as dt
import re

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    program_missing,
    unsupported_keys,
    verdict,
)

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

MAX_HOPS = 30
# tracepath waits about a second for an answer to each probe; a few hops on a slow path
# take most of that.
DURATION = dt.timedelta(seconds=25)

_RESUME = re.compile(r"Resume: pmtu (\d+)")
_PMTU = re.compile(r"pmtu (\d+)")


def tracepath_argv(spec: dict) -> list[str]:
    argv = ["tracepath", "-n", "-m", str(MAX_HOPS)]
    if "port" in spec:
        argv += ["-p", str(spec["port"])]
    return argv + [spec["dest"]]


def parse_mtu(output: str) -> tuple[int | None, list[int]]:
    """(path MTU from the summary line, every MTU tracepath reported on the way)."""
    seen = [int(m) for m in _PMTU.findall(output)]
    resume = _RESUME.search(output)
    if resume:
        return int(resume[1]), seen
    return (min(seen) if seen else None), seen


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    reasons = program_missing("tracepath")
    reasons += unsupported_keys(
        "tracemtu", spec, {"schema", "source", "source-node", "dest", "port"}
    )
    return verdict(reasons)


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    argv = tracepath_argv(spec)
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    done = control.run_program(argv)
    mtu, seen = parse_mtu(done.stdout)
    diags = " ".join(argv) + "\n\n" + done.stdout + done.stderr
    if mtu is None:
        return failed(
            done.stderr.strip() or f"tracepath found no MTU (status {done.status})", diags
        )
    return {"succeeded": True, "result": {"succeeded": True, "mtu": mtu}, "diags": diags}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "tracemtu", "Find the path MTU with tracepath", tests=["mtu"], preference=0
            ),
            duration=lambda test: DURATION,
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=lambda test, results: merge_first(test, results, ["mtu"]),
        )
    ]
