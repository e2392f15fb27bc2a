"""The ``idle`` test and its test-only variants ``idleex`` (exclusive), ``idlenorm`` (normal)
and ``idlebgm`` (background-multi): consume time on the timeline, nothing else.

As in the original, only ``idle`` (and our ``idlenorm``) have a schema 2 (several hosts);
``idleex`` and ``idlebgm`` stop at schema 1 and take one ``--host``; ``idlebgm`` has an
``interval`` (how often a background-multi run reports).  Every variant's CLI takes
``--host-node`` (the original's idleex does), so spec-to-cli always round-trips.
"""

from __future__ import annotations

import html

from pscheduler_plugins.common import DURATION, HOST, URL_HOST_PORT, enumeration, versioned

from pscheduler.hookspecs import PluginError, Test, UsageError, hookimpl
from pscheduler.toolkit.iso8601 import parse_duration
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
_V1_BGM = {**_V1, "properties": {**_V1["properties"], "interval": DURATION}}
VERSIONS = {1: _V1, 2: _V2}
SPEC_SCHEMA, spec_is_valid = versioned(VERSIONS)
SPEC_SCHEMA_EX, spec_is_valid_ex = versioned({1: _V1})
SPEC_SCHEMA_BGM, spec_is_valid_bgm = versioned({1: _V1_BGM})
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


def _interval(text: str) -> str:
    """An ISO 8601 duration as given, or a number of seconds made into one (``5`` -> PT5S)."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            parse_duration(text)
        except ValueError:
            raise UsageError(
                f'Invalid value "{text}" for interval: use ISO 8601 or seconds'
            ) from None
        return text
    if seconds < 0:
        raise UsageError(f'Invalid value "{text}" for interval: must not be negative')
    return f"PT{seconds:g}S"


def _cli_to_spec(name: str, multi_host: bool, interval: bool):
    def cli_to_spec(args: list) -> dict:
        parser = SpecParser(prog=name, epilog=USAGE_EPILOG, description="Consume time.")
        parser.add_argument("-d", "--duration", help="How long to idle (ISO 8601)")
        parser.add_argument(
            "-H",
            "--host",
            action="append" if multi_host else "store",
            help="Host to idle on" + (" (repeatable)" if multi_host else ""),
        )
        parser.add_argument("--host-node", help="pScheduler node on that host")
        if interval:
            parser.add_argument(
                "-i", "--interval", type=_interval, help="Result interval (ISO 8601 or seconds)"
            )
        parser.add_argument("-s", "--starting-comment", help="Comment at the start")
        parser.add_argument("-p", "--parting-comment", help="Comment at the end")
        opts = parser.parse_spec_args(args)
        spec: dict = {"schema": 1}
        if opts.duration is not None:
            spec["duration"] = opts.duration
        hosts = opts.host
        if isinstance(hosts, list) and len(hosts) > 1:
            spec["schema"] = 2
            spec["host"] = hosts
        elif hosts:
            spec["host"] = hosts[0] if isinstance(hosts, list) else hosts
        for key in ("host-node", "interval", "starting-comment", "parting-comment"):
            value = getattr(opts, key.replace("-", "_"), None)
            if value is not None:
                spec[key] = value
        return spec

    return cli_to_spec


cli_to_spec = _cli_to_spec("idle", multi_host=True, interval=False)


def spec_to_cli(spec: dict) -> list[str]:
    args: list[str] = []
    if "duration" in spec:
        args += ["--duration", spec["duration"]]
    hosts = spec.get("host")
    for host in [hosts] if isinstance(hosts, str) else hosts or []:
        args += ["--host", host]
    for key in ("host-node", "interval", "starting-comment", "parting-comment"):
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


def _test(
    name: str,
    description: str,
    scheduling_class: str,
    versions: tuple = (SPEC_SCHEMA, spec_is_valid),
    cli=cli_to_spec,
) -> Test:
    return Test(
        enumeration=enumeration(name, description, scheduling_class=scheduling_class),
        spec_schema=versions[0],
        spec_is_valid=versions[1],
        result_schema=RESULT_SCHEMA,
        participants=participants,
        cli_to_spec=cli,
        spec_to_cli=spec_to_cli,
        result_format=result_format,
    )


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        _test("idle", "Consume time without doing anything", "background"),
        _test(
            "idleex",
            "Consume time exclusively (for testing the scheduler)",
            "exclusive",
            (SPEC_SCHEMA_EX, spec_is_valid_ex),
            _cli_to_spec("idleex", multi_host=False, interval=False),
        ),
        _test("idlenorm", "Consume time as a normal-class test (for testing)", "normal"),
        _test(
            "idlebgm",
            "Consume time as a background-multi test (for testing)",
            "background-multi",
            (SPEC_SCHEMA_BGM, spec_is_valid_bgm),
            _cli_to_spec("idlebgm", multi_host=False, interval=True),
        ),
    ]
