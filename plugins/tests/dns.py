"""The ``dns`` test: how long a DNS query takes, and its answer (spec §6.9)."""

from __future__ import annotations

from pscheduler_plugins.common import (
    BOOLEAN,
    CARDINAL_ZERO,
    DURATION,
    HOST,
    STRING,
    URL_HOST_PORT,
    check_mime,
    cli_args,
    cli_value,
    dotted,
    enumeration,
    html_table,
    participants_from,
    versioned,
)

from pscheduler.hookspecs import Test, hookimpl
from pscheduler.toolkit.speccli import SpecParser

RECORDS = ["a", "aaaa", "ns", "cname", "soa", "ptr", "mx", "txt"]
VERSIONS = {
    1: {
        "type": "object",
        "properties": {
            "schema": {"type": "integer", "enum": [1]},
            "query": HOST,
            "record": {"type": "string", "enum": RECORDS},
            "host": HOST,
            "host-node": URL_HOST_PORT,
            "nameserver": HOST,
            "timeout": DURATION,
        },
        "required": ["query", "record"],
        "additionalProperties": False,
    }
}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

_STRINGS = {"type": "array", "items": STRING}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [1]},
        "succeeded": BOOLEAN,
        "error": {"type": ["string", "null"]},
        "diags": {"type": ["string", "null"]},
        "time": DURATION,
        "record": {
            "anyOf": [
                _STRINGS,
                STRING,
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"pref": CARDINAL_ZERO, "mx": STRING},
                        "required": ["pref", "mx"],
                        "additionalProperties": False,
                    },
                },
                {
                    "type": "object",
                    "properties": {k: STRING for k in ("nameserver", "owner")}
                    | {
                        k: CARDINAL_ZERO
                        for k in ("serial", "refresh", "retry", "expire", "minimum")
                    },
                    "required": [
                        "nameserver",
                        "owner",
                        "serial",
                        "refresh",
                        "retry",
                        "expire",
                        "minimum",
                    ],
                    "additionalProperties": False,
                },
            ]
        },
    },
    "required": ["succeeded"],
    "if": {"properties": {"succeeded": {"const": True}}},
    "then": {"required": ["succeeded", "time", "record"]},
}

# The original's order, which /tasks/<t>/cli shows.
_VALUED = ["host", "host-node", "nameserver", "record", "query", "timeout"]
EPILOG = """Examples:
  task dns --query www.example.net --record a
      Time an A query with this host's resolver
  task dns --query example.net --record mx --nameserver 192.0.2.53 --timeout PT2S
      Ask a given name server for MX records
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="dns", description="Measure DNS query time.", epilog=EPILOG)
    parser.add_argument("--host", help="Host to run the query from")
    parser.add_argument("--host-node", help="pScheduler node on that host")
    parser.add_argument("--nameserver", help="Name server to ask (an IP address)")
    parser.add_argument("--query", help="Name (or address, for ptr) to look up")
    parser.add_argument("--record", type=str.lower, help=f"Record type: {', '.join(RECORDS)}")
    parser.add_argument("--timeout", help="Time limit for the whole query (ISO 8601)")
    opts = parser.parse_spec_args(args)
    spec: dict = {"schema": 1}
    cli_value(opts, spec, _VALUED)
    return spec


def spec_to_cli(spec: dict) -> list[str]:
    return cli_args(spec, _VALUED)


def _lines(spec: dict, result: dict) -> list[tuple[str, str]]:
    kind = spec.get("record", "").upper()
    record = result.get("record")
    rows = [("Time", str(result.get("time")))]
    if kind == "MX":
        rows += [("MX", f"{r['mx']} preference {r['pref']}") for r in record or []]
    elif kind == "SOA" and isinstance(record, dict):
        rows += [
            (name.capitalize(), str(record[name]))
            for name in ("nameserver", "owner", "serial", "refresh", "retry", "expire", "minimum")
        ]
    elif isinstance(record, list):
        rows += [(kind, str(r)) for r in record]
    elif record is not None:
        rows.append((kind, str(record)))
    return rows


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    rows = _lines(spec, result)
    if mime == "text/plain":
        return "\n".join(dotted(label, value, 13) for label, value in rows)
    return html_table(rows)


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "dns", "Measure the time a DNS query takes", scheduling_class="background"
            ),
            spec_schema=SPEC_SCHEMA,
            spec_is_valid=spec_is_valid,
            result_schema=RESULT_SCHEMA,
            participants=lambda spec: participants_from(spec, "host-node", "host"),
            cli_to_spec=cli_to_spec,
            spec_to_cli=spec_to_cli,
            result_format=result_format,
        )
    ]
