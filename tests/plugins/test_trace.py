"""The trace test with traceroute and tracepath, tracing loopback."""

from __future__ import annotations

import time

import pytest
from pscheduler_plugins.tools.traceroute import add_ases, parse_tracepath, parse_traceroute

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from pscheduler.toolkit.jsonval import schema_error
from tests.plugins.plugin_helpers import formatted, get_test, get_tool, measure, require_program


@pytest.mark.parametrize("tool, extra", [("traceroute", {"wait": "PT2S"}), ("tracepath", {})])
def test_trace_loopback_finds_one_hop(tool, extra):
    require_program(tool)
    spec = {"dest": "127.0.0.1", "hops": 3, **extra}
    _, merged = measure(tool, "trace", spec)
    assert merged["succeeded"]
    (path,) = merged["paths"]
    assert path[0]["ip"] == "127.0.0.1" and path[0]["hostname"]
    assert path[0]["rtt"].startswith("PT")
    if tool == "tracepath":
        assert path[0]["mtu"] >= 1280
    text, html = formatted("trace", spec, merged)
    assert text.startswith("1       ") and "(127.0.0.1)" in text and " ms" in text
    assert html.startswith("<table>")


def test_parsers_keep_silent_hops_and_icmp_errors():
    hops = parse_traceroute(
        "traceroute to x\n 1  10.0.0.1  0.3 ms\n 2  *\n 3  192.0.2.9  3.5 ms !X\n"
    )
    assert hops[1] == {} and hops[2]["error"] == "communication-administratively-prohibited"
    hops = parse_tracepath(
        " 1?: [LOCALHOST] pmtu 1500\n 1:  no reply\n 2:  192.0.2.1  1.2ms reached\n"
    )
    assert hops == [{}, {"ip": "192.0.2.1", "rtt": "PT0.0012S", "mtu": 1500}]
    text, _ = formatted("trace", {"dest": "x"}, {"succeeded": True, "paths": [hops]})
    assert text.splitlines()[0] == "1       No Response"


def test_tool_refusals_and_durations():
    traceroute, tracepath = get_tool("traceroute"), get_tool("tracepath")
    assert not plugins.can_run(traceroute, {"type": "trace", "spec": {"dest": "x", "queries": 3}})[
        "can-run"
    ]
    refused = plugins.can_run(tracepath, {"type": "trace", "spec": {"dest": "x", "wait": "PT1S"}})
    assert "tracepath does not support wait" in refused["reasons"]
    assert traceroute.duration({"type": "trace", "spec": {"dest": "x"}}).total_seconds() == 13
    assert tracepath.duration({"type": "trace", "spec": {"dest": "x"}}).total_seconds() == 101


@pytest.mark.parametrize(
    "spec",
    [
        {"schema": 1, "dest": "x", "as": True, "ip-tos": 32, "hops": 5, "probe-type": "icmp"},
        {
            "schema": 1,
            "dest": "x",
            "as": False,
            "hostnames": False,
            "wait": "PT1S",
            "sendwait": "PT0.1S",
        },
        {
            "schema": 2,
            "dest": "x",
            "flow-label": 7,
            "fragment": False,
            "length": 60,
            "dest-port": 33434,
        },
    ],
)
def test_cli_round_trip(spec):
    test = get_test("trace")
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec


def test_help():
    with pytest.raises(UsageError, match="--probe-type"):
        get_test("trace").cli_to_spec(["-h"])


@pytest.mark.parametrize(
    "spec, error",
    [
        ({}, "At /: 'dest' is a required property"),
        ({"dest": "x", "unknown": 1}, "At /: Additional properties are not allowed"),
        ({"dest": "x", "probe-type": "sctp"}, "At /probe-type:"),
        ({"dest": "x", "hops": 0}, "At /hops:"),
        ({"dest": "x", "flow-label": 1}, "At /: Additional properties are not allowed"),
        ({"dest": "x", "wait": "5"}, "At /wait:"),
        ({"schema": 3, "dest": "x"}, "Schema version 3 is not supported (highest is 2)."),
    ],
)
def test_bad_specs_are_rejected(spec, error):
    verdict = plugins.spec_is_valid(get_test("trace"), spec)
    assert verdict["valid"] is False and verdict["error"].startswith(error), verdict


def test_hops_get_their_as_from_team_cymru(monkeypatch):
    """Against a local DNS server answering Team Cymru's zones, pointed at by config."""
    from tests.cymru_zone import cymru_server

    with cymru_server() as (nameserver, resolver):
        monkeypatch.setenv("PSCHEDULER_CYMRU_RESOLVER", nameserver)
        hops = [{"ip": "8.8.8.8"}, {}, {"ip": "127.0.0.1"}, {"ip": "9.9.9.9"}]
        add_ases(hops)
    assert hops[0]["as"] == {"number": 15169, "owner": "GOOGLE - Google LLC, US"}
    assert hops[1:] == [{}, {"ip": "127.0.0.1"}, {"ip": "9.9.9.9"}]
    # Loopback (like private space) is never asked about, as in the original.
    assert not any("127" in name for name, _ in resolver.queries)
    result = {"succeeded": True, "paths": [hops]}
    assert schema_error(get_test("trace").result_schema, {"schema": 1, **result}) is None
    text, _ = formatted("trace", {"dest": "9.9.9.9"}, result)
    assert "AS15169 GOOGLE - Google LLC, US" in text


def test_as_lookup_off_the_network_fails_fast(monkeypatch):
    from tests.cymru_zone import silent_server

    with silent_server() as nameserver:
        monkeypatch.setenv("PSCHEDULER_CYMRU_RESOLVER", nameserver)
        hops = [{"ip": f"8.8.8.{n}"} for n in range(1, 20)]
        began = time.monotonic()
        add_ases(hops, timeout=0.5)
        spent = time.monotonic() - began
    assert spent < 1.5, spent
    assert all("as" not in hop for hop in hops)
