"""The ``s3throughput`` test: PUT, GET and DELETE throughput against an S3 endpoint
(``url``, ``bucket``, keys), ``iterations`` loops of ``duration`` each."""

from __future__ import annotations

import html

from pscheduler_plugins.common import (
    CARDINAL,
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
    "properties": {
        "host": HOST,
        "host-node": HOST,
        "duration": DURATION,
        "timeout": DURATION,
        "access-key": STRING,
        "secret-key": STRING,
        "bucket": STRING,
        "url": {"type": "string", "pattern": r"^https?://\S+$"},
        "iterations": CARDINAL,
        "threads": CARDINAL,
        "object-size": {"type": "string", "pattern": r"^\d+[kKmMgG]?$"},
    },
    "required": ["access-key", "secret-key", "bucket", "url"],
}
VERSIONS = {1: with_schema(_BASE, 1)}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

_SECONDS = {"type": "number", "minimum": 0}
RESULT_SCHEMA = result_schema(
    {
        "time": DURATION,
        "average_put_time": _SECONDS,
        "average_get_time": _SECONDS,
        "average_delete_time": _SECONDS,
        "loops": {"type": "array", "items": {"type": "object"}},
    },
    ["average_put_time", "average_get_time", "average_delete_time"],
)

_VALUED = ["host", "host-node", "url", "bucket", "access-key", "secret-key", "duration",
           "timeout", "iterations", "threads", "object-size"]  # fmt: skip
_INTS = {"iterations", "threads"}

EPILOG = """Example:
  task s3throughput --url https://s3.example.net --bucket test --access-key AK \\
       --secret-key SK --iterations 2 --duration PT10S --object-size 1M
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="s3throughput", description="Measure S3 throughput.", epilog=EPILOG)
    for name in _VALUED:
        parser.add_argument(f"--{name}", type=int if name in _INTS else str)
    spec: dict = {"schema": 1}
    cli_value(parser.parse_spec_args(args), spec, _VALUED)
    return spec


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    rows = [
        ("Time", result.get("time")),
        ("Average PUT time", result.get("average_put_time")),
        ("Average GET time", result.get("average_get_time")),
        ("Average DELETE time", result.get("average_delete_time")),
    ]
    if mime == "text/plain":
        return "\n".join(f"{k} {'.' * (20 - len(k))} {v}" for k, v in rows) + "\n"
    cells = "".join(f"<tr><td>{k}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "s3throughput",
                "Measure throughput to and from an S3 bucket",
                scheduling_class="exclusive",
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
