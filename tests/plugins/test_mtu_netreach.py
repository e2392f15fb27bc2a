"""The mtu test (tracemtu) and the netreach test (fpingreach, nmapreach), called directly."""

from __future__ import annotations

import ipaddress
import re
import subprocess

import pytest
from pscheduler_plugins.tools.reach import scan_order

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from tests.plugins.plugin_helpers import formatted, get_test, measure, require_program


@pytest.mark.parametrize(
    ("test", "args", "spec"),
    [
        (
            "mtu",
            ["--dest", "ps.example.net", "--port", "80"],
            {"schema": 1, "dest": "ps.example.net", "port": 80},
        ),
        (
            "mtu",
            ["--source", "a", "--source-node", "b:443", "--dest", "c"],
            {"schema": 1, "source": "a", "source-node": "b:443", "dest": "c"},
        ),
        (
            "netreach",
            ["--network", "192.0.2.0/24", "--gateway", "-1", "--scan", "down"],
            {"schema": 1, "network": "192.0.2.0/24", "gateway": -1, "scan": "down"},
        ),
        (
            "netreach",
            [
                "--network",
                "192.0.2.0/24",
                "--gateway",
                "192.0.2.1",
                "--limit",
                "5",
                "--parallel",
                "2",
                "--timeout",
                "PT1S",
                "--host",
                "h",
            ],
            {
                "schema": 1,
                "network": "192.0.2.0/24",
                "gateway": "192.0.2.1",
                "limit": 5,
                "parallel": 2,
                "timeout": "PT1S",
                "host": "h",
            },
        ),
    ],
)
def test_cli_round_trips(test, args, spec):
    plugin = get_test(test)
    assert plugin.cli_to_spec(args) == spec
    assert plugin.cli_to_spec(plugin.spec_to_cli(spec)) == spec
    assert plugins.spec_is_valid(plugin, spec) == {"valid": True}


def test_help_and_bad_options():
    with pytest.raises(UsageError, match="Finds the MTU"):
        get_test("mtu").cli_to_spec(["--help"])
    with pytest.raises(UsageError, match="Unusable arguments"):
        get_test("netreach").cli_to_spec(["--nonesuch"])


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"network": "192.0.2.0/31"}, "Network must have at least two host addresses."),
        ({"network": "192.0.2.0/24", "gateway": 300}, "Gateway host number is outside the network"),
        (
            {"network": "192.0.2.0/24", "gateway": "198.51.100.1"},
            "Gateway is outside of the network",
        ),
        (
            {"network": "192.0.2.0/24", "gateway": "192.0.2.255"},
            "Gateway cannot be the network or broadcast address.",
        ),
        (
            {"network": "192.0.2.0/24", "gateway": "2001:db8::1"},
            "Network and gateway are not in the same family.",
        ),
        ({"network": "192.0.2.0/24", "scan": "sideways"}, "At /scan"),
        ({"network": "192.0.2.7/24"}, "Invalid network"),
    ],
)
def test_netreach_semantics(spec, error):
    verdict = plugins.spec_is_valid(get_test("netreach"), spec)
    assert verdict["valid"] is False and verdict["error"].startswith(error), verdict


def test_participants():
    assert get_test("mtu").participants({"dest": "x", "source": "s"}) == {"participants": ["s"]}
    assert get_test("mtu").participants({"dest": "x"})["null-reason"] == "No source specified"
    assert get_test("netreach").participants({"network": "192.0.2.0/24", "host-node": "n"}) == {
        "participants": ["n"]
    }


def test_scan_orders():
    net = ipaddress.ip_network("192.0.2.0/29")  # hosts .1 to .6
    assert list(scan_order(net, "up", None)) == [f"192.0.2.{n}" for n in (1, 2, 3, 4, 5, 6)]
    assert list(scan_order(net, "down", 3)) == ["192.0.2.6", "192.0.2.5", "192.0.2.4"]
    edges = list(scan_order(net, "edges", None, ipaddress.ip_address("192.0.2.1")))
    assert edges == ["192.0.2.6", "192.0.2.2", "192.0.2.5", "192.0.2.3", "192.0.2.4"]
    randomly = list(scan_order(net, "random", 4, ipaddress.ip_address("192.0.2.3")))
    assert len(randomly) == 4 and len(set(randomly)) == 4 and "192.0.2.3" not in randomly


def test_tracemtu_on_loopback_matches_tracepath():
    require_program("tracepath")
    direct = subprocess.run(
        ["tracepath", "-n", "127.0.0.1"], capture_output=True, text=True, timeout=30
    )
    pmtu = int(re.search(r"Resume: pmtu (\d+)", direct.stdout)[1])
    spec = {"schema": 1, "dest": "127.0.0.1"}
    _, merged = measure("tracemtu", "mtu", spec)
    assert merged == {"schema": 1, "mtu": pmtu, "succeeded": True}
    text, html = formatted("mtu", spec, merged)
    assert text == f"MTU: {pmtu}\n"
    assert html == f"<table><tr><th>MTU</th></tr><tr><td>{pmtu}</td></tr></table>"


@pytest.mark.parametrize(("tool", "program"), [("fpingreach", "fping"), ("nmapreach", "nmap")])
def test_reach_on_loopback(tool, program):
    require_program(program)
    spec = {"network": "127.0.0.0/29", "gateway": 1, "limit": 3, "timeout": "PT1S"}
    local, merged = measure(tool, "netreach", spec)
    assert merged == {"schema": 1, "gateway-up": True, "network-up": True, "succeeded": True}
    assert local["diags"].startswith(program) and "127.0.0.1" in local["diags"].splitlines()[0]
    text, html = formatted("netreach", spec, merged)
    assert text == "Gateway ... Up\nNetwork ... Up"
    assert (
        html
        == "<table><tr><th>Gateway</th><td>Up</td></tr><tr><th>Network</th><td>Up</td></tr></table>"
    )
