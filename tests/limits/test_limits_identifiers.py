"""Each identifier type, invert, and identifier failures, through load() and process()."""

from __future__ import annotations

import json
import socket

import pytest

from pscheduler.limits import LimitConfigError, load
from pscheduler.limits.identifiers import CidrUrl

from .conftest import LOOPBACK, OUTSIDER, config, idle_task


def identified(identifier: dict, hints: dict) -> list[str]:
    """Names identified for ``hints`` with ``identifier`` plus a catch-all 'anyone'."""
    processor = load(
        config(
            identifiers=[
                identifier,
                {"name": "anyone", "description": "", "type": "always", "data": {}},
            ],
            classifiers=[{"name": "c", "description": "", "identifiers": ["anyone"]}],
        )
    )
    diags = processor.process(idle_task(), hints).diags
    line = next(x for x in diags.splitlines() if x.startswith("Identified as "))
    return [n for n in line.removeprefix("Identified as ").split(", ") if n != "anyone"]


def ident(kind: str, data: dict, **extra) -> dict:
    return {"name": "it", "description": "under test", "type": kind, "data": data, **extra}


def test_always_identifies_everyone():
    assert identified(ident("always", {}), OUTSIDER) == ["it"]


def test_always_rejects_data():
    with pytest.raises(LimitConfigError, match=r"Identifier 'it': Invalid data: At /: "):
        load(config(identifiers=[ident("always", {"x": 1})], classifiers=[]))


@pytest.mark.parametrize(
    "match, hint, expected",
    [
        ({"style": "exact", "match": "127.0.0.1"}, "127.0.0.1", True),
        ({"style": "exact", "match": "127.0.0.1"}, "127.0.0.10", False),
        ({"style": "contains", "match": "0.0"}, "127.0.0.1", True),
        ({"style": "regex", "match": "^PROXY-[0-9]+$", "case-insensitive": True}, "proxy-12", True),
        ({"style": "regex", "match": "^PROXY-[0-9]+$"}, "proxy-12", False),
        ({"style": "contains", "match": "ABC", "case-insensitive": True}, "xabcx", True),
        ({"style": "exact", "match": "a", "invert": True}, "b", True),
    ],
)
def test_hint_string_match(match, hint, expected):
    found = identified(ident("hint", {"hint": "via", "match": match}), {**LOOPBACK, "via": hint})
    assert (found == ["it"]) is expected


def test_hint_absent_does_not_identify():
    assert (
        identified(
            ident("hint", {"hint": "via", "match": {"style": "regex", "match": ".*"}}), LOOPBACK
        )
        == []
    )


def test_jq_identifier_true_only():
    script = {"script": '.requester | startswith("127.")'}
    assert identified(ident("jq", script), LOOPBACK) == ["it"]
    assert identified(ident("jq", script), OUTSIDER) == []
    assert identified(ident("jq", {"script": '"yes"'}), LOOPBACK) == []  # not boolean true
    assert identified(ident("jq", {"script": 'error("x")'}), LOOPBACK) == []


def test_jq_identifier_bad_script_is_a_load_error():
    with pytest.raises(
        LimitConfigError, match=r"Identifier 'it': Invalid data: Invalid script: .*syntax error"
    ):
        load(config(identifiers=[ident("jq", {"script": ". |"})], classifiers=[]))


def test_ip_cidr_list():
    data = {"cidrs": ["127.0.0.0/8", "2001:db8::/32", "198.51.100.7"]}
    assert identified(ident("ip-cidr-list", data), LOOPBACK) == ["it"]
    assert identified(ident("ip-cidr-list", data), {"requester": "2001:db8::5"}) == ["it"]
    assert identified(ident("ip-cidr-list", data), {"requester": "198.51.100.7"}) == ["it"]
    assert identified(ident("ip-cidr-list", data), OUTSIDER) == []


def test_ip_cidr_list_bad_entry_names_the_identifier():
    with pytest.raises(
        LimitConfigError, match=r"Identifier 'it': Invalid data: Invalid IP or CIDR 'nonsense'"
    ):
        load(config(identifiers=[ident("ip-cidr-list", {"cidrs": ["nonsense"]})], classifiers=[]))


def test_local_if_and_local_subnet_know_loopback():
    for kind in ("local-if", "localif", "local-subnet"):
        assert identified(ident(kind, {}), LOOPBACK) == ["it"], kind
        assert identified(ident(kind, {}), OUTSIDER) == [], kind
    # 127.0.0.2 is in loopback's subnet but not an interface address
    assert identified(ident("local-subnet", {}), {"requester": "127.0.0.2"}) == ["it"]
    assert identified(ident("local-if", {}), {"requester": "127.0.0.2"}) == []


def test_reverse_dns_of_loopback():
    name = socket.gethostbyaddr("127.0.0.1")[0]  # what this host calls 127.0.0.1
    match = {"style": "exact", "match": name.upper(), "case-insensitive": True}
    assert identified(ident("ip-reverse-dns", {"match": match, "timeout": "PT2S"}), LOOPBACK) == [
        "it"
    ]
    other = {"style": "exact", "match": name + "-not"}
    assert identified(ident("ip-reverse-dns", {"match": other, "timeout": "PT2S"}), LOOPBACK) == []
    # TEST-NET-3 addresses have no PTR (or time out): not identified
    assert identified(ident("ip-reverse-dns", {"match": match, "timeout": "PT1S"}), OUTSIDER) == []


def test_invert_identifies_when_the_test_fails():
    data = {"cidrs": ["127.0.0.0/8"]}
    assert identified(ident("ip-cidr-list", data, invert=True), LOOPBACK) == []
    assert identified(ident("ip-cidr-list", data, invert=True), OUTSIDER) == ["it"]


def test_identifier_that_throws_is_reported_and_skipped():
    processor = load(
        config(
            identifiers=[
                ident("ip-cidr-list", {"cidrs": ["127.0.0.0/8"]}),
                {"name": "anyone", "description": "", "type": "always", "data": {}},
            ],
            classifiers=[{"name": "c", "description": "", "identifiers": ["anyone"]}],
        )
    )
    verdict = processor.process(idle_task(), {"requester": "not-an-ip"})
    assert verdict.passed
    lines = verdict.diags.splitlines()
    assert lines[lines.index("Identifier diagnostics:") + 1] == (
        "  Identifier it threw an exception: Invalid IP 'not-an-ip'  Please report this as a bug."
    )
    assert "Identified as anyone" in lines


def test_cidr_list_url_fetches_excludes_and_transforms(server):
    server.routes["/list"] = (
        200,
        "# our networks\n127.0.0.0/8  # loopback\n\ngarbage line\n2001:db8::/32\n",
    )
    data = {
        "source": server.url("/list"),
        "update": "P1D",
        "retry": "PT1H",
        "exclude": ["127.0.0.2"],
    }
    assert identified(ident("ip-cidr-list-url", data), LOOPBACK) == ["it"]
    assert identified(ident("ip-cidr-list-url", data), {"requester": "127.0.0.2"}) == []
    assert identified(ident("ip-cidr-list-url", data), OUTSIDER) == []

    server.routes["/json"] = (200, json.dumps({"prefixes": [{"p": "203.0.113.0/24"}]}))
    data = {
        "source": server.url("/json"),
        "update": "P1D",
        "retry": "PT1H",
        "transform": {"script": ".prefixes[].p"},
    }
    assert identified(ident("ip-cidr-list-url", data), OUTSIDER) == ["it"]
    assert identified(ident("ip-cidr-list-url", data), LOOPBACK) == []


def test_cidr_list_url_update_retry_and_fail_state(server):
    now = [1000.0]
    data = {"source": server.url("/list"), "update": "PT1H", "retry": "PT1M", "fail-state": True}
    server.routes["/list"] = (500, "down")
    ident_ = CidrUrl(data, clock=lambda: now[0])
    assert server.hits("/list") == 1
    assert ident_.identifies(OUTSIDER) is True  # nothing fetched yet: fail-state
    assert server.hits("/list") == 1  # retry not due yet

    server.routes["/list"] = (200, "127.0.0.0/8\n")
    now[0] += 59
    ident_.identifies(LOOPBACK)
    assert server.hits("/list") == 1
    now[0] += 2  # retry (PT1M) is due
    assert ident_.identifies(LOOPBACK) is True
    assert ident_.identifies(OUTSIDER) is False
    assert server.hits("/list") == 2

    server.routes["/list"] = (200, "203.0.113.0/24\n")
    now[0] += 3599
    assert ident_.identifies(OUTSIDER) is False  # cached until the update is due
    now[0] += 2
    assert ident_.identifies(OUTSIDER) is True
    assert server.hits("/list") == 3

    server.routes["/list"] = (500, "down again")
    now[0] += 3601
    assert ident_.identifies(OUTSIDER) is True  # a failed refresh keeps the old list
    assert ident_.last_error == f"Status 500 from {server.url('/list')}"
