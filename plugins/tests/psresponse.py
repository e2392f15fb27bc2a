"""The ``psresponse`` test: how long a pScheduler API server takes to answer."""

from __future__ import annotations

import html

from pscheduler_plugins.common import (
    DURATION,
    HOST,
    STRING,
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
    "properties": {"source": HOST, "source-node": HOST, "dest": HOST, "timeout": DURATION},
    "required": ["dest"],
}
VERSIONS = {1: with_schema(_BASE, 1)}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

RESULT_SCHEMA = result_schema(
    {
        "reason": STRING,
        "time": {"anyOf": [{"type": "null"}, DURATION]},
    },
    ["time"],
)

_VALUED = ["source", "source-node", "dest", "timeout"]

EPILOG = """Examples:
  task psresponse --dest ps.example.net
      How long the pScheduler on ps.example.net takes to answer
  task psresponse --dest ps.example.net:8443 --timeout PT5S
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="psresponse", description="Time a pScheduler.", epilog=EPILOG)
    parser.add_argument("--source", help="Source address")
    parser.add_argument("--source-node", help="Host to run the test")
    parser.add_argument("--dest", help="pScheduler server")
    parser.add_argument("--timeout", help="Timeout for the query (ISO 8601)")
    spec: dict = {"schema": 1}
    cli_value(parser.parse_spec_args(args), spec, _VALUED)
    return spec


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    time = result.get("time") or "Not Measured"
    if mime == "text/plain":
        lines = [f"Response Time: {time}"]
        if "reason" in result:
            lines.append(f"Reason: {result['reason']}")
        return "\n".join(lines)
    rows = [("Response Time", time)] + (
        [("Reason", result["reason"])] if "reason" in result else []
    )
    cells = "".join(f"<tr><td>{k}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "psresponse",
                "Measure the response time of a pScheduler API",
                scheduling_class="background",
            ),  # fmt: skip
            spec_schema=SPEC_SCHEMA,
            spec_is_valid=spec_is_valid,
            result_schema=RESULT_SCHEMA,
            participants=lambda spec: participants_from(spec, "source-node", "source"),
            cli_to_spec=cli_to_spec,
            spec_to_cli=lambda spec: cli_args(spec, _VALUED),
            result_format=result_format,
        )
    ]
