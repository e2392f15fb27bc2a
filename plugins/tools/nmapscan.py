"""``nmapscan``: the openports test with nmap (its XML report, ``-oX -``)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ElementTree

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    program_missing,
    seconds,
    verdict,
)

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

DEFAULT_TIMEOUT = "PT60S"
_SERVICE = ["name", "product", "version", "ostype", "extrainfo"]


def nmap_argv(spec: dict) -> list[str]:
    argv = ["nmap", "-n", "-Pn", "-oX", "-"]
    if ":" in spec["network"]:
        argv.append("-6")
    if "ports" in spec:
        argv += ["-p", spec["ports"]]
    if spec.get("services"):
        argv.append("-sV")
    if "source" in spec:
        argv += ["-S", spec["source"]]
    argv += ["--host-timeout", f"{max(1, int(seconds(spec.get('timeout', DEFAULT_TIMEOUT))))}s"]
    return argv + [spec["network"]]


def parse(xml_text: str, services: bool) -> dict:
    """{address: {port: state}} (or {port: {state, name, ...}} with services) of the hosts
    nmap found up, open ports only, as the original reports."""
    root = ElementTree.fromstring(xml_text)
    found: dict = {}
    for host in root.iter("host"):
        status = host.find("status")
        if status is not None and status.get("state") != "up":
            continue
        address = host.find("address").get("addr")
        ports: dict = {}
        for port in host.iter("port"):
            state = port.find("state").get("state")
            if state != "open":
                continue
            if services:
                info = {"state": state}
                service = port.find("service")
                if service is not None:
                    info.update({k: service.get(k) for k in _SERVICE if service.get(k)})
                ports[port.get("portid")] = info
            else:
                ports[port.get("portid")] = state
        found[address] = ports
    return found


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    argv = nmap_argv(spec)
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    done = control.run_program(argv)
    diags = " ".join(argv) + "\n\n" + done.stdout + done.stderr
    if done.status != 0:
        return failed(done.stderr.strip() or f"nmap exited with status {done.status}", diags)
    try:
        found = parse(done.stdout, bool(spec.get("services")))
    except (ElementTree.ParseError, AttributeError) as exc:
        return failed(f"Unreadable nmap report: {exc}", diags)
    return {"succeeded": True, "result": {"succeeded": True, "result": found}, "diags": diags}


def duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    return dt.timedelta(seconds=seconds(spec.get("timeout", DEFAULT_TIMEOUT)) + 5)


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "nmapscan", "Find open ports with nmap", tests=["openports"], preference=0
            ),
            duration=duration,
            run=run,
            can_run=lambda test: verdict(program_missing("nmap")),
            participant_data=lambda test, participant: {},
            merged_results=lambda test, results: merge_first(test, results, ["result"]),
        )
    ]
