"""The whole plugin contract of pscheduler, on one page.

A plugin package declares an entry point in the group ``pscheduler`` that names a module (or
any object) implementing one or more of the hooks below with ``@hookimpl``.  Each hook
returns a list of plugin objects, built from the dataclasses in this module.  The built-in
tests, tools, archivers and contexts are registered exactly this way (see ``setup.cfg``);
the core never names a plugin.

Plugins get everything they need as arguments and return plain JSON-able data.  They never
import the API, the daemons or the database layer.  Pure helpers in ``pscheduler.toolkit``
(ISO 8601, JSON Schema validation, running programs, CLI parsing) may be used.

Errors: a plugin signals bad input by raising ``PluginError`` (or ``UsageError`` from
``cli_to_spec``, whose text is shown to the user as is).  Any other exception is caught by
the core, logged with its traceback and turned into an error for that one call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pluggy

PROJECT = "pscheduler"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

SCHEDULING_CLASSES = ("background", "background-multi", "exclusive", "normal")


class PluginError(Exception):
    """A plugin's own verdict that its input cannot be used; the text is shown to the user."""


class UsageError(PluginError):
    """Raised by ``cli_to_spec`` for ``--help`` and bad options; the text is the usage."""


@dataclass(frozen=True)
class Test:
    """A measurement: owns the spec format, the participants, the CLI mapping and formatting.

    enumeration: {name, description, version, maintainer{name,...}, scheduling-class}
    spec_schema: JSON Schema of every spec version (select by ``schema`` member).
    participants(spec) -> {"participants": [host|None, ...], "null-reason"?: str}
    cli_to_spec(args: list[str]) -> spec (raise UsageError with help text for --help)
    spec_to_cli(spec) -> list[str] that cli_to_spec turns back into the same spec
    result_format(spec, result, mime) -> str for "text/plain" and "text/html"
    spec_is_valid(spec) -> {"valid": bool, "error"?: str}; default: spec_schema validation
    result_schema: JSON Schema of a merged result; the runner validates against it.
    """

    enumeration: dict
    spec_schema: dict
    participants: Callable[[dict], dict]
    cli_to_spec: Callable[[list[str]], dict]
    spec_to_cli: Callable[[dict], list[str]]
    result_format: Callable[[dict, dict, str], str]
    spec_is_valid: Callable[[dict], dict] | None = None
    result_schema: dict | None = None

    @property
    def name(self) -> str:
        return self.enumeration["name"]


@dataclass(frozen=True)
class Tool:
    """A program that carries out one or more tests.

    enumeration: {name, description, version, maintainer, tests: [names], preference: int}
    duration(test) -> timedelta the run occupies on the timeline (test = {type, spec})
    run(input, control) -> participant result {"succeeded": bool, "error"?, "diags"?, ...}
        input = {schema, task-uuid, schedule{start, duration}, test, participant,
                 participant-data: [per participant], local-node?: this node's API base
                 URL, e.g. https://host:port/pscheduler}; control is a
        ``pscheduler.toolkit.RunControl`` (deadline, stop event, run_program, sleep_until).
    can_run(test) -> {"can-run": bool, "reasons"?: [str]}; default: test type is supported
    participant_data(test, participant) -> dict shared with the other participants
    merged_results(test, results) -> the test's result from every participant's result;
        default: the lead's result.
    timed(input) -> (end, participant result) or None: for a run that only waits (the idle
        tests' tools), when it ends and what it then reports.  The runner holds a timer for
        such a run instead of a thread blocked in ``run``, so a thousand idle runs due in
        the same second cost a thousand heap entries; None (or no ``timed``): use ``run``.
    """

    enumeration: dict
    duration: Callable[[dict], timedelta]
    run: Callable[[dict, Any], dict]
    can_run: Callable[[dict], dict] | None = None
    participant_data: Callable[[dict, int], dict] | None = None
    merged_results: Callable[[dict, list], dict] | None = None
    timed: Callable[[dict], tuple[datetime, dict] | None] | None = None

    @property
    def name(self) -> str:
        return self.enumeration["name"]


@dataclass(frozen=True)
class Archiver:
    """Ships a result somewhere.

    enumeration: {name, description, version, maintainer}
    data_schema: JSON Schema of the archive ``data``; data_is_valid defaults to it.
    archive(record) -> {"succeeded": bool, "error"?: str, "retry"?: ISO 8601 duration,
                        "detail"?: str (long text, e.g. the remote answer: logged, and shown
                        only to holders of the task's key)}
        record = {data, task-href, run-href, result, attempts, last-attempt}
    data_is_valid(data) -> {"valid": bool, "error"?: str}
    """

    enumeration: dict
    archive: Callable[[dict], dict]
    data_schema: dict | None = None
    data_is_valid: Callable[[dict], dict] | None = None

    @property
    def name(self) -> str:
        return self.enumeration["name"]


@dataclass(frozen=True)
class Context:
    """Changes the environment a tool's programs run in (namespace, VRF, ...).

    wrap(data, argv) -> argv: the command line that runs ``argv`` inside the context.
    """

    enumeration: dict
    wrap: Callable[[dict, list[str]], list[str]]
    data_schema: dict | None = None
    data_is_valid: Callable[[dict], dict] | None = None

    @property
    def name(self) -> str:
        return self.enumeration["name"]


@hookspec
def pscheduler_tests() -> list[Test]:
    """Return the test plugins this package provides."""


@hookspec
def pscheduler_tools() -> list[Tool]:
    """Return the tool plugins this package provides."""


@hookspec
def pscheduler_archivers() -> list[Archiver]:
    """Return the archiver plugins this package provides."""


@hookspec
def pscheduler_contexts() -> list[Context]:
    """Return the context plugins this package provides."""
