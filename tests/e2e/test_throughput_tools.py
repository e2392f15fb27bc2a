"""nuttcp and iperf2 through a node (loopback throughput), beside the program run directly."""

from __future__ import annotations

import re
import subprocess
import threading

import pytest

from tests.e2e.netns import in_namespace, namespace
from tests.e2e.test_measurements import measured, tool_diags
from tests.helpers import free_port, free_ports, require_program


def direct_nuttcp() -> float:
    ctl, data = free_ports(2)
    server = subprocess.Popen(["nuttcp", "-1", "--nofork", "-P", str(ctl), "-p", str(data)])
    try:
        out = ""
        for _ in range(50):  # bounded: the server needs a moment to listen
            done = subprocess.run(
                ["nuttcp", "-fparse", "-T2", "-P", str(ctl), "-p", str(data), "127.0.0.1"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            out = done.stdout
            if done.returncode == 0:
                break
            threading.Event().wait(0.1)
        return float(re.search(r"rate_Mbps=([\d.]+)", out)[1]) * 1e6
    finally:
        server.kill()
        server.wait(5)


def direct_iperf2() -> float:
    port = free_port()
    server = subprocess.Popen(["iperf", "-s", "-p", str(port)], stdout=subprocess.DEVNULL)
    try:
        out = ""
        for _ in range(50):
            done = subprocess.run(
                ["iperf", "-c", "127.0.0.1", "-p", str(port), "-t", "2", "-y", "C"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            out = done.stdout
            if done.returncode == 0 and out.strip():
                break
            threading.Event().wait(0.1)
        return float(out.strip().splitlines()[-1].split(",")[8])
    finally:
        server.kill()
        server.wait(5)


@pytest.mark.parametrize(
    ("tool", "program", "direct"),
    [("nuttcp", "nuttcp", direct_nuttcp), ("iperf2", "iperf", direct_iperf2)],
)
def test_loopback_throughput_through_a_node(node, tool, program, direct):
    require_program(program)
    task = {
        "test": {
            "type": "throughput",
            "spec": {"schema": 5, "dest": "127.0.0.1", "loopback": True, "duration": "PT2S"},
        },
        "tools": [tool],
        "schedule": {},
    }
    run, text, html = measured(node, node.post("tasks", json=task), wait=90)
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    bits = merged["summary"]["summary"]["throughput-bits"]
    assert program in tool_diags(run).split()[0]
    baseline = direct()
    # Same machine, same loopback, seconds apart; the shared CPUs make it noisy.
    assert baseline / 20 < bits < baseline * 20, (bits, baseline)
    assert "Summary" in text and "<table>" in html


@pytest.mark.parametrize(
    ("tool", "program"), [("nuttcp", "nuttcp"), ("iperf2", "iperf"), ("iperf3", "iperf3")]
)
def test_loopback_throughput_inside_a_namespace(node, tool, program):
    """Server and client both run in the task's namespace: the client reaches the server
    on an address that exists only there."""
    require_program(program)
    with namespace(("192.0.2.19",)) as name:
        task = {
            "schema": 2,
            "test": {
                "type": "throughput",
                "spec": {"schema": 5, "dest": "192.0.2.19", "loopback": True, "duration": "PT1S"},
            },
            "tools": [tool],
            "contexts": in_namespace(name),
            "schedule": {},
        }
        run, _, _ = measured(node, node.post("tasks", json=task), wait=90)
    assert run["state"] == "finished", run
    assert run["result-merged"]["summary"]["summary"]["throughput-bits"] > 1e6
    assert "192.0.2.19" in tool_diags(run)
