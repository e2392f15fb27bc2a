"""psresponse with pstimer and psurl, through a node that times its own API and a port
where nothing listens."""

from __future__ import annotations

import json
import time

import pytest
import requests

from pscheduler.toolkit.iso8601 import parse_duration
from tests.e2e.test_measurements import measured
from tests.helpers import free_port
from tests.plugins.plugin_helpers import formatted, get_test


def test_cli_and_formats():
    test = get_test("psresponse")
    spec = test.cli_to_spec(["--dest", "ps.example.net:8443", "--timeout", "PT5S"])
    assert spec == {"schema": 1, "dest": "ps.example.net:8443", "timeout": "PT5S"}
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec
    text, html = formatted("psresponse", spec, {"succeeded": True, "time": None, "reason": "down"})
    assert text == "Response Time: Not Measured\nReason: down"
    assert (
        html
        == "<table><tr><td>Response Time</td><td>Not Measured</td></tr><tr><td>Reason</td><td>down</td></tr></table>"
    )
    assert (
        formatted("psresponse", spec, {"succeeded": True, "time": "PT0.01S"})[0]
        == "Response Time: PT0.01S"
    )


@pytest.mark.parametrize(("tool", "path"), [("pstimer", "/"), ("psurl", "/api")])
def test_response_time_of_the_node_itself(node, tool, path):
    began = time.monotonic()
    direct = requests.get(f"https://{node.address}/pscheduler{path}", verify=False, timeout=10)
    direct_seconds = time.monotonic() - began
    assert direct.status_code == 200
    task = {"test": {"type": "psresponse", "spec": {"dest": node.address, "timeout": "PT5S"}},
            "tools": [tool], "schedule": {}}  # fmt: skip
    run, text, html = measured(node, node.post("tasks", json=task))
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True and "reason" not in merged, merged
    measured_seconds = parse_duration(merged["time"]).total_seconds()
    assert 0 < measured_seconds < 5
    # Loaded machine: same order of magnitude as timing the GET here, not more.
    assert measured_seconds < max(1.0, 20 * direct_seconds)
    assert text.strip() == f"Response Time: {merged['time']}"
    assert run["result-full"][0]["diags"] == f"GET https://{node.address}/pscheduler{path}"
    cli = node.session.get(run["task-href"] + "/cli", timeout=10).json()
    assert node.get("tests/psresponse/spec", params={"args": json.dumps(cli[1:])}).json() == {
        "schema": 1,
        "dest": node.address,
        "timeout": "PT5S",
    }


def test_nothing_listening_is_a_measurement_without_time(node):
    dest = f"127.0.0.1:{free_port()}"
    task = {"test": {"type": "psresponse", "spec": {"dest": dest, "timeout": "PT2S"}},
            "schedule": {}}  # fmt: skip
    run, text, _ = measured(node, node.post("tasks", json=task))
    assert run["state"] == "finished", run
    merged = run["result-merged"]
    assert merged["succeeded"] is True and merged["time"] is None
    assert merged["reason"].startswith(f"https://{dest}/pscheduler/")
    assert text.startswith("Response Time: Not Measured\nReason: ")
