"""ip-cymru-bogon and ip-cymru-asn, as the original's: DNS look-ups of the requester in Team
Cymru's zones, answered here by a DNS server on 127.0.0.1 that the node's configuration
(PSCHEDULER_CYMRU_RESOLVER) points at; no definitive answer gives ``fail-result``."""

from __future__ import annotations

import time

import pytest

from pscheduler.limits import LimitConfigError, load
from tests.cymru_zone import cymru_server, silent_server

from .conftest import config
from .test_limits_identifiers import ident, identified

pytest.importorskip("dnslib")


@pytest.fixture
def zone(monkeypatch):
    with cymru_server() as (nameserver, resolver):
        monkeypatch.setenv("PSCHEDULER_CYMRU_RESOLVER", nameserver)
        yield resolver


def bogon(**data) -> dict:
    return ident("ip-cymru-bogon", {"timeout": "PT2S", "fail-result": False, **data})


def asn(**data) -> dict:
    return ident("ip-cymru-asn", {"timeout": "PT2S", "fail-result": False, **data})


@pytest.mark.parametrize(
    "requester, expected",
    [("192.168.0.1", True), ("1000::1", True), ("8.8.8.8", False), ("2001:4860::8888", False)],
)
def test_bogon(zone, requester, expected):
    assert (identified(bogon(), {"requester": requester}) == ["it"]) is expected


def test_bogon_asks_the_full_bogon_zone_with_an_a_query(zone):
    identified(bogon(), {"requester": "1000::1"})
    name, qtype = zone.queries[-1]
    assert qtype == "A" and name.endswith(".1.v6.fullbogons.cymru.com.")
    assert name.count(".") == 32 + 4  # 32 nibbles, then v6.fullbogons.cymru.com.


def test_bogon_exclude(zone):
    excluded = bogon(exclude=["192.168.0.0/16"])
    assert identified(excluded, {"requester": "192.168.0.1"}) == []
    assert identified(excluded, {"requester": "1000::1"}) == ["it"]


def test_bogon_without_an_answer_gives_fail_result(zone):
    hints = {"requester": "198.51.100.7"}  # the server answers SERVFAIL
    assert identified(bogon(**{"fail-result": True}), hints) == ["it"]
    assert identified(bogon(**{"fail-result": False}), hints) == []


def test_no_requester_is_not_identified(zone):
    assert identified(bogon(**{"fail-result": True}), {"server": "127.0.0.1"}) == []
    assert identified(asn(asns=[15169], **{"fail-result": True}), {}) == []


@pytest.mark.parametrize(
    "data, requester, expected",
    [
        ({"asns": [15169]}, "8.8.8.8", True),
        ({"asns": [15169]}, "2001:4860::8888", True),
        ({"asns": [3356]}, "8.8.8.8", False),
        ({"asns": [3356], "peers": True}, "8.8.8.8", True),
        ({"asns": [15169], "peers": True}, "8.8.8.8", False),
        ({"asns": [15169]}, "9.9.9.9", False),  # not routed: NXDOMAIN
    ],
)
def test_asn(zone, data, requester, expected):
    assert (identified(asn(**data), {"requester": requester}) == ["it"]) is expected


@pytest.mark.parametrize("fail_result", [True, False])
def test_offline_gives_fail_result_within_the_timeout(monkeypatch, fail_result):
    """A server that never answers is what an offline node sees."""
    with silent_server() as nameserver:
        monkeypatch.setenv("PSCHEDULER_CYMRU_RESOLVER", nameserver)
        began = time.monotonic()
        for make in (bogon, asn):
            entry = make(timeout="PT0.3S", asns=[1], **{"fail-result": fail_result})
            if make is bogon:
                del entry["data"]["asns"]
            found = identified(entry, {"requester": "8.8.8.8"})
            assert (found == ["it"]) is fail_result
        assert time.monotonic() - began < 3


def test_original_sample_file_entries_load():
    """The shapes of the original's sample limit files load (issue 17)."""
    load(
        '{"schema": 1, "identifiers": ['
        '{"name": "bogons", "description": "Bogon/martian IPs", "type": "ip-cymru-bogon",'
        ' "data": {"exclude": ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"],'
        ' "timeout": "PT1S", "fail-result": false}},'
        '{"name": "example-asns", "description": "Some ASes", "type": "ip-cymru-asn",'
        ' "data": {"asns": [15169, 3356], "timeout": "PT1S", "fail-result": false}}],'
        ' "classifiers": [], "limits": [], "applications": []}'
    )


@pytest.mark.parametrize(
    "entry, error",
    [
        (ident("ip-cymru-bogon", {}), "'fail-result' is a required property"),
        (ident("ip-cymru-bogon", {"fail-result": False, "exclude": ["x"]}), "Invalid IP or CIDR"),
        (ident("ip-cymru-asn", {"fail-result": False, "asns": [0]}), "At /asns/0:"),
        (ident("ip-cymru-asn", {"fail-result": "no"}), "At /fail-result:"),
    ],
)
def test_bad_data_is_a_load_error(entry, error):
    with pytest.raises(LimitConfigError, match=error):
        load(config(identifiers=[entry], classifiers=[]))


def test_cymru_resolver_flag_points_the_look_ups(tmp_path, monkeypatch, capsys):
    """``pscheduler-server --cymru-resolver`` is the configuration that aims the look-ups."""
    from pscheduler.server.supervisor import main

    limits = tmp_path / "limits.conf"
    anyone = {"name": "anyone", "description": "", "type": "always", "data": {}}
    classifier = {"name": "c", "description": "", "identifiers": ["anyone"]}
    limits.write_text(config(identifiers=[bogon(), anyone], classifiers=[classifier]))
    task = tmp_path / "task.json"
    task.write_text('{"schema": 1, "test": {"type": "idle", "spec": {"duration": "PT1S"}}}')
    monkeypatch.setenv("PSCHEDULER_CYMRU_RESOLVER", "127.0.0.1:9")  # restored afterwards
    with cymru_server() as (nameserver, resolver):
        argv = ["--cymru-resolver", nameserver, "--limits", str(limits), "limit-diags"]
        hints = '{"requester": "192.168.0.1", "server": "127.0.0.1"}'
        assert main([*argv, str(task), "--hints", hints]) == 0
    assert "Identified as it, anyone" in capsys.readouterr().out
    assert resolver.queries == [("1.0.168.192.v4.fullbogons.cymru.com.", "A")]
