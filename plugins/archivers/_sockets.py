"""What ``tcp`` and ``udp`` share: send each result as JSON over a plain socket.

tcp connects, sends the JSON (no delimiter) and closes; udp sends one datagram of at most
``payload-size`` bytes (508 by default, the size every IPv4 path carries unfragmented).
A host that does not resolve (or not in the asked IP version) is a failure without retry;
socket errors are retried as the data's ``retry-policy`` says.  The destination must pass
the archive destination policy (``pscheduler.toolkit.destinations``), with no retry.  Fixed quirk: ``schema`` is
an allowed member.  Each call has its own socket, so both are thread-safe.
"""

from __future__ import annotations

import ipaddress
import socket

from pscheduler_plugins.archivers._shared import (
    IP_VERSION,
    PORT,
    RETRY_POLICY,
    failure,
    payload,
    schema_const,
    unsupported_schema,
)
from pscheduler_plugins.common import HOST

from pscheduler.toolkit.destinations import DestinationRefused, resolve

MAX_SCHEMA = 1
TIMEOUT = 30.0
DEFAULT_PAYLOAD_SIZE = 508

_PROPS = {
    "schema": schema_const(1),
    "host": HOST,
    "port": PORT,
    "bind": HOST,
    "ip-version": IP_VERSION,
    "retry-policy": RETRY_POLICY,
}
TCP_VERSIONS = {
    1: {
        "type": "object",
        "properties": _PROPS,
        "required": ["host", "port"],
        "additionalProperties": False,
    }
}
UDP_VERSIONS = {
    1: {
        "type": "object",
        "properties": {
            **_PROPS,
            "payload-size": {"type": "integer", "minimum": 1, "maximum": 65507},
        },
        "required": ["host", "port"],
        "additionalProperties": False,
    }
}

_FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6, None: socket.AF_UNSPEC}


def _resolve(data: dict, kind: int) -> tuple:
    """(family, address) of the destination; OSError (gaierror) when it does not resolve."""
    version = data.get("ip-version")
    try:
        literal = ipaddress.ip_address(data["host"])
    except ValueError:
        literal = None
    if literal is not None and version is not None and literal.version != version:
        # Said here rather than by getaddrinfo, which would ask DNS about the literal.
        raise OSError(f"not an IPv{version} address")
    family = _FAMILIES[version]
    infos = resolve(data["host"], data["port"], family, kind)  # checked by the policy
    return infos[0][0], infos[0][4]


def _bound_socket(family: int, kind: int, bind: str | None) -> socket.socket:
    sock = socket.socket(family, kind)
    sock.settimeout(TIMEOUT)
    if bind:
        try:
            sock.bind((bind, 0))
        except OSError:
            sock.close()
            raise
    return sock


def archive(record: dict, kind: int) -> dict:
    data = record.get("data") or {}
    bad = unsupported_schema(data, MAX_SCHEMA)
    if bad:
        return bad
    try:
        family, address = _resolve(data, kind)
    except DestinationRefused as exc:
        return {"succeeded": False, "error": str(exc)}
    except (OSError, UnicodeError) as exc:
        return {"succeeded": False, "error": f"Unable to resolve {data.get('host')}: {exc}"}
    body = payload(record).encode("utf-8")
    if kind == socket.SOCK_DGRAM:
        limit = int(data.get("payload-size", DEFAULT_PAYLOAD_SIZE))
        if len(body) > limit:
            return failure(record, f"Payload of {len(body)} bytes exceeds payload-size {limit}")
    try:
        with _bound_socket(family, kind, data.get("bind")) as sock:
            if kind == socket.SOCK_DGRAM:
                sock.sendto(body, address)
            else:
                sock.connect(address)
                sock.sendall(body)
                sock.shutdown(socket.SHUT_WR)
    except OSError as exc:
        return failure(record, f"Failed to send to {data['host']} port {data['port']}: {exc}")
    return {"succeeded": True}
