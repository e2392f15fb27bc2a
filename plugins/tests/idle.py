"""The ``idle`` test and its test-only variants ``idleex`` (exclusive), ``idlenorm`` (normal)
and ``idlebgm`` (background-multi): consume time on the timeline, nothing else."""

from __future__ import annotations

import html

from pscheduler_plugins.common import DURATION, HOST, URL_HOST_PORT, enumeration

from pscheduler.hookspecs import PluginError, Test, hookimpl
from pscheduler.toolkit.speccli import SpecParser

_V1 = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [1]},
        "duration": DURATION,
        "host": HOST,
        "host-node": URL_HOST_PORT,
        "starting-comment": {"type": "string"},
        "parting-comment": {"type": "string"},
    },
    "required": ["duration"],
    "additionalProperties": False,
}
_V2 = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer", "enum": [2]},
        "duration": DURATION,
        "host": {"type": "array", "items": URL_HOST_PORT, "minItems": 1},
        "starting-comment": {"type": "string"},
        "parting-comment": {"type": "string"},
    },
    "required": ["schema", "duration"],
    "additionalProperties": False,
}
SPEC_SCHEMA = {
    "type": "object",
    "properties": {"schema": {"type": "integer", "minimum": 1, "maximum": 2}},
    "if": {"properties": {"schema": {"const": 2}}, "required": ["schema"]},
    "then": _V2,
    "else": _V1,
}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"type": "integer"},
        "succeeded": {"type": "boolean"},
        "duration": DURATION,
        "error": {"type": ["string", "null"]},
        "diags": {"type": ["string", "null"]},
    },
    "required": ["succeeded"],
}

USAGE_EPILOG = """Examples:
  task idle --duration PT10S
      Idle for ten seconds
  task idle --duration PT5S --host ps2.example.net
      Idle on another host
"""


def participants(spec: dict) -> dict:
    if spec.get("schema", 1) >= 2:
        hosts = spec.get("host")
        if not hosts:
            return {"participants": [None], "null-reason": "No host specified"}
        return {"participants": list(hosts)}
    lead = spec.get("host-node") or spec.get("host")
    if lead:
        return {"participants": [lead]}
    return {"participants": [None], "null-reason": "No host specified"}


def cli_to_spec(args: list) -> dict:
    parser = SpecParser(prog="idle", epilog=USAGE_EPILOG, description="Consume time.")
    parser.add_argument("-d", "--duration", help="How long to idle (ISO 8601)")
    parser.add_argument("-H", "--host", action="append", help="Host to idle on (repeatable)")
    parser.add_argument("-s", "--starting-comment", help="Comment at the start")
    parser.add_argument("-p", "--parting-comment", help="Comment at the end")
    opts = parser.parse_spec_args(args)
    spec: dict = {"schema": 1}
    if opts.duration is not None:
        spec["duration"] = opts.duration
    if opts.host:
        if len(opts.host) > 1:
            spec["schema"] = 2
            spec["host"] = opts.host
        else:
            spec["host"] = opts.host[0]
    if opts.starting_comment is not None:
        spec["starting-comment"] = opts.starting_comment
    if opts.parting_comment is not None:
        spec["parting-comment"] = opts.parting_comment
    return spec


def spec_to_cli(spec: dict) -> list[str]:
    args: list[str] = []
    if "duration" in spec:
        args += ["--duration", spec["duration"]]
    hosts = spec.get("host")
    for host in [hosts] if isinstance(hosts, str) else hosts or []:
        args += ["--host", host]
    for key in ("starting-comment", "parting-comment"):
        if key in spec:
            args += [f"--{key}", spec[key]]
    return args


def result_format(spec: dict, result: dict, mime: str) -> str:
    duration = result.get("duration", "Not Specified")
    if mime == "text/plain":
        return f"Duration ...... {duration}"
    if mime == "text/html":
        return f"<table><tr><th>Duration</th><td>{html.escape(str(duration))}</td></tr></table>"
    raise PluginError(f'Unsupported MIME type "{mime}"')


def _test(name: str, description: str, scheduling_class: str) -> Test:
    return Test(
        enumeration=enumeration(name, description, scheduling_class=scheduling_class),
        spec_schema=SPEC_SCHEMA,
        result_schema=RESULT_SCHEMA,
        participants=participants,
        cli_to_spec=cli_to_spec,
        spec_to_cli=spec_to_cli,
        result_format=result_format,
    )


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        _test("idle", "Consume time without doing anything", "background"),
        _test("idleex", "Consume time exclusively (for testing the scheduler)", "exclusive"),
        _test("idlenorm", "Consume time as a normal-class test (for testing)", "normal"),
        _test(
            "idlebgm", "Consume time as a background-multi test (for testing)", "background-multi"
        ),
    ]
