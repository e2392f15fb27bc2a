"""The rest of issue 19's catalogue, called directly: SNMP specs and CLIs, fwmtu on
loopback, and latencybg/powstream, twping, s3throughput/s3-benchmark and dhcp/dhclient up
to the program call (their programs are not packaged in Debian, or need a DHCP server)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from pscheduler_plugins.tools import dhclient, powstream, s3_benchmark, snmp_tools, twping

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from tests.plugins.plugin_helpers import formatted, get_test, get_tool, measure, require_program


@pytest.mark.parametrize(
    ("test", "args", "spec"),
    [
        (
            "snmpget",
            ["--dest", "r.example", "--version", "2c", "--community", "pub", "--oid", "1.3.6.1.2.1.1.3.0,1.3.6.1.2.1.1.5.0"],
            {"schema": 1, "dest": "r.example", "version": "2c", "_community": "pub",
             "oid": ["1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"], "polls": 1},
        ),
        (
            "snmpgetbgm",
            ["--dest", "r.example:1161", "--version", "3", "--security-name", "me", "--security-level",
             "authPriv", "--auth-protocol", "SHA", "--auth-key", "k1", "--priv-protocol", "AES",
             "--priv-key", "k2", "--oid", "1.3.6.1.2.1.2.2.1.10.1", "--polls", "3", "--period", "10",
             "--host", "h", "--timeout", "PT2S"],
            {"schema": 1, "dest": "r.example:1161", "version": "3", "security-name": "me",
             "security-level": "authPriv", "auth-protocol": "SHA", "_auth-key": "k1",
             "priv-protocol": "AES", "_priv-key": "k2", "oid": ["1.3.6.1.2.1.2.2.1.10.1"],
             "polls": 3, "period": 10, "host": "h", "timeout": "PT2S"},
        ),
        (
            "snmpset",
            ["--dest", "r.example", "--version", "1", "--community", "priv",
             "--oidargs", "SNMPv2-MIB::sysLocation.0:s:Ann Arbor: MI", "--oidargs", "1.3.6.1.4.1.1.0:i:5"],
            {"schema": 1, "dest": "r.example", "version": "1", "_community": "priv",
             "oidargs": [{"oid": "SNMPv2-MIB::sysLocation.0", "type": "s", "value": "Ann Arbor: MI"},
                         {"oid": "1.3.6.1.4.1.1.0", "type": "i", "value": "5"}]},
        ),
        (
            "latencybg",
            ["-s", "a", "-d", "b", "-c", "600", "-i", "0.1", "-t", "PT1H", "--data-ports", "9000-9100", "-R"],
            {"schema": 1, "source": "a", "dest": "b", "packet-count": 600, "packet-interval": 0.1,
             "duration": "PT1H", "data-ports": {"lower": 9000, "upper": 9100}, "output-raw": True},
        ),
        (
            "s3throughput",
            ["--url", "https://s3.example", "--bucket", "b", "--access-key", "A", "--secret-key", "S",
             "--iterations", "2", "--duration", "PT10S", "--object-size", "1M"],
            {"schema": 1, "url": "https://s3.example", "bucket": "b", "access-key": "A",
             "secret-key": "S", "iterations": 2, "duration": "PT10S", "object-size": "1M"},
        ),
        ("dhcp", ["--interface", "eth1", "--timeout", "PT5S"],
         {"schema": 1, "interface": "eth1", "timeout": "PT5S"}),
    ],
)  # fmt: skip
def test_cli_round_trips(test, args, spec):
    plugin = get_test(test)
    assert plugin.cli_to_spec(args) == spec
    # Secrets (``_`` keys) stay out of the CLI a stored task shows; all else round-trips.
    public = {k: v for k, v in spec.items() if not k.startswith("_")}
    assert plugin.cli_to_spec(plugin.spec_to_cli(spec)) == public
    assert not any(v in plugin.spec_to_cli(spec) for k, v in spec.items() if k.startswith("_"))
    assert plugins.spec_is_valid(plugin, spec) == {"valid": True}


def test_bad_specs_and_options():
    get = get_test("snmpget")
    base = {"schema": 1, "dest": "x", "oid": ["1.3"], "polls": 1}
    assert plugins.spec_is_valid(get, {**base, "version": "2c"})["error"] == (
        "At /: '_community' is a required property"
    )
    assert (
        "applies only to SNMP version 3"
        in plugins.spec_is_valid(
            get, {**base, "version": "2c", "_community": "c", "_auth-key": "k"}
        )["error"]
    )
    assert plugins.spec_is_valid(get, {**base, "version": "4", "_community": "c"})["valid"] is False
    assert (
        plugins.spec_is_valid(get, {**base, "version": "2c", "_community": "c", "polls": 0})[
            "valid"
        ]
        is False
    )
    with pytest.raises(UsageError, match="OID:TYPE:VALUE"):
        get_test("snmpset").cli_to_spec(["--oidargs", "1.3.6.1:z:1"])
    with pytest.raises(UsageError, match="Examples"):
        get.cli_to_spec(["--help"])
    assert (
        plugins.spec_is_valid(get_test("latencybg"), {"dest": "b", "flip": True})["valid"] is False
    )
    assert plugins.spec_is_valid(get_test("dhcp"), {"interface": "a b"})["valid"] is False


def test_snmp_parsing_and_formats():
    output = (
        '.1.3.6.1.2.1.1.6.0 = STRING: "two\nlines"\n'
        ".1.3.6.1.2.1.1.3.0 = Timeticks: (304) 0:00:03.04\n"
        ".1.3.6.1.2.1.2.2.1.10.1 = Counter32: 1234\n"
        ".1.3.6.1.2.1.1.9.9.9 = No Such Object available on this agent at this OID\n"
    )
    assert snmp_tools.parse_output(output) == [
        {"type": "OctetString", "value": "two\nlines"},
        {"type": "TimeTicks", "value": 304},
        {"type": "Counter32", "value": 1234},
        {"value": "No Such Object available on this agent at this OID"},
    ]
    assert snmp_tools.parse_dest("[::1]:1161") == ("::1", 1161)
    assert snmp_tools.parse_dest("::1") == ("::1", 161)
    assert snmp_tools.agent({"dest": "::1", "protocol": "tcp"}) == "tcp6:[::1]:161"
    assert snmp_tools.snmp_conf({"version": "2c", "_community": "pub"}) == "defCommunity pub\n"
    conf = snmp_tools.snmp_conf({"version": "3", "security-name": "me",
                                 "security-level": "authpriv", "auth-protocol": "sha",
                                 "_auth-key": "k1"})  # fmt: skip
    assert conf.splitlines() == [
        "defSecurityName me",
        "defSecurityLevel authPriv",
        "defAuthType SHA",
        "defAuthPassphrase k1",
    ]
    argv = snmp_tools.net_snmp_argv(
        "snmpget", {"dest": "r:1161", "version": "2c", "_community": "pub"}
    )
    assert "pub" not in argv and argv[-1] == "udp:r:1161"
    spec = {"oid": ["1.3.6.1.2.1.1.3.0"]}
    result = {"succeeded": True, "time": "PT0.1S", "data": [[
        {"type": "TimeTicks", "value": 10, "seq_num": 0, "timestamp": "t0"},
        {"type": "TimeTicks", "value": 15, "seq_num": 1, "timestamp": "t1", "delta": 5, "timedelta": 1.0},
    ]]}  # fmt: skip
    text, html = formatted("snmpgetbgm", spec, result)
    assert "    Delta: 5" in text and text.endswith("Elapsed Time: PT0.1S\n")
    assert "<td>Delta: 5</td>" in html


def test_fwmtu_on_loopback_agrees_with_tracepath():
    require_program("tracepath")
    direct = subprocess.run(["tracepath", "-n", "127.0.0.1"], capture_output=True, text=True,
                            timeout=30)  # fmt: skip
    pmtu = int(re.search(r"Resume: pmtu (\d+)", direct.stdout)[1])
    _, merged = measure("fwmtu", "mtu", {"schema": 1, "dest": "127.0.0.1"})
    assert merged == {"schema": 1, "mtu": pmtu, "succeeded": True}
    local, _ = measure("fwmtu", "mtu", {"schema": 1, "dest": "::1", "port": 7})
    assert local["result"]["mtu"] == int(open("/sys/class/net/lo/mtu").read())


@pytest.mark.parametrize(
    ("tool", "test", "spec", "program"),
    [
        ("powstream", "latencybg", {"dest": "b"}, "powstream"),
        ("twping", "latency", {"dest": "b"}, "twping"),
        ("twping", "rtt", {"dest": "b"}, "twping"),
        ("s3-benchmark", "s3throughput",
         {"url": "https://s", "bucket": "b", "access-key": "a", "secret-key": "s"}, "s3-benchmark"),
        ("dhclient", "dhcp", {"interface": "eth9"}, "dhclient"),
    ],
)  # fmt: skip
def test_can_run_names_the_missing_program(tool, test, spec, program):
    verdict = plugins.can_run(get_tool(tool), {"type": test, "spec": spec})
    if shutil.which(program):
        assert verdict == {"can-run": True}
    else:
        assert verdict["can-run"] is False and program in verdict["reasons"][0]


def test_program_calls():
    spec = {"dest": "::1", "ctrl-port": 861, "packet-count": 10, "packet-interval": 0.5,
            "data-ports": {"lower": 9000, "upper": 9010}, "ip-tos": 32, "flip": True,
            "source": "::2"}  # fmt: skip
    assert powstream.powstream_argv(spec, "/tmp/x") == [
        "powstream", "-p", "-d", "/tmp/x", "-c", "10", "-i", "0.5", "-L", "0",
        "-P", "9000-9010", "-D", "8", "-S", "::2", "-t", "[::1]:861",
    ]  # fmt: skip
    assert twping.twping_argv("rtt", {"dest": "b", "count": 3, "interval": "PT0.2S"}) == [
        "twping", "-R", "-c", "3", "-i", "0.2", "-L", "0", "b"
    ]  # fmt: skip
    assert s3_benchmark.s3_argv({"url": "https://s", "bucket": "b", "access-key": "a",
                                 "secret-key": "s", "iterations": 2, "object-size": "1M"}) == [
        "s3-benchmark", "-a", "a", "-s", "s", "-b", "b", "-u", "https://s", "-d", "5",
        "-l", "2", "-z", "1M",
    ]  # fmt: skip
    loops = s3_benchmark.parse_loops(
        "Loop 1: PUT time 10.0 secs, objects = 50, speed = 5MB/sec, 5.0 operations/sec. Slowdowns = 0\n"
        "Loop 1: GET time 8.0 secs, objects = 50, speed = 6.2MB/sec, 6.2 operations/sec. Slowdowns = 0\n"
        "Loop 1: DELETE time 1.0 secs, 50.0 deletes/sec. Slowdowns = 0\n"
        "Loop 2: PUT time 12.0 secs, objects = 50, speed = 4MB/sec, 4.1 operations/sec. Slowdowns = 0\n"
    )  # fmt: skip
    assert [loop["loop"] for loop in loops] == [1, 2] and loops[0]["get-objects"] == 50
    assert s3_benchmark.summary(loops) == {
        "average_put_time": 11.0, "average_get_time": 8.0, "average_delete_time": 1.0,
    }  # fmt: skip
    argv = dhclient.dhclient_argv({"interface": "eth9", "timeout": "PT3S"}, "/tmp/r")
    assert argv[:2] == ["dhclient", "-1"] and argv[-1] == "eth9" and "-d" not in argv
    assert "/bin/true" in argv  # the interface is never reconfigured
    assert argv[argv.index("-cf") + 1] == "/tmp/r/dhclient.conf"  # the give-up time is in there
    assert dhclient.dhclient_conf({"timeout": "PT3S"}) == "timeout 3;\n"
    release = dhclient.dhclient_argv({"interface": "eth9"}, "/tmp/r", release=True)
    assert release[:2] == ["dhclient", "-r"] and release[-3:] == argv[-3:]
    lease = 'lease {\n  interface "eth9";\n  fixed-address 192.0.2.7;\n}\n'
    assert dhclient.leased_address(lease) == "192.0.2.7"
    text, _ = formatted("dhcp", {}, {"succeeded": True, "time": "PT1S", "ip_address": "192.0.2.7"})
    assert text == "Time ......... PT1S\nIP Address ... 192.0.2.7\n"
