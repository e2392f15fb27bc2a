"""The dns test with dnspy, against a small DNS server started on 127.0.0.1."""

from __future__ import annotations

import pytest

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from pscheduler.toolkit.jsonval import schema_error
from tests.plugins.plugin_helpers import (
    control_for,
    formatted,
    get_test,
    get_tool,
    measure,
    run_input,
)

dnslib = pytest.importorskip("dnslib")
from dnslib import RR  # noqa: E402
from dnslib.server import BaseResolver, DNSServer  # noqa: E402

ZONE = """
example.test.        60 IN A     192.0.2.10
example.test.        60 IN A     192.0.2.11
example.test.        60 IN AAAA  2001:db8::10
example.test.        60 IN NS    ns1.example.test.
example.test.        60 IN MX    10 mail.example.test.
example.test.        60 IN TXT   "hello world"
example.test.        60 IN SOA   ns1.example.test. admin.example.test. 2024010101 3600 600 86400 300
www.example.test.    60 IN CNAME example.test.
10.2.0.192.in-addr.arpa. 60 IN PTR example.test.
"""


class ZoneResolver(BaseResolver):
    """Answers from ZONE; unknown names are NXDOMAIN, known names without the type empty."""

    def __init__(self) -> None:
        self.records = RR.fromZone(ZONE)

    def resolve(self, request, handler):
        reply = request.reply()
        qname, qtype = request.q.qname, dnslib.QTYPE[request.q.qtype]
        names = {rr.rname for rr in self.records}
        for rr in self.records:
            if rr.rname == qname and dnslib.QTYPE[rr.rtype] == qtype:
                reply.add_answer(rr)
        if qname not in names:
            reply.header.rcode = dnslib.RCODE.NXDOMAIN
        return reply


@pytest.fixture(scope="module")
def nameserver():
    server = DNSServer(ZoneResolver(), address="127.0.0.1", port=0)
    server.start_thread()
    port = server.server.server_address[1]
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.mark.parametrize(
    "query, record, expected",
    [
        ("example.test", "a", ["192.0.2.10", "192.0.2.11"]),
        ("example.test", "aaaa", ["2001:db8::10"]),
        ("example.test", "ns", ["ns1.example.test."]),
        ("www.example.test", "cname", "example.test."),
        ("192.0.2.10", "ptr", "example.test."),
        ("example.test", "mx", [{"pref": 10, "mx": "mail.example.test."}]),
        ("example.test", "txt", ["hello world"]),
        (
            "example.test",
            "soa",
            {
                "nameserver": "ns1.example.test.",
                "owner": "admin.example.test.",
                "serial": 2024010101,
                "refresh": 3600,
                "retry": 600,
                "expire": 86400,
                "minimum": 300,
            },
        ),
    ],
)
def test_each_record_type(nameserver, query, record, expected):
    spec = {
        "schema": 1,
        "query": query,
        "record": record,
        "nameserver": nameserver,
        "timeout": "PT2S",
    }
    _, merged = measure("dnspy", "dns", spec)
    assert merged["succeeded"], merged
    got = merged["record"]
    assert (sorted(got) if record == "a" else got) == expected
    assert merged["time"].startswith("PT")
    text, html = formatted("dns", spec, merged)
    assert text.startswith("Time ......... PT")
    assert record.upper() in text or record == "soa"
    assert html.startswith("<table>")


def test_missing_name_and_missing_type_fail_with_reason(nameserver):
    tool, test = get_tool("dnspy"), get_test("dns")
    for query, error in (
        ("nothing.test", "Domain does not exist"),
        ("www.example.test", "No answer"),
    ):
        spec = {"query": query, "record": "mx", "nameserver": nameserver, "timeout": "PT2S"}
        local = tool.run(run_input("dns", spec), control_for(tool, {"type": "dns", "spec": spec}))
        merged = plugins.merged_results(tool, {"type": "dns", "spec": spec}, [local])
        assert merged["succeeded"] is False and merged["error"] == error
        assert merged["time"].startswith("PT")
        assert schema_error(test.result_schema, merged) is None


def test_can_run_and_duration():
    tool = get_tool("dnspy")
    assert (
        tool.duration({"type": "dns", "spec": {"query": "x", "record": "a"}}).total_seconds() == 6
    )
    named = {"type": "dns", "spec": {"query": "x", "record": "a", "nameserver": "ns.example.net"}}
    assert plugins.can_run(tool, named) == {
        "can-run": False,
        "reasons": ["dnspy needs the nameserver as an IP address"],
    }


def test_cli_lower_cases_record_and_round_trips():
    test = get_test("dns")
    spec = test.cli_to_spec(
        ["--query", "x.net", "--record", "MX", "--nameserver", "192.0.2.1", "--timeout", "PT1S"]
    )
    assert spec == {
        "schema": 1,
        "query": "x.net",
        "record": "mx",
        "nameserver": "192.0.2.1",
        "timeout": "PT1S",
    }
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec
    with pytest.raises(UsageError, match="--nameserver"):
        test.cli_to_spec(["--help"])


@pytest.mark.parametrize(
    "spec, error",
    [
        ({"record": "a"}, "At /: 'query' is a required property"),
        ({"query": "x"}, "At /: 'record' is a required property"),
        ({"query": "x", "record": "srv"}, "At /record:"),
        ({"query": "x", "record": "a", "timeout": "2s"}, "At /timeout:"),
        ({"query": "x", "record": "a", "extra": 1}, "At /: Additional properties are not allowed"),
        (
            {"schema": 2, "query": "x", "record": "a"},
            "Schema version 2 is not supported (highest is 1).",
        ),
    ],
)
def test_bad_specs_are_rejected(spec, error):
    verdict = plugins.spec_is_valid(get_test("dns"), spec)
    assert verdict["valid"] is False and verdict["error"].startswith(error), verdict


def test_spec_to_cli_keeps_the_original_order():
    """/tasks/<t>/cli lists --nameserver, --record, --query in that order (issue 17)."""
    spec = {"schema": 1, "query": "example.test", "record": "a", "nameserver": "127.0.0.1"}
    args = get_test("dns").spec_to_cli(spec)
    assert args == ["--nameserver", "127.0.0.1", "--record", "a", "--query", "example.test"]
    assert get_test("dns").cli_to_spec(args) == spec
