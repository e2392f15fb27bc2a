"""The ``dhcp`` test: how long a DHCP server takes to offer this host an address on an
``interface``, and which address."""

from __future__ import annotations

from pscheduler_plugins.common import (
    DURATION,
    HOST,
    check_mime,
    cli_args,
    cli_value,
    dotted,
    enumeration,
    html_table,
    participants_from,
    result_schema,
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

RESULT_SCHEMA = result_schema(
    {
        "time": DURATION,
        "ip_address": {"type": ["string", "null"]},
    },
    ["time", "ip_address"],
)

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
    rows = [("Time", result.get("time")), ("IP Address", result.get("ip_address"))]
    if mime == "text/plain":
        return "".join(dotted(label, value, 13) + "\n" for label, value in rows)
    return html_table(rows)


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
