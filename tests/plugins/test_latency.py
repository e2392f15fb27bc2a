"""The latency test with halfping on loopback, and owping's can-run and parsing."""

from __future__ import annotations

import pytest
from pscheduler_plugins.tools.owping import parse_raw

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from tests.plugins.plugin_helpers import formatted, get_test, get_tool, measure, require_program


def test_halfping_loopback():
    require_program("ping")
    spec = {
        "schema": 1,
        "dest": "127.0.0.1",
        "packet-count": 3,
        "packet-interval": 0.2,
        "bucket-width": 0.01,
    }
    local, merged = measure("halfping", "latency", spec)
    assert merged["succeeded"], merged
    assert (
        merged["packets-sent"] == 3
        and merged["packets-received"] == 3
        and merged["packets-lost"] == 0
    )
    assert sum(merged["histogram-latency"].values()) == 3
    assert all(float(k) < 10 for k in merged["histogram-latency"])
    assert merged["histogram-ttl"] == {"64": 3} or sum(merged["histogram-ttl"].values()) == 3
    text, html = formatted("latency", spec, merged)
    assert text.startswith("Packet Statistics") and "Packets Received      3" in text
    assert "One-way Latency Statistics" in text and "Median" in text and "TTL Statistics" in text
    assert "<table>" in html


def test_owping_can_run_says_why_not(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    verdict = plugins.can_run(get_tool("owping"), {"type": "latency", "spec": {"dest": "x"}})
    assert verdict == {"can-run": False, "reasons": ["owping is not installed"]}


def test_owping_raw_parsing():
    second = 2**32
    output = (
        "SEQNO STIME SS SERR RTIME RS RERR TTL\n"
        f"0 {100 * second} 1 0.001 {100 * second + second // 100} 1 0.001 255\n"
        f"1 {101 * second} 1 0.001 0 1 0.001 255\n"
    )
    trips, raw, max_error = parse_raw(output)
    assert len(raw) == 2 and len(trips) == 1
    assert trips[0]["latency_ms"] == pytest.approx(10.0, abs=0.001)
    assert max_error == pytest.approx(2.0)


def test_tool_rules_and_durations():
    halfping, owping = get_tool("halfping"), get_tool("owping")
    raw = {"type": "latency", "spec": {"dest": "x", "output-raw": True}}
    assert plugins.can_run(halfping, raw)["reasons"] == ["halfping does not support output-raw"]
    twamp = {"type": "latency", "spec": {"schema": 4, "dest": "x", "protocol": "twamp"}}
    assert "halfping does not support protocol twamp" in plugins.can_run(halfping, twamp)["reasons"]
    assert halfping.duration({"type": "latency", "spec": {"dest": "x"}}).total_seconds() == 9
    assert owping.duration({"type": "latency", "spec": {"dest": "x"}}).total_seconds() == 22


def test_participants():
    participants = get_test("latency").participants
    assert participants({"dest": "d", "source": "s"}) == {"participants": ["s"]}
    assert participants({"dest": "d", "dest-node": "n", "flip": True}) == {"participants": ["n"]}


@pytest.mark.parametrize(
    "spec",
    [
        {
            "schema": 1,
            "dest": "x",
            "packet-count": 10,
            "packet-interval": 0.5,
            "output-raw": True,
            "flip": False,
        },
        {
            "schema": 1,
            "dest": "x",
            "data-ports": {"lower": 8760, "upper": 9960},
            "bucket-width": 0.001,
        },
        {"schema": 2, "dest": "x", "reverse": True, "ctrl-port": 861},
        {"schema": 4, "dest": "x", "protocol": "twamp", "traverse-nat": True},
    ],
)
def test_cli_round_trip(spec):
    test = get_test("latency")
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec


def test_cli_short_options_and_help():
    test = get_test("latency")
    spec = test.cli_to_spec(["-d", "x", "-c", "5", "-i", "0.2", "-P", "1000-2000", "-R"])
    assert spec == {  # -R is output-raw, as in the original
        "schema": 1,
        "dest": "x",
        "packet-count": 5,
        "packet-interval": 0.2,
        "data-ports": {"lower": 1000, "upper": 2000},
        "output-raw": True,
    }
    with pytest.raises(UsageError, match="data-ports"):
        test.cli_to_spec(["-d", "x", "-P", "many"])
    with pytest.raises(UsageError, match="--packet-count"):
        test.cli_to_spec(["--help"])


def test_cli_full_packet_option_set_gives_schema_2():
    """The options the original's CLI sends for a full latency task (issue 17)."""
    test = get_test("latency")
    args = "-s a -d b -c 10 -i 0.1 -L 2 -p 16 -b 0.001 -C 861 --ip-tos 32 --flip --reverse"
    spec = test.cli_to_spec(args.split() + ["--output-raw"])
    assert spec == {
        "schema": 2,
        "source": "a",
        "dest": "b",
        "packet-count": 10,
        "packet-interval": 0.1,
        "packet-timeout": 2,
        "packet-padding": 16,
        "bucket-width": 0.001,
        "ctrl-port": 861,
        "ip-tos": 32,
        "flip": True,
        "reverse": True,
        "output-raw": True,
    }
    assert test.spec_is_valid(spec) == {"valid": True}
    assert test.cli_to_spec(["-d", "b", "-T", "32"])["ip-tos"] == 32


def test_flip_needs_a_source():
    test = get_test("latency")
    verdict = test.spec_is_valid({"dest": "b", "flip": True})
    assert verdict == {
        "valid": False,
        "error": "You must specify both source and dest when using the flip option",
    }
    assert test.spec_is_valid({"dest": "b", "source": "a", "flip": True}) == {"valid": True}
    assert test.spec_is_valid({"dest": "b", "flip": False}) == {"valid": True}


@pytest.mark.parametrize(
    "spec, error",
    [
        ({}, "At /: 'dest' is a required property"),
        ({"dest": "x", "packet-interval": 0}, "At /packet-interval:"),
        ({"dest": "x", "bucket-width": 1}, "At /bucket-width:"),
        ({"dest": "x", "data-ports": {"lower": 1}}, "At /data-ports:"),
        ({"dest": "x", "reverse": True}, "At /: Additional properties are not allowed"),
        (
            {"schema": 2, "dest": "x", "protocol": "owamp"},
            "At /: Additional properties are not allowed",
        ),
        ({"schema": 5, "dest": "x"}, "Schema version 5 is not supported (highest is 4)."),
    ],
)
def test_bad_specs_are_rejected(spec, error):
    verdict = plugins.spec_is_valid(get_test("latency"), spec)
    assert verdict["valid"] is False and verdict["error"].startswith(error), verdict
