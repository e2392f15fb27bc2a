"""The ``dhcp`` test: how long a DHCP server takes to offer this host an address on an
``interface``, and which address."""

from __future__ import annotations

import html

from pscheduler_plugins.common import (
    BOOLEAN,
    DURATION,
    HOST,
    check_mime,
    cli_args,
    cli_value,
    enumeration,
    participants_from,
    versioned,
    with_schema,
)

from pscheduler.hookspecs import Test, hookimpl
from pscheduler.toolkit.speccli import SpecParser

INTERFACE = {"type": "string", "minLength": 1, "maxLength": 15, "pattern": r"^[^\s/]+$"}
_BASE = {
    "properties": {"host": HOST, "host-node": HOST, "timeout": DURATION, "interface": INTERFACE},
    "required": [],
}
VERSIONS = {1: with_schema(_BASE, 1)}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [1]},
        "succeeded": BOOLEAN,
        "error": {"type": ["string", "null"]},
        "diags": {"type": ["string", "null"]},
        "time": DURATION,
        "ip_address": {"type": ["string", "null"]},
    },
    "required": ["succeeded"],
    "if": {"properties": {"succeeded": {"const": True}}},
    "then": {"required": ["time", "ip_address"]},
}

_VALUED = ["host", "host-node", "interface", "timeout"]
EPILOG = """Example:
  task dhcp --interface eth1 --timeout PT10S
      How long a DHCP server on eth1's network takes to offer an address
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="dhcp", description="Time a DHCP lease.", epilog=EPILOG)
    for name in _VALUED:
        parser.add_argument(f"--{name}")
    spec: dict = {"schema": 1}
    cli_value(parser.parse_spec_args(args), spec, _VALUED)
    return spec


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    if mime == "text/plain":
        return f"Time ......... {result.get('time')}\nIP Address ... {result.get('ip_address')}\n"
    return (
        f"<table><tr><td>Time</td><td>{html.escape(str(result.get('time')))}</td></tr>"
        f"<tr><td>IP Address</td><td>{html.escape(str(result.get('ip_address')))}</td></tr>"
        "</table>"
    )


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "dhcp",
                "Measure the time a DHCP server takes to offer an address",
                scheduling_class="background",
            ),  # fmt: skip
            spec_schema=SPEC_SCHEMA,
            spec_is_valid=spec_is_valid,
            result_schema=RESULT_SCHEMA,
            participants=lambda spec: participants_from(spec, "host-node", "host"),
            cli_to_spec=cli_to_spec,
            spec_to_cli=lambda spec: cli_args(spec, _VALUED),
            result_format=result_format,
        )
    ]
