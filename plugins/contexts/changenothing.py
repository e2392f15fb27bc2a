"""``changenothing``: a context that leaves the environment as it is."""

from __future__ import annotations

from pscheduler_plugins.common import enumeration

from pscheduler.hookspecs import Context, hookimpl


@hookimpl
def pscheduler_contexts() -> list[Context]:
    return [
        Context(
            enumeration=enumeration("changenothing", "Change nothing (for testing)"),
            data_schema={
                "type": "object",
                "properties": {"schema": {"type": "integer", "enum": [1]}},
                "additionalProperties": False,
            },
            wrap=lambda data, argv: argv,
        )
    ]
