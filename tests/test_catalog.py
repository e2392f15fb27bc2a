"""Plugin metadata endpoints (spec/api.md §2.2)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize(
    ("plural", "expected"),
    [
        (
            "tests",
            {
                "idle",
                "noop",
                "idleex",
                "idlebgm",
                "mtu",
                "netreach",
                "openports",
                "psresponse",
                "simplestream",
                "disk-to-disk",
                # The rest of issue 19's list.
                "snmpget",
                "snmpgetbgm",
                "snmpset",
                "latencybg",
                "s3throughput",
                "dhcp",
            },
        ),
        (
            "tools",
            {
                "snooze",
                "sleep",
                "sleepbgm",
                "passthrough",
                "tracemtu",
                "fpingreach",
                "nmapreach",
                "nmapscan",
                "nuttcp",
                "iperf2",
                "pstimer",
                "psurl",
                "simplestreamer",
                "curl-d2d",
                "paris-traceroute",
                # The rest of issue 19's list.
                "fwmtu",
                "pysnmp",
                "net-snmp",
                "net-snmp-set",
                "powstream",
                "twping",
                "s3-benchmark",
                "dhclient",
            },
        ),
        ("archivers", {"bitbucket", "failer", "snmptrap"}),
        ("contexts", {"changenothing", "changefail", "linuxnns", "linuxvrf"}),
    ],
)
def test_listings(node, plural, expected):
    urls = node.get(plural).json()
    assert {u.rsplit("/", 1)[1] for u in urls} >= expected
    expanded = node.get(plural, params={"expanded": "1"}).json()
    names = [e["name"] for e in expanded]
    assert set(names) >= expected
    assert all(e["href"] == f"{node.base}/{plural}/{e['name']}" for e in expanded)


def test_tests_are_ordered_by_name(node):
    names = [u.rsplit("/", 1)[1] for u in node.get("tests").json()]
    assert names == sorted(names)


def test_one_test(node):
    r = node.get("tests/idle")
    body = r.json()
    assert body["name"] == "idle"
    assert body["scheduling-class"] == "background"
    assert body["href"] == node.url("tests/idle")


@pytest.mark.parametrize(
    ("plural", "kind"),
    [("tests", "test"), ("tools", "tool"), ("archivers", "archiver"), ("contexts", "context")],
)
def test_unknown_plugin_is_404(node, plural, kind):
    r = node.get(f"{plural}/nonesuch")
    assert r.status_code == 404
    assert r.text == f'No {kind} "nonesuch" is available.\n'


def test_spec_from_args(node):
    r = node.get("tests/idle/spec", params={"args": json.dumps(["--duration", "PT5S"])})
    assert r.status_code == 200
    assert r.json() == {"schema": 1, "duration": "PT5S"}


def test_spec_help_is_a_400_with_usage(node):
    r = node.get("tests/idle/spec", params={"args": json.dumps(["--help"])})
    assert r.status_code == 400
    assert "--duration" in r.text and "Examples:" in r.text


def test_spec_bad_option(node):
    r = node.get("tests/idle/spec", params={"args": json.dumps(["--bogus"])})
    assert r.status_code == 400
    assert r.text.startswith("Unusable arguments:")


def test_spec_bad_json(node):
    r = node.get("tests/idle/spec", params={"args": "[nope"})
    assert r.status_code == 400
    assert r.text.startswith("JSON passed to 'args': Invalid JSON:")


def test_spec_is_valid(node):
    good = node.get("tests/idle/spec/is-valid", params={"spec": json.dumps({"duration": "PT1S"})})
    assert good.json() == {"valid": True}
    bad = node.get("tests/idle/spec/is-valid", params={"spec": json.dumps({"duration": "soon"})})
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert bad.json()["error"].startswith("At /duration:")
    missing = node.get("tests/idle/spec/is-valid", params={"spec": json.dumps({})})
    assert missing.json() == {"valid": False, "error": "At /: 'duration' is a required property"}
    assert node.get("tests/idle/spec/is-valid").text == "No test spec provided\n"
    # Text that is not JSON is a verdict, not a 400, as in the original (issue 17).
    garbled = node.get("tests/idle/spec/is-valid", params={"spec": "{nope"})
    assert garbled.status_code == 200
    assert garbled.json()["valid"] is False
    assert garbled.json()["error"].startswith("Invalid JSON:")
    assert node.get("tests/nonesuch/spec/is-valid", params={"spec": "{}"}).status_code == 404


def test_spec_parity_with_the_original(node):
    """cli-to-spec and is-valid answers that differed from the original's (issue 17)."""

    def spec(test, args):
        r = node.get(f"tests/{test}/spec", params={"args": json.dumps(args)})
        assert r.status_code == 200, r.text
        return r.json()

    def valid(test, body):
        return node.get(f"tests/{test}/spec/is-valid", params={"spec": json.dumps(body)}).json()

    assert spec("throughput", ["-d", "x", "-t", 10, "--omit", 5]) == {
        "schema": 1,
        "dest": "x",
        "duration": "PT10S",
        "omit": "PT5S",
    }
    assert spec("idleex", ["-d", "PT1S", "--host-node", "n.example:443"])["host-node"] == (
        "n.example:443"
    )
    assert spec("idlebgm", ["-i", "PT2S"]) == {"schema": 1, "interval": "PT2S"}
    assert spec("idlebgm", ["--interval", "3"]) == {"schema": 1, "interval": "PT3S"}
    assert valid("http", {"url": "not a url"}) == {"valid": True}
    assert valid("idlebgm", {"duration": "PT10S", "interval": "PT2S"}) == {"valid": True}
    two = {"schema": 2, "duration": "PT1S", "host": ["a"]}
    assert valid("idle", two) == {"valid": True}
    assert valid("idleex", two)["valid"] is False
    assert valid("idlebgm", two)["valid"] is False
    assert valid("latency", {"dest": "b", "flip": True})["valid"] is False


def test_tools_for_test(node):
    urls = node.get("tests/idle/tools").json()
    assert {u.rsplit("/", 1)[1] for u in urls} == {"snooze", "sleep"}
    assert node.get("tests/nonesuch/tools").json() == []


def test_participants(node):
    r = node.get("tests/idle/participants", params={"spec": json.dumps({"duration": "PT1S"})})
    assert r.json()["participants"] == [None]
    r = node.get(
        "tests/idle/participants",
        params={"spec": json.dumps({"duration": "PT1S", "host": "a.example"})},
    )
    assert r.json() == {"participants": ["a.example"]}
    assert node.get("tests/idle/participants").status_code == 400
    assert node.get("tests/nonesuch/participants", params={"spec": "{}"}).status_code == 404


def test_tool_survey_api6_and_older(node):
    test = json.dumps({"type": "idle", "spec": {"duration": "PT30S"}})
    survey = node.get("tools", params={"test": test, "api": "6"}).json()
    by_name = {e["tool"]["name"]: e["can-run"] for e in survey}
    assert by_name["sleep"] == {"can-run": True}
    assert by_name["snooze"] == {"can-run": True}
    long = json.dumps({"type": "idle", "spec": {"duration": "PT2M"}})
    survey = node.get("tools", params={"test": long, "api": "6"}).json()
    snooze = next(e for e in survey if e["tool"]["name"] == "snooze")
    assert snooze["can-run"]["can-run"] is False
    assert snooze["can-run"]["reasons"] == ["Duration must be at most PT1M"]
    old = node.get("tools", params={"test": long}).json()
    assert [t["name"] for t in old] == ["sleep"]
    assert node.get("tools", params={"test": json.dumps({"type": "nonesuch"})}).json() == []
    assert node.get("tools", params={"test": "{bad"}).status_code == 400


def test_data_is_valid(node):
    r = node.get("archivers/bitbucket/data-is-valid", params={"data": "{}"})
    assert r.json() == {"valid": True}
    r = node.get("archivers/failer/data-is-valid", params={"data": json.dumps({"fail": "a"})})
    assert r.json()["valid"] is False and r.json()["error"].startswith("At /fail:")
    # The original's ``fail`` is any float, not a probability (issue 17).
    r = node.get("archivers/failer/data-is-valid", params={"data": json.dumps({"fail": 3})})
    assert r.json() == {"valid": True}
    assert node.get("archivers/bitbucket/data-is-valid").text == "No archive data provided\n"
    assert node.get("contexts/changenothing/data-is-valid").text == "No context data provided\n"
    assert node.get("contexts/changenothing/data-is-valid", params={"data": "{}"}).json() == {
        "valid": True
    }
    assert node.get("archivers/nonesuch/data-is-valid", params={"data": "{}"}).status_code == 404


def test_secrets_are_sanitised_in_listings(node):
    # Enumerations hold no secrets, but the listing goes through the sanitiser all the same.
    expanded = node.get("archivers", params={"expanded": ""}).json()
    assert all(not k.startswith("_") or v is None for e in expanded for k, v in e.items())
