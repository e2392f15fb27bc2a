"""The ``http`` test: time to fetch a URL, and what came back (spec §6.10)."""

from __future__ import annotations

import html

from pscheduler_plugins.common import (
    BOOLEAN,
    CARDINAL_ZERO,
    DURATION,
    HOST,
    IP_VERSION,
    STRING,
    add_bool,
    check_mime,
    dotted,
    enumeration,
    html_table,
    participants_from,
    versioned,
    with_schema,
)
from pscheduler_plugins.tests.throughput import si_number

from pscheduler.hookspecs import Test, UsageError, hookimpl
from pscheduler.toolkit.speccli import SpecParser

# The original validates ``url`` as a plain string; a bad URL fails at run time instead.
URL = STRING
TOKEN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
HEADERS = {"type": "object", "propertyNames": {"pattern": TOKEN}, "additionalProperties": STRING}
_BASE = {
    "properties": {
        "url": URL,
        "host": HOST,
        "host-node": HOST,
        "parse": STRING,
        "timeout": DURATION,
    },
    "required": ["url"],
}
_V2 = {"always-succeed": BOOLEAN, "keep-content": CARDINAL_ZERO}
VERSIONS = {
    1: with_schema(_BASE, 1),
    2: with_schema(_BASE, 2, _V2),
    3: with_schema(_BASE, 3, {**_V2, "ip-version": IP_VERSION}),
    4: with_schema(_BASE, 4, {**_V2, "ip-version": IP_VERSION, "headers": HEADERS}),
}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)

RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [1, 2]},
        "succeeded": BOOLEAN,
        "time": DURATION,
        "found": BOOLEAN,
        "error": {"type": ["string", "null"]},
        "diags": {"type": ["string", "null"]},
        "status": {"type": "integer"},
        "headers": {"type": "object", "additionalProperties": STRING},
        "content": {"type": ["string", "null"]},
    },
    "required": ["succeeded"],
    "additionalProperties": False,
}

EPILOG = """Examples:
  task http --url https://www.example.net/
      Time fetching a page
  task http --url http://www.example.net/ --parse Welcome --keep-content 1k
      Look for a string and keep the first 1000 bytes
  task http --url https://api.example.net/ --header 'Accept: application/json'
      Send a header (spec schema 4)
"""
_HIGH = {"always-succeed": 2, "keep-content": 2, "ip-version": 3, "headers": 4}


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="http", description="Measure HTTP response time.", epilog=EPILOG)
    parser.add_argument("--url", help="URL to fetch")
    parser.add_argument("--host", help="Host to fetch from")
    parser.add_argument("--host-node", help="pScheduler node on that host")
    parser.add_argument("--parse", help="String to look for in the content")
    parser.add_argument("--timeout", help="Time limit for the fetch (ISO 8601)")
    add_bool(parser, "always-succeed", "Succeed whatever the HTTP status")
    parser.add_argument(
        "--keep-content", help="Bytes of content to keep, 0 for all (SI suffixes allowed)"
    )
    parser.add_argument("--ip-version", type=int, help="IP version (4 or 6)")
    parser.add_argument(
        "--header", action="append", help="'Name: Value' header to send (repeatable)"
    )
    opts = parser.parse_spec_args(args)
    spec: dict = {}
    for key in ("url", "host", "host-node", "parse", "timeout", "always-succeed", "ip-version"):
        value = getattr(opts, key.replace("-", "_"))
        if value is not None:
            spec[key] = value
    if opts.keep_content is not None:
        spec["keep-content"] = si_number(opts.keep_content, "keep-content")
    if opts.header:
        spec["headers"] = {}
        for header in opts.header:
            name, sep, value = header.partition(":")
            if not sep or not name.strip():
                raise UsageError(f'Invalid header "{header}": use "Name: Value"')
            spec["headers"][name.strip()] = value.strip()
    return {"schema": max([1] + [_HIGH.get(k, 1) for k in spec]), **spec}


def spec_to_cli(spec: dict) -> list[str]:
    args: list[str] = []
    for key in ("url", "host", "host-node", "parse", "timeout", "keep-content", "ip-version"):
        if key in spec:
            args += [f"--{key}", str(spec[key])]
    if "always-succeed" in spec:
        args.append("--always-succeed" if spec["always-succeed"] else "--no-always-succeed")
    for name, value in (spec.get("headers") or {}).items():
        args += ["--header", f"{name}: {value}"]
    return args


def _rows(spec: dict, result: dict) -> list[tuple[str, str]]:
    rows = [("Response Time", str(result.get("time")))]
    if result.get("status") is not None:
        rows.append(("Status Code", str(result["status"])))
    if "parse" in spec:
        rows.append(("String Found", str(bool(result.get("found")))))
    return rows


def result_format(spec: dict, result: dict, mime: str) -> str:
    check_mime(mime)
    rows = _rows(spec, result)
    headers = result.get("headers") or {}
    content = result.get("content")
    if mime == "text/plain":
        out = [dotted(k, v, 16) for k, v in rows]
        if headers:
            out += ["", "Headers:"] + [f"  {k}: {v}" for k, v in headers.items()]
        if content is not None:
            out += ["", "Content:", content]
        return "\n".join(out)
    extra = ""
    if headers:
        items = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in headers.items())
        extra += f"<tr><th>Headers</th><td><ul>{items}</ul></td></tr>"
    if content is not None:
        extra += f"<tr><th>Content</th><td><pre>{html.escape(content)}</pre></td></tr>"
    return html_table(rows, extra)


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration=enumeration(
                "http", "Measure the time to fetch a URL", scheduling_class="background"
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
