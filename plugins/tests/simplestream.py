"""The ``simplestream`` test: the source sends a string to the destination over TCP (a
small two-participant test, useful to check that two nodes can measure together)."""

from __future__ import annotations

import html

from pscheduler_plugins.common import (
    DURATION,
    HOST,
    IP_VERSION,
    PROBABILITY,
    STRING,
    URL_HOST_PORT,
    check_mime,
    cli_args,
    cli_value,
    enumeration,
    result_schema,
    versioned,
    with_schema,
)

from pscheduler.hookspecs import PluginError, Test, hookimpl
from pscheduler.toolkit.speccli import SpecParser

_BASE = {
    "properties": {
        "dawdle": DURATION,
        "fail": PROBABILITY,
        "dest": HOST,
        "dest-node": URL_HOST_PORT,
        "source": HOST,
        "source-node": URL_HOST_PORT,
        "test-material": STRING,
        "timeout": DURATION,
    },
    "required": ["dest"],
}
VERSIONS = {1: with_schema(_BASE, 1), 2: with_schema(_BASE, 2, {"ip-version": IP_VERSION})}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

RESULT_SCHEMA = result_schema(
    {
        "dawdled": DURATION,
        "elapsed-time": DURATION,
        "received": STRING,
        "sent": STRING,
    },
    ["dawdled", "elapsed-time", "received", "sent"],
)


def participants(spec: dict) -> dict:
    if "dest" not in spec:
        raise PluginError("No dest specified")
    lead = spec.get("source-node") or spec.get("source")
    out = {"participants": [lead, spec.get("dest-node") or spec["dest"]]}
    if lead is None:
        out["null-reason"] = "No source specified"
    return out


_VALUED = ["dawdle", "fail", "dest", "dest-node", "ip-version", "source", "source-node",
           "test-material", "timeout"]  # fmt: skip

EPILOG = """Examples:
  task simplestream --dest ps.example.net
      Send the default text to ps.example.net
  task simplestream --dest ps.example.net --test-material "Hello" --dawdle PT2S --fail 0.1
      Send "Hello" after up to two seconds, failing one run in ten on purpose
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="simplestream", description="Stream a string.", epilog=EPILOG)
    parser.add_argument("--dawdle", help="Wait up to this long before sending (ISO 8601)")
    parser.add_argument("--fail", type=float, help="Probability of failing on purpose")
    parser.add_argument("--dest", help="Receiving host")
    parser.add_argument("--dest-node", help="pScheduler node on the receiving host")
    parser.add_argument("--ip-version", type=int, help="IP version to use (4 or 6)")
    parser.add_argument("--source", help="Sending host")
    parser.add_argument("--source-node", help="pScheduler node on the sending host")
    parser.add_argument("--test-material", help="Text to send")
    parser.add_argument("--timeout", help="How long to wait for the transfer (ISO 8601)")
    spec: dict = {"schema": 1}
    cli_value(parser.parse_spec_args(args), spec, _VALUED)
    if "ip-version" in spec:
        spec["schema"] = 2
    return spec


def spec_to_cli(spec: dict) -> list[str]:
    return cli_args(spec, _VALUED)


_ROWS = [("Dawdled", "dawdled"), ("Text Sent", "sent"), ("Text Received", "received"),
         ("Elapsed Time", "elapsed-time")]  # fmt: skip


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    if mime == "text/plain":
        if not result.get("succeeded"):
            return "Test failed."
        return "\n".join(
            f"{label} {'.' * (16 - len(label))} {result.get(key) or 'Not Reported'}"
            for label, key in _ROWS
        )
    if not result.get("succeeded"):
        return "<p>Test failed.</p>"
    cells = "".join(
        f"<tr><td><b>{label}</b></td><td>"
        + (html.escape(str(result[key])) if result.get(key) else "<i>Not Reported</i>")
        + "</td></tr>"
        for label, key in _ROWS
    )
    return f'<table border="0">{cells}</table>'


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "simplestream",
                "Test communication between two hosts using TCP",
                scheduling_class="background",
            ),  # fmt: skip
            spec_schema=SPEC_SCHEMA,
            spec_is_valid=spec_is_valid,
            result_schema=RESULT_SCHEMA,
            participants=participants,
            cli_to_spec=cli_to_spec,
            spec_to_cli=spec_to_cli,
            result_format=result_format,
        )
    ]
