"""The rtt test with its ping and tcpping tools, measuring on loopback."""

from __future__ import annotations

import re
import socket
import subprocess

import pytest

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from pscheduler.toolkit.iso8601 import parse_duration
from tests.plugins.plugin_helpers import formatted, get_test, get_tool, measure, require_program


def _ms(iso: str) -> float:
    return parse_duration(iso).total_seconds() * 1000


def _ping_summary(diags: str) -> tuple[float, float, float]:
    match = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", diags)
    assert match, diags
    return float(match[1]), float(match[2]), float(match[3])


def _ipv6_works() -> bool:
    try:
        return (
            subprocess.run(
                ["ping", "-6", "-c1", "-W1", "::1"], capture_output=True, timeout=5
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.parametrize("dest", ["127.0.0.1", "::1"])
def test_ping_loopback_matches_pings_own_summary(dest):
    require_program("ping")
    if dest == "::1" and not _ipv6_works():
        pytest.skip("IPv6 loopback does not answer ping here")
    spec = {"schema": 1, "dest": dest, "count": 3, "interval": "PT0.2S"}
    local, merged = measure("ping", "rtt", spec)
    assert merged["succeeded"] and merged["loss"] == 0.0
    assert [t["seq"] for t in merged["roundtrips"]] == [1, 2, 3]
    assert all(t["ip"] == dest and t["ttl"] > 0 and t["length"] > 0 for t in merged["roundtrips"])
    ping_min, ping_mean, ping_max = _ping_summary(local["diags"])
    assert _ms(merged["min"]) == pytest.approx(ping_min, abs=0.002)
    assert _ms(merged["mean"]) == pytest.approx(ping_mean, abs=0.002)
    assert _ms(merged["max"]) == pytest.approx(ping_max, abs=0.002)
    text, html = formatted("rtt", spec, merged)
    assert re.match(
        r"1       \S+ \(" + re.escape(dest) + r"\)  \d+ Bytes  TTL \d+  RTT \d+\.\d{4} ms", text
    )
    assert "0% Packet Loss  RTT Min/Mean/Max/StdDev = " in text
    assert html.startswith("<table>") and "RTT (ms)" in html


def test_ping_without_hostnames_reports_no_hostname():
    require_program("ping")
    spec = {"dest": "127.0.0.1", "count": 1, "hostnames": False}
    _, merged = measure("ping", "rtt", spec)
    assert merged["received"] == 1 and "hostname" not in merged["roundtrips"][0]


def test_tcpping_open_port_is_answered():
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.listen(8)
        port = server.getsockname()[1]
        spec = {"schema": 4, "dest": "127.0.0.1", "port": port, "count": 2, "protocol": "tcp"}
        _, merged = measure("tcpping", "rtt", spec)
    assert merged["loss"] == 0.0 and merged["received"] == 2
    assert _ms(merged["min"]) <= _ms(merged["mean"]) <= _ms(merged["max"]) < 1000


def test_tcpping_closed_port_is_total_loss():
    with socket.socket() as probe:  # a port nobody listens on: bind, note it, close
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = {"schema": 4, "dest": "127.0.0.1", "port": port, "count": 2, "hostnames": False}
    _, merged = measure("tcpping", "rtt", spec)
    assert merged["succeeded"] and merged["loss"] == 1.0 and merged["roundtrips"] == []
    text, _ = formatted("rtt", spec, merged)
    assert text.startswith("100% Packet Loss")


def test_tool_choice_rules():
    ping, tcpping = get_tool("ping"), get_tool("tcpping")
    with_port = {"type": "rtt", "spec": {"schema": 4, "dest": "x", "port": 80}}
    assert plugins.can_run(ping, with_port) == {
        "can-run": False,
        "reasons": ["ping does not support port"],
    }
    assert plugins.can_run(tcpping, with_port)["can-run"]
    interval = {"type": "rtt", "spec": {"dest": "x", "interval": "PT1S"}}
    assert plugins.can_run(tcpping, interval)["reasons"] == ["tcpping does not support interval"]
    label = {"type": "rtt", "spec": {"dest": "x", "flow-label": 3}}
    assert not plugins.can_run(ping, label)["can-run"]


def test_durations_follow_the_original():
    ping, tcpping = get_tool("ping"), get_tool("tcpping")
    assert ping.duration({"type": "rtt", "spec": {"dest": "x"}}).total_seconds() == 10
    spec = {"dest": "x", "count": 10, "interval": "PT0.5S", "hostnames": False}
    assert ping.duration({"type": "rtt", "spec": spec}).total_seconds() == 8.5
    assert (
        ping.duration({"type": "rtt", "spec": {"dest": "x", "deadline": "PT3S"}}).total_seconds()
        == 7
    )
    assert tcpping.duration({"type": "rtt", "spec": {"dest": "x"}}).total_seconds() == 13


def test_missing_ping_says_not_installed(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    verdict = plugins.can_run(get_tool("ping"), {"type": "rtt", "spec": {"dest": "x"}})
    assert verdict == {"can-run": False, "reasons": ["ping is not installed"]}


@pytest.mark.parametrize(
    "spec",
    [
        {"schema": 1, "dest": "x", "count": 2, "interval": "PT0.5S", "hostnames": False},
        {"schema": 2, "dest": "x", "protocol": "icmp", "source": "127.0.0.1", "ttl": 4},
        {"schema": 3, "dest": "x", "fragment": True, "suppress-loopback": False},
        {
            "schema": 4,
            "dest": "x",
            "port": 443,
            "protocol": "tcp",
            "ip-version": 6,
            "flow-label": 0,
        },
    ],
)
def test_cli_round_trip(spec):
    test = get_test("rtt")
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec


def test_help_raises_usage_with_options_and_examples():
    with pytest.raises(UsageError) as info:
        get_test("rtt").cli_to_spec(["--help"])
    assert "--count" in str(info.value) and "Examples:" in str(info.value)


@pytest.mark.parametrize(
    "spec, error",
    [
        ({"count": 3}, "At /: 'dest' is a required property"),
        ({"dest": "x", "count": 0}, "At /count: 0 is less than the minimum of 1"),
        (
            {"dest": "x", "interval": "soon"},
            "At /interval: 'soon' is not a valid ISO 8601 duration",
        ),
        ({"dest": "x", "ip-version": 5}, "At /ip-version:"),
        ({"dest": "x", "ip-tos": 256}, "At /ip-tos:"),
        ({"dest": "x", "bogus": 1}, "At /: Additional properties are not allowed"),
        ({"dest": "x", "port": 80}, "At /: Additional properties are not allowed"),
        ({"schema": 2, "dest": "x", "protocol": "tcp"}, "At /protocol:"),
        ({"schema": 5, "dest": "x"}, "Schema version 5 is not supported (highest is 4)."),
    ],
)
def test_bad_specs_are_rejected(spec, error):
    verdict = plugins.spec_is_valid(get_test("rtt"), spec)
    assert verdict["valid"] is False and verdict["error"].startswith(error), verdict


def test_participants_lead_from_source():
    participants = get_test("rtt").participants
    assert participants({"dest": "x", "source": "a", "source-node": "b:443"}) == {
        "participants": ["b:443"]
    }
    assert participants({"dest": "x"}) == {
        "participants": [None],
        "null-reason": "No source specified",
    }
