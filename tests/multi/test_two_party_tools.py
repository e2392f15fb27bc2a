"""Two-participant tests of the catalogue across nodes A (127.0.0.2) and B (127.0.0.3):
simplestream (in-process sockets) and nuttcp, iperf2 (a server on B, the client on A)."""

from __future__ import annotations

import pytest

from pscheduler import plugins
from pscheduler.toolkit.iso8601 import parse_duration
from tests.helpers import require_program
from tests.multi.common import first_run, merged, post_task, run_uuid
from tests.plugins.plugin_helpers import formatted, get_test

MATERIAL = "Madam, in Eden, I'm Adam."


def test_simplestream_cli_and_formats():
    test = get_test("simplestream")
    spec = test.cli_to_spec(["--dest", "b", "--test-material", MATERIAL, "--dawdle", "PT1S"])
    assert spec == {"schema": 1, "dest": "b", "test-material": MATERIAL, "dawdle": "PT1S"}
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec
    assert test.cli_to_spec(["--dest", "b", "--ip-version", "6"])["schema"] == 2
    assert plugins.spec_is_valid(test, {"dest": "b", "ip-version": 6})["valid"] is False
    assert test.participants({"dest": "b", "dest-node": "b:1"}) == {
        "participants": [None, "b:1"],
        "null-reason": "No source specified",
    }
    result = {"succeeded": True, "dawdled": "PT0.5S", "sent": "x", "received": "x",
              "elapsed-time": "PT1S"}  # fmt: skip
    text, html = formatted("simplestream", spec, result)
    assert text.splitlines() == [
        "Dawdled ......... PT0.5S",
        "Text Sent ....... x",
        "Text Received ... x",
        "Elapsed Time .... PT1S",
    ]
    assert "<tr><td><b>Text Received</b></td><td>x</td></tr>" in html
    assert formatted("simplestream", spec, {"succeeded": False})[0] == "Test failed."


def test_simplestream_between_two_nodes(nodes):
    a, b = nodes
    spec = {"dest": b.host, "dest-node": b.address, "test-material": MATERIAL, "dawdle": "PT0.5S"}
    task = post_task(a, {"type": "simplestream", "spec": spec})
    run = merged(a, task, run_uuid(first_run(a, task)), wait=60)
    assert run["state"] == "finished", (run.get("errors"), run.get("result-full"))
    result = run["result-merged"]
    assert result["succeeded"] is True, result
    assert result["sent"] == result["received"] == MATERIAL
    assert 0 <= parse_duration(result["dawdled"]).total_seconds() <= 0.5
    assert [r["succeeded"] for r in run["result-full"]] == [True, True]
    assert a.get("tests/simplestream").json()["scheduling-class"] == "background"
    assert run["result-full"][1]["diags"].startswith("Listening on")


@pytest.mark.parametrize(("tool", "program"), [("nuttcp", "nuttcp"), ("iperf2", "iperf")])
def test_throughput_between_two_nodes(nodes, tool, program):
    a, b = nodes
    require_program(program)
    spec = {"schema": 3, "dest": b.host, "dest-node": b.address, "duration": "PT2S",
            "link-rtt": "PT0.01S"}  # fmt: skip
    task = post_task(a, {"type": "throughput", "spec": spec}, tools=[tool])
    run = merged(a, task, run_uuid(first_run(a, task, wait=60)), wait=90)
    assert run["state"] == "finished", (run.get("errors"), run.get("result-full"))
    result = run["result-merged"]
    assert result["succeeded"] is True, result
    assert result["summary"]["summary"]["throughput-bits"] > 1e6
    client, server = run["result-full"]
    assert client["diags"].split()[0] == program and server["diags"].split()[0] == program
    assert f"{b.host}" in client["diags"].splitlines()[0]
