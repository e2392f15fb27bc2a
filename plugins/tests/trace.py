"""The ``trace`` test: the path to a host, hop by hop (spec §6.3).

Unlike the original, unknown spec keys are rejected and spec-to-cli round-trips exactly
(``--as``/``--no-as``, ``--ip-tos``).
"""

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
    STRING,
    URL_HOST_PORT,
    add_bool,
    check_mime,
    cli_args,
    cli_value,
    enumeration,
    participants_from,
    versioned,
    with_schema,
)

from pscheduler.hookspecs import Test, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration
from pscheduler.toolkit.speccli import SpecParser

_BASE = {
    "properties": {
        "dest": HOST,
        "source": HOST,
        "source-node": URL_HOST_PORT,
        "algorithm": STRING,
        "as": BOOLEAN,
        "dest-port": IP_PORT,
        "first-ttl": CARDINAL,
        "hops": CARDINAL,
        "queries": CARDINAL,
        "fragment": BOOLEAN,
        "hostnames": BOOLEAN,
        "ip-tos": IP_TOS,
        "ip-version": IP_VERSION,
        "length": CARDINAL,
        "probe-type": {"type": "string", "enum": ["icmp", "udp", "tcp"]},
        "sendwait": DURATION,
        "wait": DURATION,
    },
    "required": ["dest"],
}
VERSIONS = {1: with_schema(_BASE, 1), 2: with_schema(_BASE, 2, {"flow-label": CARDINAL_ZERO})}
# The original never requires ``schema`` for trace, even in v2.
VERSIONS[2]["required"] = ["dest"]
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

_HOP = {
    "type": "object",
    "properties": {
        "ip": {"type": "string"},
        "hostname": {"type": "string"},
        "rtt": DURATION,
        "as": {
            "type": "object",
            "properties": {"number": CARDINAL, "owner": STRING},
            "required": ["number"],
        },
        "error": ICMP_ERROR,
        "mtu": CARDINAL,
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
        "paths": {"type": "array", "items": {"type": "array", "items": _HOP}},
    },
    "required": ["succeeded"],
    "if": {"properties": {"succeeded": {"const": True}}},
    "then": {"required": ["succeeded", "paths"]},
}

_VALUED = [
    "algorithm",
    "dest",
    "dest-port",
    "first-ttl",
    "flow-label",
    "hops",
    "ip-tos",
    "ip-version",
    "length",
    "probe-type",
    "queries",
    "sendwait",
    "source",
    "source-node",
    "wait",
]
_BOOLS = ["as", "fragment", "hostnames"]
_INTS = {
    "dest-port",
    "first-ttl",
    "flow-label",
    "hops",
    "ip-tos",
    "ip-version",
    "length",
    "queries",
}

EPILOG = """Examples:
  task trace --dest ps.example.net
      Trace the path to ps.example.net
  task trace --dest ps.example.net --probe-type icmp --no-as --no-hostnames
      Trace with ICMP probes, numbers only
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="trace", description="Trace the path to a host.", epilog=EPILOG)
    helps = {
        "algorithm": "Path-discovery algorithm",
        "dest": "Destination host",
        "dest-port": "Destination port",
        "first-ttl": "TTL of the first hop probed",
        "flow-label": "IPv6 flow label",
        "hops": "Maximum number of hops",
        "ip-tos": "IP type of service octet",
        "ip-version": "IP version (4 or 6)",
        "length": "Probe packet length",
        "probe-type": "Probe type (icmp, udp, tcp)",
        "queries": "Probes per hop",
        "sendwait": "Time between probes (ISO 8601)",
        "source": "Source address",
        "source-node": "pScheduler node on the source",
        "wait": "Time to wait for each reply (ISO 8601)",
    }
    shorts = {"dest": ["-d"], "source": ["-s"]}
    for key in _VALUED:
        parser.add_argument(
            *shorts.get(key, []), f"--{key}", type=int if key in _INTS else str, help=helps[key]
        )
    add_bool(parser, "as", "Look up the autonomous system of each hop")
    add_bool(parser, "fragment", "Allow fragmentation")
    add_bool(parser, "hostnames", "Look up host names of each hop")
    opts = parser.parse_spec_args(args)
    spec: dict = {"schema": 1}
    cli_value(opts, spec, _VALUED + _BOOLS)
    if "flow-label" in spec:
        spec["schema"] = 2
    return spec


def spec_to_cli(spec: dict) -> list[str]:
    return cli_args(spec, _VALUED, _BOOLS)


def _hop_text(hop: dict) -> list[str]:
    if not hop.get("ip") and not hop.get("error"):
        return ["No Response"]
    text = f"{hop.get('hostname') or hop.get('ip')} ({hop.get('ip')})"
    if hop.get("rtt"):
        text += f" {parse_duration(hop['rtt']).total_seconds() * 1000:.1f} ms"
    if hop.get("error"):
        text += f" {hop['error']}"
    if hop.get("mtu"):
        text += f" mtu {hop['mtu']}"
    lines = [text]
    if hop.get("as"):
        lines.append(f"  AS{hop['as']['number']} {hop['as'].get('owner', '')}".rstrip())
    return lines


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    paths = result.get("paths") or []
    if mime == "text/plain":
        out: list[str] = []
        for number, path in enumerate(paths, 1):
            if len(paths) > 1:
                out.append(f"Path {number}:")
            for ttl, hop in enumerate(path, 1):
                first, *rest = _hop_text(hop)
                out.append(f"{ttl:<8d}{first}")
                out += [" " * 8 + line for line in rest]
        return "\n".join(out)
    tables = []
    for path in paths:
        rows = "".join(
            f"<tr><td>{ttl}</td><td>{html.escape(' / '.join(_hop_text(hop)))}</td></tr>"
            for ttl, hop in enumerate(path, 1)
        )
        tables.append(f"<table><tr><th>Hop</th><th>Host</th></tr>{rows}</table>")
    return "".join(tables)


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "trace", "Trace the path between hosts", scheduling_class="background"
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
