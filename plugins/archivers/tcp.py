"""``tcp``: send each result as compact JSON over a TCP connection (see ``_sockets``)."""

from __future__ import annotations

import socket

from pscheduler_plugins.archivers import _sockets
from pscheduler_plugins.archivers._shared import validator, versioned_schema
from pscheduler_plugins.common import enumeration

from pscheduler.hookspecs import Archiver, hookimpl


def archive(record: dict) -> dict:
    return _sockets.archive(record, socket.SOCK_STREAM)


@hookimpl
def pscheduler_archivers() -> list[Archiver]:
    return [
        Archiver(
            enumeration=enumeration("tcp", "Send results to a TCP listener"),
            data_schema=versioned_schema(_sockets.TCP_VERSIONS),
            data_is_valid=validator(_sockets.TCP_VERSIONS),
            archive=archive,
        )
    ]
