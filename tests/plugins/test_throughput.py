"""The throughput test with iperf3, over loopback."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from pscheduler.toolkit.iso8601 import format_timestamp, utcnow
from pscheduler.toolkit.jsonval import schema_error
from tests.plugins.plugin_helpers import (
    control_for,
    formatted,
    get_test,
    get_tool,
    measure,
    require_program,
    run_input,
)


def test_loopback_tcp_two_streams_with_intervals():
    require_program("iperf3")
    spec = {
        "schema": 5,
        "dest": "127.0.0.1",
        "loopback": True,
        "duration": "PT1S",
        "interval": "PT0.5S",
        "parallel": 2,
    }
    _, merged = measure("iperf3", "throughput", spec)
    assert merged["succeeded"], merged
    assert len(merged["intervals"]) >= 2
    assert all(len(i["streams"]) == 2 for i in merged["intervals"])
    total = merged["summary"]["summary"]
    assert total["throughput-bits"] > 1e6 and total["receiver-throughput-bits"] > 1e6
    assert total["retransmits"] >= 0 and len(merged["summary"]["streams"]) == 2
    text, html = formatted("throughput", spec, merged)
    assert "* Stream ID" in text and "Retransmits" in text and "Summary" in text and "bps" in text
    assert "<table>" in html


def test_loopback_udp_reports_loss_and_jitter():
    require_program("iperf3")
    spec = {
        "schema": 5,
        "dest": "127.0.0.1",
        "loopback": True,
        "duration": "PT1S",
        "udp": True,
        "bandwidth": 10_000_000,
    }
    _, merged = measure("iperf3", "throughput", spec)
    assert merged["succeeded"], merged
    total = merged["summary"]["summary"]
    assert total["sent"] > 0 and total["lost"] >= 0 and total["jitter"] >= 0
    assert 5e6 < total["throughput-bits"] < 2e7
    text, _ = formatted("throughput", spec, merged)
    assert "Lost / Sent" in text


def test_two_participants_server_and_client_merge():
    """Participant 1 serves on the port it announced; participant 0 connects; merge."""
    require_program("iperf3")
    tool = get_tool("iperf3")
    spec = {"dest": "127.0.0.1", "duration": "PT1S", "link-rtt": "PT0.01S", "schema": 3}
    test = {"type": "throughput", "spec": spec}
    pdata = [tool.participant_data(test, 0), tool.participant_data(test, 1)]
    assert pdata[1]["server_port"] > 0 and pdata[0]["iperf3-version"]
    start = format_timestamp(utcnow() + dt.timedelta(seconds=1), fraction=True)
    results: list = [None, None]

    def side(n: int) -> None:
        given = run_input("throughput", spec, participant=n, pdata=pdata)
        given["schedule"]["start"] = start
        results[n] = tool.run(given, control_for(tool, test))

    threads = [threading.Thread(target=side, args=(n,)) for n in (1, 0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    merged = plugins.merged_results(tool, test, results)
    assert merged["succeeded"], merged
    assert schema_error(get_test("throughput").result_schema, merged) is None
    assert "-s -1" in merged["diags"] and "-c 127.0.0.1" in merged["diags"]


def test_can_run_and_duration():
    tool = get_tool("iperf3")
    assert tool.duration({"type": "throughput", "spec": {"dest": "x"}}).total_seconds() == 19
    both = {"type": "throughput", "spec": {"schema": 7, "dest": "x", "bandwidth": 1, "fq-rate": 1}}
    assert not plugins.can_run(tool, both)["can-run"]
    burst = {"type": "throughput", "spec": {"schema": 4, "dest": "x", "burst-size": 3}}
    assert plugins.can_run(tool, burst)["reasons"] == ["iperf3 does not support burst-size"]


def test_participants_single_only_when_true():
    participants = get_test("throughput").participants
    assert participants({"dest": "b", "source": "a"}) == {"participants": ["a", "b"]}
    assert participants({"dest": "b", "source": "a", "loopback": False}) == {
        "participants": ["a", "b"]
    }
    assert participants({"dest": "b", "source": "a", "loopback": True}) == {"participants": ["a"]}
    assert participants({"dest": "b", "dest-node": "c:8443", "single-ended": False})[
        "participants"
    ] == [None, "c:8443"]


@pytest.mark.parametrize(
    "spec",
    [
        {
            "schema": 1,
            "dest": "x",
            "udp": True,
            "bandwidth": 384000000,
            "parallel": 4,
            "duration": "PT5S",
        },
        {"schema": 3, "dest": "x", "link-rtt": "PT0.02S", "reverse": True, "omit": "PT1S"},
        {"schema": 4, "dest": "x", "congestion": "prague", "zero-copy": False},
        {
            "schema": 6,
            "dest": "x",
            "loopback": True,
            "reverse-connections": True,
            "window-size": 65536,
        },
        {
            "schema": 7,
            "dest": "x",
            "fq-rate": 1000000,
            "single-ended": True,
            "single-ended-port": 5201,
        },
    ],
)
def test_cli_round_trip(spec):
    test = get_test("throughput")
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec


def test_cli_si_suffixes_and_errors():
    test = get_test("throughput")
    assert test.cli_to_spec(["-d", "x", "-b", "384M", "-w", "64Ki"])["window-size"] == 65536
    assert test.cli_to_spec(["-d", "x", "--link-rtt", "20"])["link-rtt"] == "PT0.02S"
    assert test.cli_to_spec(["-d", "x", "--flow-label", "5"])["ip-version"] == 6
    with pytest.raises(UsageError, match='Invalid value "fast" for bandwidth'):
        test.cli_to_spec(["-d", "x", "-b", "fast"])
    with pytest.raises(UsageError, match="--parallel"):
        test.cli_to_spec(["--help"])


def test_cli_whole_seconds_become_durations():
    """``-t 10`` and ``--omit 5`` are seconds, as in the original (issue 17)."""
    test = get_test("throughput")
    spec = test.cli_to_spec(["-d", "x", "-t", "10", "--omit", "5"])
    assert spec == {"schema": 1, "dest": "x", "duration": "PT10S", "omit": "PT5S"}
    assert test.spec_is_valid(spec) == {"valid": True}
    assert test.cli_to_spec(["-d", "x", "-t", "PT1M", "-O", "PT2S"])["duration"] == "PT1M"
    assert test.cli_to_spec(["-d", "x", "-i", "2", "-B", "127.0.0.1"])["interval"] == "PT2S"
    with pytest.raises(UsageError, match='Invalid value "ten" for duration'):
        test.cli_to_spec(["-d", "x", "-t", "ten"])


@pytest.mark.parametrize(
    "spec, error",
    [
        ({"duration": "PT5S"}, "At /: 'dest' is a required property"),
        ({"dest": "x", "parallel": 0}, "At /parallel:"),
        ({"dest": "x", "congestion": "prague"}, "At /congestion:"),
        ({"schema": 4, "dest": "x", "congestion": ""}, "At /congestion:"),
        ({"dest": "x", "loopback": True}, "At /: Additional properties are not allowed"),
        ({"schema": 2, "dest": "x", "ip-tos": 300}, "At /ip-tos:"),
        ({"schema": 8, "dest": "x"}, "Schema version 8 is not supported (highest is 7)."),
    ],
)
def test_bad_specs_are_rejected(spec, error):
    verdict = plugins.spec_is_valid(get_test("throughput"), spec)
    assert verdict["valid"] is False and verdict["error"].startswith(error), verdict
