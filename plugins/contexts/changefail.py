"""``changefail``: a context whose change always fails (for testing how failures show)."""

from __future__ import annotations

from pscheduler_plugins.common import enumeration

from pscheduler.hookspecs import Context, hookimpl

# What the program run in this context does instead of the tool's program: say why on
# stderr and exit 1, as the original's change script does.
FAILING = ["/bin/sh", "-c", 'echo "Failed intentionally." 1>&2; exit 1']


@hookimpl
def pscheduler_contexts() -> list[Context]:
    return [
        Context(
            enumeration=enumeration("changefail", "Fail to change context (for testing)"),
            data_schema={
                "type": "object",
                "properties": {"schema": {"type": "integer", "enum": [1]}},
                "additionalProperties": False,
            },
            wrap=lambda data, argv: list(FAILING),
        )
    ]
