"""paris-traceroute (scamper) for the trace test: directly, and through a node, beside
scamper run by hand."""

from __future__ import annotations

import json
import subprocess

from pscheduler_plugins.tools.paris import parse_scamper, scamper_argv

from tests.e2e.test_measurements import measured, tool_diags
from tests.helpers import require_program
from tests.plugins.plugin_helpers import get_tool

RECORD = {
    "type": "trace", "firsthop": 1, "hops": [
        {"addr": "192.0.2.1", "probe_ttl": 1, "rtt": 1.5, "icmp_type": 11, "icmp_code": 0},
        {"addr": "192.0.2.9", "probe_ttl": 3, "rtt": 2.25, "icmp_type": 3, "icmp_code": 13},
    ],
}  # fmt: skip


def test_parse_and_argv():
    hops = parse_scamper('{"type":"cycle-start"}\n' + json.dumps(RECORD))
    assert hops == [
        {"ip": "192.0.2.1", "rtt": "PT0.0015S"},
        {},
        {
            "ip": "192.0.2.9",
            "rtt": "PT0.00225S",
            "error": "communication-administratively-prohibited",
        },
    ]
    assert parse_scamper("nothing") is None
    argv = scamper_argv({"dest": "h", "probe-type": "icmp", "hops": 5, "wait": "PT2S"})
    assert argv == ["scamper", "-O", "json", "-c", "trace -P icmp-paris -q 1 -m 5 -w 2", "-i", "h"]
    verdict = get_tool("paris-traceroute").can_run(
        {"type": "trace", "spec": {"dest": "h", "probe-type": "tcp"}}
    )
    assert verdict["can-run"] is False


def test_trace_to_loopback_matches_scamper(node):
    require_program("scamper")
    direct = subprocess.run(
        ["scamper", "-O", "json", "-c", "trace -P udp-paris -q 1", "-i", "127.0.0.1"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    direct_hops = parse_scamper(direct.stdout)
    assert [h["ip"] for h in direct_hops] == ["127.0.0.1"]
    task = {"test": {"type": "trace", "spec": {"dest": "127.0.0.1"}}, "tools": ["paris-traceroute"],
            "schedule": {}}  # fmt: skip
    run, text, html = measured(node, node.post("tasks", json=task))
    assert run["state"] == "finished", run
    hops = run["result-merged"]["paths"][0]
    assert [h["ip"] for h in hops] == [h["ip"] for h in direct_hops]
    assert tool_diags(run).startswith("scamper -O json -c trace -P udp-paris")
    # The hop's RTT is scamper's own figure for it.
    reported = next(
        json.loads(line) for line in tool_diags(run).splitlines() if '"type":"trace"' in line
    )
    assert hops[0]["rtt"] == parse_scamper(json.dumps(reported))[0]["rtt"]
    assert "127.0.0.1" in text and "127.0.0.1" in html
