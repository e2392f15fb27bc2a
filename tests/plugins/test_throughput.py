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


def _both_sides(
    tool, spec: dict, pdata: list, client_pdata: list | None = None, stop_server: bool = False
) -> list:
    """Run participant 1 (server) and 0 (client) of one run at the same start, as two nodes
    would, each with the whole participant data (the client with ``client_pdata`` if given).
    ``stop_server`` cancels the server once the client is done (a refused client leaves it
    listening until its deadline)."""
    test = {"type": "throughput", "spec": spec}
    start = format_timestamp(utcnow() + dt.timedelta(seconds=1), fraction=True)
    results: list = [None, None]
    controls = [control_for(tool, test), control_for(tool, test)]

    def side(n: int) -> None:
        data = client_pdata if n == 0 and client_pdata is not None else pdata
        given = run_input("throughput", spec, participant=n, pdata=data)
        given["schedule"]["start"] = start
        results[n] = tool.run(given, controls[n])

    server, client = (threading.Thread(target=side, args=(n,)) for n in (1, 0))
    server.start()
    client.start()
    client.join(30)
    if stop_server:
        controls[1].stop.set()
    server.join(30)
    return results


TWO_SIDED = {"dest": "127.0.0.1", "duration": "PT1S", "link-rtt": "PT0.01S", "schema": 3}


def test_two_participants_server_and_client_merge_with_authorisation():
    """Participant 1 serves on the port it announced and, the client's data being schema 3,
    demands the credentials it generated; participant 0 presents them; merge."""
    require_program("iperf3")
    tool = get_tool("iperf3")
    test = {"type": "throughput", "spec": TWO_SIDED}
    pdata = [tool.participant_data(test, 0), tool.participant_data(test, 1)]
    assert pdata[1]["server_port"] > 0 and pdata[0]["iperf3-version"]
    assert pdata[0]["schema"] >= 2 and "_auth" not in pdata[0]
    results = _both_sides(tool, TWO_SIDED, pdata)
    merged = plugins.merged_results(tool, test, results)
    assert merged["succeeded"], merged
    assert schema_error(get_test("throughput").result_schema, merged) is None
    assert "-s -1" in merged["diags"] and "-c 127.0.0.1" in merged["diags"]
    server, client = results[1]["diags"], results[0]["diags"]
    assert "--authorized-users-path" in server and "--rsa-private-key-path" in server
    assert "--username" in client and "--rsa-public-key-path" in client
    assert pdata[1]["_auth"]["password"] not in merged["diags"]  # only in the environment


def test_auth_block_has_the_originals_shape():
    import hashlib

    from cryptography.hazmat.primitives import serialization

    auth = get_tool("iperf3").participant_data({"type": "throughput", "spec": TWO_SIDED}, 1)[
        "_auth"
    ]
    assert set(auth) == {"private", "public", "username", "password", "credentials"}
    assert len(auth["username"]) == 20 and len(auth["password"]) == 20
    digest = hashlib.sha256(f"{{{auth['username']}}}{auth['password']}".encode()).hexdigest()
    assert auth["credentials"] == f"{auth['username']},{digest}\n"
    assert auth["private"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert auth["public"].startswith("-----BEGIN PUBLIC KEY-----")
    private = serialization.load_pem_private_key(auth["private"].encode(), password=None)
    assert private.key_size == 2048
    public = serialization.load_pem_public_key(auth["public"].encode())
    assert public.public_numbers() == private.public_key().public_numbers()


def test_credentials_are_new_every_run_and_the_key_pair_is_renewed(monkeypatch):
    """The RSA pair is kept for an hour (generating one cost up to 700 ms per run on a busy
    mesh participant); what admits a client, the user name and password, is never reused."""
    from pscheduler_plugins.tools import iperf3 as module

    iperf3 = get_tool("iperf3")
    test = {"type": "throughput", "spec": TWO_SIDED}
    first, second = (iperf3.participant_data(test, 1)["_auth"] for _ in range(2))
    assert first["private"] == second["private"] and first["public"] == second["public"]
    assert first["username"] != second["username"] and first["password"] != second["password"]
    monkeypatch.setattr(module, "KEY_LIFETIME", 0.0)
    third = iperf3.participant_data(test, 1)["_auth"]
    assert third["private"] != first["private"] and third["public"] != first["public"]


def test_old_client_gets_a_server_without_authorisation():
    """A client whose participant data is schema 1 (an older pScheduler) cannot present
    credentials: the server must not ask for them, and the old client ignores ``_auth``."""
    require_program("iperf3")
    tool = get_tool("iperf3")
    test = {"type": "throughput", "spec": TWO_SIDED}
    server_data = tool.participant_data(test, 1)
    old_client = {"schema": 1}
    # The old client runs as if ``_auth`` were not there: it knows nothing of it.
    ignored = {k: v for k, v in server_data.items() if k != "_auth"}
    results = _both_sides(
        tool, TWO_SIDED, [old_client, server_data], client_pdata=[old_client, ignored]
    )
    server, client = results[1], results[0]
    assert server["succeeded"] and client["succeeded"], results
    assert "--authorized-users-path" not in server["diags"] and "-s -1" in server["diags"]
    assert "--username" not in client["diags"]


def test_server_refuses_a_client_with_the_wrong_password():
    """The authorisation really is enforced: a client with other credentials is refused."""
    require_program("iperf3")
    tool = get_tool("iperf3")
    test = {"type": "throughput", "spec": TWO_SIDED}
    pdata = [tool.participant_data(test, 0), tool.participant_data(test, 1)]
    wrong = [pdata[0], {**pdata[1], "_auth": {**pdata[1]["_auth"], "password": "x" * 20}}]
    results = _both_sides(tool, TWO_SIDED, pdata, client_pdata=wrong, stop_server=True)
    client = results[0]
    assert client["succeeded"] is False
    assert "authorization failed" in client["error"], client


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
