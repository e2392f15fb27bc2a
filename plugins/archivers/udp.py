"""``udp``: send each result as compact JSON in one UDP datagram (see ``_sockets``)."""

from __future__ import annotations

import socket

from pscheduler_plugins.archivers import _sockets
from pscheduler_plugins.archivers._shared import validator, versioned_schema
from pscheduler_plugins.common import enumeration

from pscheduler.hookspecs import Archiver, hookimpl


def archive(record: dict) -> dict:
    return _sockets.archive(record, socket.SOCK_DGRAM)


@hookimpl
def pscheduler_archivers() -> list[Archiver]:
    return [
        Archiver(
            enumeration=enumeration("udp", "Send results as UDP datagrams"),
            data_schema=versioned_schema(_sockets.UDP_VERSIONS),
            data_is_valid=validator(_sockets.UDP_VERSIONS),
            archive=archive,
        )
    ]
