"""``fpingreach`` and ``nmapreach``: the netreach test with fping or nmap's ping scan.

Both probe the gateway (when the spec names one) on its own, then the network's other
hosts in the spec's scan order, ``parallel`` at a time, up to ``limit``, stopping at the
first batch in which anything answered.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
import re
from collections.abc import Callable, Iterator

from pscheduler_plugins.common import (
    enumeration,
    failed,
    merge_first,
    program_missing,
    seconds,
    verdict,
)
from pscheduler_plugins.tests.netreach import gateway_address

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

DEFAULT_TIMEOUT = "PT3S"
DEFAULT_PARALLEL = 100


def _hosts(network) -> int:
    return network.num_addresses - 2


def scan_order(network, scan: str, limit: int | None, exclude=None) -> Iterator[str]:
    """The network's host addresses (never the network or broadcast address, never
    ``exclude``) in the order ``scan`` names, at most ``limit`` of them."""
    count = _hosts(network)
    if scan == "up":
        numbers: Iterator[int] = iter(range(1, count + 1))
    elif scan == "down":
        numbers = iter(range(count, 0, -1))
    elif scan == "random":
        numbers = iter(random.sample(range(1, count + 1), min(count, (limit or count) + 1)))
    else:  # edges: alternate from the bottom and the top
        low, high = 1, count
        both: list[int] = []
        while low <= high:
            both.append(low)
            if high != low:
                both.append(high)
            low, high = low + 1, high - 1
        numbers = iter(both)
    given = 0
    for number in numbers:
        if limit is not None and given >= limit:
            return
        address = network[number]
        if address == exclude:
            continue
        given += 1
        yield str(address)


def _fping(network, timeout: float, addresses: list[str]) -> list[str]:
    return [
        "fping",
        f"-{network.version}",
        "-q",
        "-a",
        "-r",
        "1",
        "-t",
        str(int(timeout * 1000)),
        *addresses,
    ]


def _fping_up(output: str) -> set[str]:
    return {line.strip() for line in output.splitlines() if line.strip()}


def _nmap(network, timeout: float, addresses: list[str]) -> list[str]:
    argv = ["nmap", "-sn", "-n", "--max-retries", "1", "--host-timeout", f"{max(1, int(timeout))}s"]
    return argv + (["-6"] if network.version == 6 else []) + ["-oG", "-", *addresses]


_NMAP_UP = re.compile(r"^Host: (\S+) .*Status: Up", re.MULTILINE)


def _nmap_up(output: str) -> set[str]:
    return set(_NMAP_UP.findall(output))


def _runner(name: str, argv_of: Callable, up_in: Callable[[str], set[str]], ok: set[int]):
    def run(input: dict, control) -> dict:
        spec = input["test"]["spec"]
        network = ipaddress.ip_network(spec["network"])
        timeout = seconds(spec.get("timeout", DEFAULT_TIMEOUT))
        parallel = spec.get("parallel", DEFAULT_PARALLEL)
        gateway = gateway_address(network, spec["gateway"]) if "gateway" in spec else None
        diags: list[str] = []
        if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
            return failed("Run was cancelled.")

        def probe(addresses: list[str]) -> set[str] | str:
            argv = argv_of(network, timeout, addresses)
            done = control.run_program(argv)
            diags.append(f"{' '.join(argv)}\nExited {done.status}\n{done.stdout}{done.stderr}")
            if done.status not in ok:
                return done.stderr.strip() or f"{name} exited with status {done.status}"
            return up_in(done.stdout)

        result: dict = {"succeeded": True}
        if gateway is not None:
            answered = probe([str(gateway)])
            if isinstance(answered, str):
                return failed(answered, "\n".join(diags))
            result["gateway-up"] = str(gateway) in answered
        result["network-up"] = False
        batch: list[str] = []
        order = list(scan_order(network, spec.get("scan", "edges"), spec.get("limit"), gateway))
        for index, address in enumerate(order):
            batch.append(address)
            if len(batch) < parallel and index < len(order) - 1:
                continue
            answered = probe(batch)
            if isinstance(answered, str):
                return failed(answered, "\n".join(diags))
            batch = []
            if answered:
                result["network-up"] = True
                break
        return {"succeeded": True, "result": result, "diags": "\n".join(diags)}

    return run


def _duration(test: dict) -> dt.timedelta:
    spec = test["spec"]
    network = ipaddress.ip_network(spec["network"], strict=False)
    hosts = min(spec.get("limit", _hosts(network)), _hosts(network))
    batches = -(-hosts // spec.get("parallel", DEFAULT_PARALLEL)) + ("gateway" in spec)
    return dt.timedelta(
        seconds=batches * (2 * seconds(spec.get("timeout", DEFAULT_TIMEOUT)) + 1) + 2
    )


def _can_run(prog: str):
    return lambda test: verdict(program_missing(prog))


def _tool(name: str, description: str, prog: str, run, preference: int) -> Tool:
    return Tool(
        enumeration=enumeration(name, description, tests=["netreach"], preference=preference),
        duration=_duration,
        run=run,
        can_run=_can_run(prog),
        participant_data=lambda test, participant: {},
        merged_results=lambda test, results: merge_first(
            test, results, ["gateway-up", "network-up"]
        ),
    )


@hookimpl
def pscheduler_tools() -> list[Tool]:
    # fping exits 1 when some address did not answer, nmap 0 whatever answered.
    return [
        _tool(
            "fpingreach",
            "Check network reachability with fping",
            "fping",
            _runner("fping", _fping, _fping_up, {0, 1}),
            preference=10,
        ),
        _tool(
            "nmapreach",
            "Check network reachability with nmap's ping scan",
            "nmap",
            _runner("nmap", _nmap, _nmap_up, {0}),
            preference=0,
        ),
    ]
