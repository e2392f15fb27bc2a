"""The ``mtu`` test: the path MTU from the source to a destination."""

from __future__ import annotations

import html

from pscheduler_plugins.common import (
    CARDINAL,
    HOST,
    IP_PORT,
    check_mime,
    cli_args,
    cli_value,
    enumeration,
    participants_from,
    result_schema,
    versioned,
    with_schema,
)

from pscheduler.hookspecs import Test, hookimpl
from pscheduler.toolkit.speccli import SpecParser

_BASE = {
    "properties": {"source": HOST, "source-node": HOST, "dest": HOST, "port": IP_PORT},
    "required": ["dest"],
}
VERSIONS = {1: with_schema(_BASE, 1)}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

RESULT_SCHEMA = result_schema(
    {
        "mtu": CARDINAL,
    },
    ["mtu"],
)

_VALUED = ["source", "source-node", "dest", "port"]

EPILOG = """Finds the path MTU (Maximum Transmission Unit) from this machine to a destination.

Examples:
  task mtu --dest ps.example.net
      Finds the MTU to ps.example.net
  task mtu --dest ps.example.net --port 80
      Finds the MTU to ps.example.net at port 80
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="mtu", description="Measure the path MTU.", epilog=EPILOG)
    parser.add_argument("--source", help="Sending host")
    parser.add_argument("--source-node", help="pScheduler node on sending host, if different")
    parser.add_argument("--dest", help="Receiving host")
    parser.add_argument("--port", type=int, help="Receiving port")
    spec: dict = {"schema": 1}
    cli_value(parser.parse_spec_args(args), spec, _VALUED)
    return spec


def spec_to_cli(spec: dict) -> list[str]:
    return cli_args(spec, _VALUED)


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    if mime == "text/plain":
        return f"MTU: {result['mtu']}\n"
    return (
        f"<table><tr><th>MTU</th></tr><tr><td>{html.escape(str(result['mtu']))}</td></tr></table>"
    )


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "mtu", "Measure Maximum Transmission Unit (MTU)", scheduling_class="background"
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
