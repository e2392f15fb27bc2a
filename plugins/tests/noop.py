"""The ``noop`` test: pass data through, optionally failing at random."""

from __future__ import annotations

import html
import json

from pscheduler_plugins.common import (
    HOST,
    PROBABILITY,
    URL_HOST_PORT,
    enumeration,
    participants_from,
)

from pscheduler.hookspecs import PluginError, Test, hookimpl
from pscheduler.toolkit.speccli import SpecParser

SPEC_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [1]},
        "data": {},
        "host": HOST,
        "host-node": URL_HOST_PORT,
        "fail": PROBABILITY,
    },
    "additionalProperties": False,
}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {"schema": {"type": "integer"}, "succeeded": {"type": "boolean"}, "data": {}},
    "required": ["succeeded"],
}


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(
        prog="noop",
        description="Pass data through.",
        epilog="Example:\n  task noop --data '{\"a\": 1}' --fail 0.5\n",
    )
    parser.add_argument("--data", help="JSON data to pass through")
    parser.add_argument("--host", help="Host to run on")
    parser.add_argument("--host-node", help="pScheduler node on the host")
    parser.add_argument("--fail", type=float, help="Probability of failure (0.0-1.0)")
    opts = parser.parse_spec_args(args)
    spec: dict = {"schema": 1}
    if opts.data is not None:
        try:
            spec["data"] = json.loads(opts.data)
        except ValueError as exc:
            raise PluginError(f"Invalid JSON for --data: {exc}") from exc
    for key in ("host", "host_node", "fail"):
        value = getattr(opts, key)
        if value is not None:
            spec[key.replace("_", "-")] = value
    return spec


def spec_to_cli(spec: dict) -> list[str]:
    args: list[str] = []
    if "data" in spec:
        args += ["--data", json.dumps(spec["data"])]
    for key in ("host", "host-node", "fail"):
        if key in spec:
            args += [f"--{key}", str(spec[key])]
    return args


def result_format(spec: dict, result: dict, mime: str) -> str:
    text = json.dumps(result.get("data"), indent=2, sort_keys=True)
    if mime == "text/plain":
        return "Data:\n" + "\n".join("  " + line for line in text.splitlines())
    if mime == "text/html":
        return f"<table><tr><th>Data</th><td><pre>{html.escape(text)}</pre></td></tr></table>"
    raise PluginError(f'Unsupported MIME type "{mime}"')


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "noop", "Pass data through (for testing)", scheduling_class="background"
            ),
            spec_schema=SPEC_SCHEMA,
            result_schema=RESULT_SCHEMA,
            participants=lambda spec: participants_from(spec, "host-node", "host"),
            cli_to_spec=cli_to_spec,
            spec_to_cli=spec_to_cli,
            result_format=result_format,
        )
    ]
