"""``dhclient``: the dhcp test with ISC's dhclient (Debian's ``isc-dhcp-client``).

One DHCP exchange (``-1``: try once, give up after the spec's ``timeout``, which dhclient
reads from a configuration file in the run's temporary directory) on the spec's interface,
with ``/bin/true`` as the configuration script so the interface is left as it was: the lease
is only read back from a lease file in the same directory (``fixed-address``).  dhclient
returns once it is bound (the client it leaves behind to renew is then released and stopped
with ``-r``) or when no server answered in time; the time is how long that took.
"""

from __future__ import annotations

import datetime as dt
import os
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

DEFAULT_TIMEOUT = "PT10S"
_ADDRESS = re.compile(r"fixed-address\s+([0-9a-fA-F.:]+);")


def dhclient_argv(spec: dict, directory: str, release: bool = False) -> list[str]:
    """The lease request, or with ``release`` the command that releases it and stops the
    client left behind (found by the same pid file)."""
    argv = ["dhclient", "-r" if release else "-1", "-v", "-sf", "/bin/true"]
    argv += ["-cf", os.path.join(directory, "dhclient.conf")]
    argv += ["-lf", os.path.join(directory, "dhclient.leases")]
    argv += ["-pf", os.path.join(directory, "dhclient.pid")]
    return argv + ([spec["interface"]] if "interface" in spec else [])


def dhclient_conf(spec: dict) -> str:
    """dhclient takes its give-up time only from a configuration file."""
    return f"timeout {max(1, round(seconds(spec.get('timeout', DEFAULT_TIMEOUT))))};\n"


def leased_address(lease_text: str) -> str | None:
    found = _ADDRESS.findall(lease_text)
    return found[-1] if found else None


def can_run(test: dict) -> dict:
    return verdict([] if shutil.which("dhclient") else ["dhclient is not installed"])


def run(input: dict, control) -> dict:
    spec = input["test"]["spec"]
    directory = control.tmpdir or "."
    argv = dhclient_argv(spec, directory)
    with open(argv[argv.index("-cf") + 1], "w") as handle:
        handle.write(dhclient_conf(spec))
    if not control.sleep_until(parse_timestamp(input["schedule"]["start"])):
        return failed("Run was cancelled.")
    began = time.monotonic()
    done = control.run_program(argv, timeout=seconds(spec.get("timeout", DEFAULT_TIMEOUT)) + 5)
    elapsed = time.monotonic() - began
    diags = " ".join(argv) + "\n\n" + done.stderr
    if done.status == 0:
        control.run_program(dhclient_argv(spec, directory, release=True), timeout=5)
    try:
        with open(argv[argv.index("-lf") + 1]) as handle:
            address = leased_address(handle.read())
    except OSError:
        address = None
    if address is None:
        return failed(f"No DHCP lease (dhclient status {done.status})", diags)
    result = {"succeeded": True, "time": seconds_iso(elapsed), "ip_address": address}
    return {"succeeded": True, "result": result, "diags": diags}


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration=enumeration(
                "dhclient", "Time a DHCP lease with ISC dhclient", tests=["dhcp"], preference=0
            ),
            duration=lambda test: dt.timedelta(
                seconds=seconds(test["spec"].get("timeout", DEFAULT_TIMEOUT)) + 7
            ),
            run=run,
            can_run=can_run,
            participant_data=lambda test, participant: {},
            merged_results=merge_first,
        )
    ]
