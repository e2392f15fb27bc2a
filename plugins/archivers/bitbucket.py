"""``bitbucket``: accepts every result and discards it."""

from __future__ import annotations

from pscheduler_plugins.common import MAINTAINER

from pscheduler.hookspecs import Archiver, hookimpl

DATA_SCHEMA = {
    "type": "object",
    "properties": {"schema": {"type": "integer", "enum": [1]}},
    "additionalProperties": False,
}


@hookimpl
def pscheduler_archivers() -> list[Archiver]:
    return [
        Archiver(
            enumeration={
                "schema": 1,
                "name": "bitbucket",
                "description": "Discard results",
                "version": "1.0",
                "maintainer": MAINTAINER,
            },
            data_schema=DATA_SCHEMA,
            archive=lambda record: {"succeeded": True},
        )
    ]
