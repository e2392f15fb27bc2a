"""``fwmtu``: the path MTU as the kernel learns it, in process (Linux only).

A UDP socket connected to the destination with "don't fragment" set (IP_PMTUDISC_DO); a
datagram far bigger than any MTU is refused with EMSGSIZE and the socket's IP_MTU then
holds the path MTU the kernel knows.  The port (default 1060, as the original's) only
names the flow; nothing need listen there.
"""

from __future__ import annotations

import datetime as dt
import errno
import socket

from pscheduler_plugins.common import enumeration, failed, merge_first, unsupported_keys, verdict

from pscheduler.hookspecs import Tool, hookimpl
from pscheduler.toolkit.iso8601 import parse_timestamp

DEFAULT_PORT = 1060
BIG_PACKET = 999_999  # bigger than any datagram: refused, after which IP_MTU is known
# Linux's values (Python's socket module names only some of them).
IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14
IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO, IPV6_MTU = 23, 2, 24


def find_mtu(dest: str, port: int = DEFAULT_PORT, source: str | None = None) -> int:
    """The kernel's path MTU towards ``dest``; raises OSError/ValueError with the reason."""
    infos = socket.getaddrinfo(dest, port, type=socket.SOCK_DGRAM)
    if not infos:
        raise ValueError(f"Cannot resolve {dest}")
    family, _, _, _, address = infos[0]
    v6 = family == socket.AF_INET6
    level = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(level, IPV6_MTU_DISCOVER if v6 else IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        if source:
            sock.bind((source, 0))
        sock.connect(address)
        try:
            sock.send(b"#" * BIG_PACKET)
        except OSError as exc:
            if exc.errno != errno.EMSGSIZE:
                raise
            return sock.getsockopt(level, IPV6_MTU if v6 else IP_MTU)
    raise ValueError(f"Couldn't measure the MTU: it is bigger than {BIG_PACKET}")


def can_run(test: dict) -> dict:
    spec = test.get("spec", {})
    return verdict(
        unsupported_keys("fwmtu", spec, {"schema", "source", "source-node", "dest", "port"})
    )


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    port = spec.get("port", DEFAULT_PORT)
    diags = f"UDP to {spec['dest']} port {port}, don't fragment"
    try:
        mtu = find_mtu(spec["dest"], port, spec.get("source"))
    except (OSError, ValueError) as exc:
        return failed(str(exc), diags)
    return {"succeeded": True, "result": {"succeeded": True, "mtu": mtu}, "diags": diags}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "fwmtu",
                "Find the path MTU from the kernel's PMTU discovery",
                tests=["mtu"],
                preference=-10,
            ),  # fmt: skip
            duration=lambda test: dt.timedelta(seconds=5),
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=lambda test, results: merge_first(test, results, ["mtu"]),
        )
    ]
