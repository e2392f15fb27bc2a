"""The ``disk-to-disk`` test: copy a file from a URL to a local file and time it."""

from __future__ import annotations

import html

from pscheduler_plugins.common import (
    BOOLEAN,
    CARDINAL,
    DURATION,
    HOST,
    STRING,
    check_mime,
    cli_args,
    cli_value,
    enumeration,
    result_schema,
    versioned,
    with_schema,
)

from pscheduler.hookspecs import Test, hookimpl
from pscheduler.toolkit.speccli import SpecParser

_BASE = {
    "properties": {
        "parallel": CARDINAL,
        "host": HOST,
        "dest": STRING,
        "source": STRING,
        "timeout": DURATION,
        "min-bandwith": CARDINAL,  # sic: the original's spelling is the wire's
        "max-size": CARDINAL,
        "cleanup": BOOLEAN,
    },
    "required": ["dest", "source"],
}
VERSIONS = {1: with_schema(_BASE, 1)}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

RESULT_SCHEMA = result_schema(
    {
        "time": DURATION,
        "bytes-sent": {"type": "number"},
        "throughput": {"type": "number"},
    },
    ["time"],
)


def participants(spec: dict) -> dict:
    if spec.get("host"):
        return {"participants": [spec["host"]]}
    return {"participants": [None], "null-reason": "No host specified"}


_VALUED = ["source", "dest", "host", "parallel", "timeout"]

EPILOG = """Examples:
  task disk-to-disk --source https://ps.example.net/10M.dat --dest /tmp/test.out --timeout PT10S
      Copy a file over HTTPS into /tmp/test.out (removed afterwards)
  task disk-to-disk --source file:///srv/big.dat --dest /tmp/copy.dat --cleanup
      Copy a local file and keep the copy
"""


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="disk-to-disk", description="Time a file copy.", epilog=EPILOG)
    parser.add_argument("--source", help="Source URL")
    parser.add_argument("--dest", help="Destination file or URL")
    parser.add_argument("--host", help="Host where the test should be run")
    parser.add_argument("--parallel", type=int, help="Parallel streams (GridFTP only)")
    parser.add_argument("--timeout", help="Longest the copy may take (ISO 8601)")
    parser.add_argument(
        "--cleanup",
        dest="cleanup",
        action="store_false",
        default=None,
        help="Keep the copied file (the original's option name, kept for compatibility)",
    )
    spec: dict = {"schema": 1}
    cli_value(parser.parse_spec_args(args), spec, _VALUED + ["cleanup"])
    return spec


def spec_to_cli(spec: dict) -> list[str]:
    # --cleanup means "keep the file", so only cleanup: false has a flag.
    return cli_args(spec, _VALUED) + (["--cleanup"] if spec.get("cleanup") is False else [])


def si(value) -> str:
    """A number with an SI prefix (``10.49 M``), as the original's siformat prints it."""
    if value is None:
        return "Not Reported "
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {prefix}"
    return f"{value:.2f} "


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    rows = [
        ("Duration", str(result.get("time"))),
        ("Sent", si(result.get("bytes-sent")) + "B"),
        ("Throughput", si(result.get("throughput")) + "b/sec"),
    ]
    if mime == "text/plain":
        return "\n".join(f"{k} {'.' * (17 - len(k))} {v}" for k, v in rows)
    cells = "".join(f"<tr><td>{k}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "disk-to-disk",
                "Network testing of throughput and Read/Write speeds",
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
