"""nuttcp and iperf2 on loopback, called directly; figures compared with the program's own."""

from __future__ import annotations

import re

import pytest
from pscheduler_plugins.tools.iperf2 import parse as parse_iperf2
from pscheduler_plugins.tools.nuttcp import parse as parse_nuttcp

from tests.plugins.plugin_helpers import formatted, get_tool, measure, require_program

NUTTCP = """megabytes=771.3750 real_sec=1.00 rate_Mbps=6462.0646 retrans=0
megabytes=1574.3750 real_seconds=2.01 rate_Mbps=6577.7312 tx_cpu=19 rx_cpu=12 retrans=3 rtt_ms=0.10
"""
IPERF2 = """20261203034037,127.0.0.1,47544,127.0.0.1,5311,1,0.0-1.0,245104700,1960837600
20261203034037,127.0.0.1,47560,127.0.0.1,5311,2,0.0-1.0,228982844,1831862752
20261203034037,127.0.0.1,47544,127.0.0.1,5311,1,0.0-1.0,245235772,1933041333
20261203034037,127.0.0.1,47560,127.0.0.1,5311,2,0.0-1.0,229113916,1805861331
"""


def test_nuttcp_parse():
    result = parse_nuttcp(NUTTCP, {})
    total = result["summary"]["summary"]
    assert total["throughput-bits"] == pytest.approx(6577.7312e6)
    assert total["throughput-bytes"] == int(1574.375 * 2**20)
    assert (total["end"], total["retransmits"], total["rtt"]) == (2.01, 3, pytest.approx(100.0))
    assert [i["summary"]["end"] for i in result["intervals"]] == [1.0]
    assert parse_nuttcp("nuttcp-t: connect refused\n", {}) is None


def test_iperf2_parse_parallel_streams():
    result = parse_iperf2(IPERF2, {})
    streams = result["summary"]["streams"]
    assert [s["stream-id"] for s in streams] == [1, 2]
    assert [s["throughput-bytes"] for s in streams] == [245235772, 229113916]
    assert result["summary"]["summary"]["throughput-bits"] == 1933041333 + 1805861331
    assert len(result["intervals"]) == 1 and len(result["intervals"][0]["streams"]) == 2


def test_argv():
    nuttcp, iperf2 = get_tool("nuttcp"), get_tool("iperf2")
    from pscheduler_plugins.tools import iperf2 as i2
    from pscheduler_plugins.tools import nuttcp as nt

    spec = {"dest": "h", "duration": "PT5S", "parallel": 2, "udp": True, "bandwidth": 10**6}
    assert nt.client_argv(spec, "h", [1, 2]) == [
        "nuttcp", "-fparse", "-P", "1", "-p", "2", "-T5", "-N2", "-R1000", "-u", "h"
    ]  # fmt: skip
    assert i2.client_argv(spec, "h", [7]) == [
        "iperf", "-c", "h", "-p", "7", "-y", "C", "-u", "-t", "5", "-P", "2", "-b", "1000000",
        "-f", "b",
    ]  # fmt: skip
    verdict = iperf2.can_run({"type": "throughput", "spec": {"dest": "h", "reverse": True}})
    assert verdict == {"can-run": False, "reasons": ["iperf2 does not support reverse"]}
    require_program("nuttcp")
    assert nuttcp.can_run({"type": "throughput", "spec": {"dest": "h", "reverse": True}}) == {
        "can-run": True
    }


@pytest.mark.parametrize(
    ("tool", "program", "line"),
    [
        ("nuttcp", "nuttcp", r"real_seconds=\S+ rate_Mbps=([\d.]+)"),
        ("iperf2", "iperf", r"^\S+,\S+,\d+,\S+,\d+,1,0\.0-2\.0,\d+,(\d+)$"),
    ],
)
def test_loopback_measurement_is_the_programs_own(tool, program, line):
    require_program(program)
    spec = {
        "schema": 5,
        "dest": "127.0.0.1",
        "loopback": True,
        "duration": "PT2S",
        "interval": "PT1S",
    }
    local, merged = measure(tool, "throughput", spec)
    assert merged["succeeded"], merged
    reported = float(re.search(line, local["diags"], re.MULTILINE)[1])
    if tool == "nuttcp":
        reported *= 1e6
    assert merged["summary"]["summary"]["throughput-bits"] == pytest.approx(reported)
    assert (
        merged["summary"]["summary"]["throughput-bits"] > 1e6
    )  # loopback moves more than a Mbit/s
    text, html = formatted("throughput", spec, merged)
    assert "Summary" in text and "<table>" in html
