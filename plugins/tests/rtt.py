"""The ``rtt`` test: round-trip time to a host, ping-like (spec §6.1)."""

from __future__ import annotations

import html

from pscheduler_plugins.common import (
    BOOLEAN,
    CARDINAL,
    CARDINAL_ZERO,
    DURATION,
    HOST,
    ICMP_ERROR,
    IP_PORT,
    IP_TOS,
    IP_VERSION,
    PROBABILITY,
    URL_HOST_PORT,
    add_bool,
    check_mime,
    cli_args,
    cli_value,
    enumeration,
    participants_from,
    versioned,
)

from pscheduler.hookspecs import Test, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration
from pscheduler.toolkit.speccli import SpecParser

_V1 = {
    "properties": {
        "dest": HOST,
        "source": HOST,
        "source-node": URL_HOST_PORT,
        "count": CARDINAL,
        "interval": DURATION,
        "timeout": DURATION,
        "deadline": DURATION,
        "length": CARDINAL,
        "ttl": CARDINAL,
        "ip-tos": IP_TOS,
        "ip-version": IP_VERSION,
        "flow-label": CARDINAL_ZERO,
        "hostnames": BOOLEAN,
        "suppress-loopback": BOOLEAN,
    },
    "required": ["dest"],
}


def _version(number: int, extra: dict) -> dict:
    props = {**_V1["properties"], **extra, "schema": {"type": "integer", "enum": [number]}}
    required = ["dest"] + (["schema"] if number > 1 else [])
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


_PROTOCOL_OLD = {"type": "string", "enum": ["icmp", "twamp"]}
VERSIONS = {
    1: _version(1, {}),
    2: _version(2, {"protocol": _PROTOCOL_OLD}),
    3: _version(3, {"protocol": _PROTOCOL_OLD, "fragment": BOOLEAN}),
    4: _version(4, {"protocol": {"type": "string"}, "fragment": BOOLEAN, "port": IP_PORT}),
}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

_ROUNDTRIP = {
    "type": "object",
    "properties": {
        "seq": CARDINAL_ZERO,
        "length": CARDINAL_ZERO,
        "ip": {"type": "string"},
        "hostname": {"type": "string"},
        "ttl": CARDINAL_ZERO,
        "rtt": DURATION,
        "error": ICMP_ERROR,
    },
    "additionalProperties": False,
}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [1]},
        "succeeded": BOOLEAN,
        "error": {"type": ["string", "null"]},
        "diags": {"type": ["string", "null"]},
        "roundtrips": {"type": "array", "items": _ROUNDTRIP},
        "loss": PROBABILITY,
        "sent": CARDINAL_ZERO,
        "received": CARDINAL_ZERO,
        "lost": CARDINAL_ZERO,
        "duplicates": CARDINAL_ZERO,
        "reorders": CARDINAL_ZERO,
        "min": DURATION,
        "max": DURATION,
        "mean": DURATION,
        "stddev": DURATION,
    },
    "required": ["succeeded"],
    "if": {"properties": {"succeeded": {"const": True}}},
    "then": {"required": ["succeeded", "roundtrips", "loss"]},
}

_VALUED = [
    "count",
    "dest",
    "flow-label",
    "interval",
    "ip-version",
    "source",
    "source-node",
    "ip-tos",
    "length",
    "ttl",
    "deadline",
    "timeout",
    "port",
    "protocol",
]
_BOOLS = ["fragment", "hostnames", "suppress-loopback"]

EPILOG = """Examples:
  task rtt --dest ps.example.net
      Ping ps.example.net five times, one second apart
  task rtt --count 10 --interval PT0.5S --dest ps.example.net --length 1000
      Ten 1000-byte packets half a second apart
  task rtt --source ps1.example.net --dest ps2.example.net --no-hostnames
      Ping from another host without reverse-resolving replies
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="rtt", description="Measure round-trip time.", epilog=EPILOG)
    parser.add_argument("-c", "--count", type=int, help="Number of packets to send")
    parser.add_argument("-d", "--dest", help="Destination host")
    parser.add_argument("--flow-label", type=int, help="IPv6 flow label")
    add_bool(parser, "fragment", "Allow packets to be fragmented")
    add_bool(parser, "hostnames", "Look up host names for reply addresses")
    parser.add_argument("-i", "--interval", help="Time between packets (ISO 8601)")
    parser.add_argument("--ip-version", type=int, help="IP version to use (4 or 6)")
    parser.add_argument("-s", "--source", help="Source address or interface")
    parser.add_argument("--source-node", help="pScheduler node on the source, if different")
    add_bool(parser, "suppress-loopback", "Suppress multicast loopback")
    parser.add_argument("--ip-tos", type=int, help="IP type of service octet (0-255)")
    parser.add_argument("--length", type=int, help="Packet length in bytes")
    parser.add_argument("--ttl", type=int, help="Time to live of outgoing packets")
    parser.add_argument("--deadline", help="Time limit for the whole measurement (ISO 8601)")
    parser.add_argument("--timeout", help="Time to wait for each reply (ISO 8601)")
    parser.add_argument("--port", type=int, help="Port for protocols that use one")
    parser.add_argument("--protocol", help="Protocol to measure with (icmp, twamp, tcp...)")
    opts = parser.parse_spec_args(args)
    spec: dict = {"schema": 1}
    cli_value(opts, spec, _VALUED + _BOOLS)
    if "protocol" in spec:
        spec["schema"] = 2 if spec["protocol"] in ("icmp", "twamp") else 4
    if "fragment" in spec:
        spec["schema"] = max(spec["schema"], 3)
    if "port" in spec:
        spec["schema"] = 4
    return spec


def spec_to_cli(spec: dict) -> list[str]:
    return cli_args(spec, _VALUED, _BOOLS)


def _ms(duration: str | None) -> str:
    if duration is None:
        return "Not Specified"
    return f"{parse_duration(duration).total_seconds() * 1000:.4f}"


def _describe(trip: dict) -> str:
    if trip.get("error"):
        return trip["error"]
    if not trip.get("ip") and not trip.get("hostname"):
        return "No Response"
    where = f"{trip.get('hostname') or trip['ip']} ({trip.get('ip') or trip['hostname']})"
    return f"{where}  {trip.get('length', '?')} Bytes  TTL {trip.get('ttl', '?')}  RTT {_ms(trip.get('rtt'))} ms"


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    trips = result.get("roundtrips") or []
    loss = int(float(result.get("loss", 0.0)) * 100)
    summary = (
        f"{loss}% Packet Loss  RTT Min/Mean/Max/StdDev = "
        + "/".join(_ms(result.get(k)) for k in ("min", "mean", "max", "stddev"))
        + " ms"
    )
    if mime == "text/plain":
        lines = [f"{t.get('seq', n + 1):<8d}{_describe(t)}" for n, t in enumerate(trips)]
        return "\n".join(lines + ["", summary]).strip()
    rows = []
    for n, t in enumerate(trips):
        cells = [
            t.get("seq", n + 1),
            t.get("hostname", ""),
            t.get("ip", ""),
            t.get("length", ""),
            t.get("ttl", ""),
            _ms(t["rtt"]) if t.get("rtt") else t.get("error", "No Response"),
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>" for h in ("Packet", "Host", "Address", "Length", "TTL", "RTT (ms)")
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table><p>{html.escape(summary)}</p>"


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "rtt", "Measure the round-trip time between hosts", scheduling_class="background"
            ),
            spec_schema=SPEC_SCHEMA,
            spec_is_valid=spec_is_valid,
            result_schema=RESULT_SCHEMA,
            participants=lambda spec: participants_from(spec, "source-node", "source"),
            cli_to_spec=cli_to_spec,
            spec_to_cli=spec_to_cli,
            result_format=result_format,
        )
    ]
