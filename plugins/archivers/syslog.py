"""``syslog``: write each result as one syslog message.

The message is ``<PRI>ident: <result as JSON>`` (a string result is logged as is), sent as
one datagram to the local syslog socket ``/dev/log`` as the original does.  Schema 2 adds
``server``: another local socket path, or ``host[:port]`` reached over UDP (port 514 by
default; IPv6 literals in brackets).  Datagram sockets make each call independent, so the
plugin is thread-safe without locks.  Like the original, it never asks for a retry.
"""

from __future__ import annotations

import json
import re
import socket

from pscheduler_plugins.archivers._shared import (
    schema_const,
    unsupported_schema,
    validator,
    versioned_schema,
)
from pscheduler_plugins.common import enumeration

from pscheduler.hookspecs import Archiver, hookimpl
from pscheduler.toolkit.destinations import check_unix, resolve

MAX_SCHEMA = 2
LOCAL_SOCKET = "/dev/log"
DEFAULT_PORT = 514

FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
    "local0": 16, "local1": 17, "local2": 18, "local3": 19,
    "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}  # fmt: skip
PRIORITIES = {
    "emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7,
}  # fmt: skip

SERVER = {
    "type": "string",
    "pattern": r"^(/\S+|\[[0-9A-Fa-f:.]+\](:\d{1,5})?|[^\s/:\[\]]+(:\d{1,5})?)$",
    "x-invalid-message": "'%s' is not a socket path or host[:port]",
}
_V1_PROPS = {
    "ident": {"type": "string"},
    "facility": {"type": "string", "enum": sorted(FACILITIES)},
    "priority": {"type": "string", "enum": sorted(PRIORITIES, key=PRIORITIES.get)},
}
VERSIONS = {
    1: {
        "type": "object",
        "properties": {"schema": schema_const(1), **_V1_PROPS},
        "additionalProperties": False,
    },
    2: {
        "type": "object",
        "properties": {"schema": schema_const(2), **_V1_PROPS, "server": SERVER},
        "required": ["schema"],
        "additionalProperties": False,
    },
}

_HOST_PORT = re.compile(r"^\[?(?P<host>[^\[\]]+?)\]?(?::(?P<port>\d{1,5}))?$")


def message(data: dict, result: object) -> bytes:
    """The datagram for one result."""
    pri = FACILITIES[data.get("facility", "user")] * 8 + PRIORITIES[data.get("priority", "info")]
    text = result if isinstance(result, str) else json.dumps(result, separators=(",", ":"))
    return f"<{pri}>{data.get('ident', 'pScheduler')}: {text}".encode()


def _send(server: str, datagram: bytes) -> None:
    if server.startswith("/"):
        if server != LOCAL_SOCKET:
            check_unix(server)  # /dev/log is syslog's own; other sockets need "unix"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(server)
            sock.send(datagram)
        return
    if server.count(":") > 1 and not server.startswith("["):
        host, port = server, DEFAULT_PORT  # a bare IPv6 literal
    else:
        match = _HOST_PORT.match(server)
        if not match:
            raise ValueError(f"Bad syslog server {server!r}")
        host, port = match["host"], int(match["port"] or DEFAULT_PORT)
    family, kind, proto, _, address = resolve(host, port, kind=socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.sendto(datagram, address)


def archive(record: dict) -> dict:
    data = record.get("data") or {}
    bad = unsupported_schema(data, MAX_SCHEMA)
    if bad:
        return bad
    server = data.get("server", LOCAL_SOCKET)
    try:
        _send(server, message(data, record.get("result")))
    except (OSError, ValueError, KeyError) as exc:
        return {"succeeded": False, "error": f"Unable to log to {server}: {exc}"}
    return {"succeeded": True}


@hookimpl
def pscheduler_archivers() -> list[Archiver]:
    return [
        Archiver(
            enumeration=enumeration("syslog", "Write results to the system log"),
            data_schema=versioned_schema(VERSIONS),
            data_is_valid=validator(VERSIONS),
            archive=archive,
        )
    ]
