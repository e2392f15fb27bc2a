"""The ``clock`` test: compare this node's clock with another node's (spec §6.6)."""

from __future__ import annotations

from pscheduler_plugins.common import (
    BOOLEAN,
    DURATION,
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
    with_schema,
)

from pscheduler.hookspecs import Test, hookimpl
from pscheduler.toolkit.speccli import SpecParser

_BASE = {
    "properties": {"dest": URL_HOST_PORT, "source": URL_HOST_PORT, "timeout": DURATION},
    "required": ["dest"],
}
VERSIONS = {1: with_schema(_BASE, 1), 2: with_schema(_BASE, 2, {"source-node": URL_HOST_PORT})}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

CLOCK_STATE = {
    "type": "object",
    "properties": {
        "time": STRING,
        "synchronized": BOOLEAN,
        "source": {"type": ["string", "null"]},
        "reference": {"type": ["string", "null"]},
        "offset": {"type": ["number", "string", "null"]},
        "error": {"type": ["string", "null"]},
    },
    "required": ["time", "synchronized"],
}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [1]},
        "succeeded": BOOLEAN,
        "error": {"type": ["string", "null"]},
        "diags": {"type": ["string", "null"]},
        "local": CLOCK_STATE,
        "remote": CLOCK_STATE,
        "difference": DURATION,
    },
    "required": ["succeeded"],
    "if": {"properties": {"succeeded": {"const": True}}},
    "then": {"required": ["succeeded", "local", "remote", "difference"]},
}

_VALUED = ["dest", "source", "source-node", "timeout"]
EPILOG = """Examples:
  task clock --dest ps2.example.net
      Compare this node's clock with ps2.example.net's
  task clock --source ps1.example.net --dest ps2.example.net --timeout PT3S
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="clock", description="Compare clocks of two nodes.", epilog=EPILOG)
    parser.add_argument("-d", "--dest", help="Node to compare with")
    parser.add_argument("-s", "--source", help="Node whose clock is compared (default: this one)")
    parser.add_argument("--source-node", help="pScheduler node on the source, if different")
    parser.add_argument("--timeout", help="Time to wait for each node (ISO 8601)")
    opts = parser.parse_spec_args(args)
    spec: dict = {"schema": 1}
    cli_value(opts, spec, _VALUED)
    if "source-node" in spec:
        spec["schema"] = 2
    return spec


def _state(label: str, state: dict) -> list[tuple[str, str]]:
    rows = [(f"{label}:", ""), ("  Time", str(state.get("time")))]
    if state.get("synchronized"):
        rows.append(("  Synchronized", f"{state.get('source')}, {state.get('reference')}"))
        rows.append(("  Offset", str(state.get("offset"))))
    else:
        rows.append(("  Synchronized", "No"))
    return rows


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    rows = _state("Local", result.get("local") or {}) + _state("Remote", result.get("remote") or {})
    rows.append(("Difference", str(result.get("difference"))))
    if mime == "text/plain":
        return "\n".join(label if not value else dotted(label, value) for label, value in rows)
    return html_table(rows)


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "clock", "Compare the clocks of two pScheduler nodes", scheduling_class="background"
            ),
            spec_schema=SPEC_SCHEMA,
            spec_is_valid=spec_is_valid,
            result_schema=RESULT_SCHEMA,
            participants=lambda spec: participants_from(spec, "source-node", "source"),
            cli_to_spec=cli_to_spec,
            spec_to_cli=lambda spec: cli_args(spec, _VALUED),
            result_format=result_format,
        )
    ]
