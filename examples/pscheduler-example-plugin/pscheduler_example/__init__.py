"""The ``hello`` test and ``wave`` tool: the smallest useful third-party plugin."""

from __future__ import annotations

import datetime as dt

from pscheduler.hookspecs import PluginError, Test, Tool, UsageError, hookimpl

MAINTAINER = {"name": "Example Plugin Authors"}


def cli_to_spec(args: list) -> dict:
    if "--help" in args or "-h" in args:
        raise UsageError("Usage: hello [--name NAME]\n")
    spec = {"schema": 1}
    if "--name" in args:
        spec["name"] = args[args.index("--name") + 1]
    return spec


def result_format(spec: dict, result: dict, mime: str) -> str:
    if mime not in ("text/plain", "text/html"):
        raise PluginError(f'Unsupported MIME type "{mime}"')
    return result.get("greeting", "")


@hookimpl
def pscheduler_tests() -> list[Test]:
    return [
        Test(
            enumeration={
                "schema": 1,
                "name": "hello",
                "description": "Say hello (an example third-party test)",
                "version": "0.1",
                "maintainer": MAINTAINER,
                "scheduling-class": "background",
            },
            spec_schema={
                "type": "object",
                "properties": {"schema": {"const": 1}, "name": {"type": "string"}},
                "additionalProperties": False,
            },
            participants=lambda spec: {"participants": [None]},
            cli_to_spec=cli_to_spec,
            spec_to_cli=lambda spec: ["--name", spec["name"]] if "name" in spec else [],
            result_format=result_format,
        )
    ]


@hookimpl
def pscheduler_tools() -> list[Tool]:
    return [
        Tool(
            enumeration={
                "schema": 1,
                "name": "wave",
                "description": "Wave at someone",
                "version": "0.1",
                "maintainer": MAINTAINER,
                "tests": ["hello"],
                "preference": 0,
            },
            duration=lambda test: dt.timedelta(seconds=1),
            run=lambda input, control: {
                "succeeded": True,
                "greeting": f"Hello, {input['test']['spec'].get('name', 'world')}!",
            },
        )
    ]
