"""``postgresql``: insert each result as JSON text into a table's column.

``INSERT INTO <table> (<column>) VALUES (<json>)``, the names quoted as identifiers (and
restricted to plain identifiers by the schema), the JSON passed as a parameter.  The
connection is cached per DSN until ``connection-expires`` (default PT1H) and used by one
thread at a time; any error closes it, so the next attempt reconnects.  Errors are retried
as ``retry-policy`` says.  The server must pass the archive destination policy: its name is
resolved and checked here and the connection made to that address (``hostaddr``); a local
socket needs ``unix`` in the allow list.
"""

from __future__ import annotations

import psycopg2
import psycopg2.extensions
from pscheduler_plugins.archivers._shared import (
    RETRY_POLICY,
    STRING,
    ConnectionCache,
    failure,
    payload,
    schema_const,
    seconds,
    unsupported_schema,
    validator,
    versioned_schema,
)
from pscheduler_plugins.common import DURATION, enumeration
from psycopg2 import sql

from pscheduler.hookspecs import Archiver, hookimpl
from pscheduler.toolkit.destinations import DestinationRefused, check_unix, refusal, resolve

MAX_SCHEMA = 1
DEFAULT_EXPIRES = 3600.0
CONNECT_TIMEOUT = 10

IDENTIFIER = {
    "type": "string",
    "pattern": r"^[A-Za-z_][A-Za-z0-9_$]*$",
    "maxLength": 63,
    "x-invalid-message": "'%s' is not a plain SQL identifier",
}
VERSIONS = {
    1: {
        "type": "object",
        "properties": {
            "schema": schema_const(1),
            "_dsn": STRING,
            "table": IDENTIFIER,
            "column": IDENTIFIER,
            "connection-expires": DURATION,
            "retry-policy": RETRY_POLICY,
        },
        "required": ["_dsn", "table", "column"],
        "additionalProperties": False,
    }
}


def _dsn_error(data: dict) -> str | None:
    """Syntax of the DSN only: no connection is made while validating."""
    try:
        psycopg2.extensions.parse_dsn(data["_dsn"])
    except psycopg2.Error as exc:
        return f"Invalid DSN: {str(exc).strip()}"
    return None


def checked_params(dsn: str) -> dict:
    """The DSN's parameters with ``hostaddr`` set to checked addresses (DestinationRefused)."""
    params = psycopg2.extensions.parse_dsn(dsn)
    if "service" in params:
        check_unix("a service file")  # its hosts come from a local file we cannot see
    hosts = [h.strip() for h in params.get("host", "").split(",")]
    ports = [p.strip() for p in str(params.get("port", "")).split(",")]
    if "hostaddr" in params:
        for address in params["hostaddr"].split(","):
            why = refusal(address.strip())
            if why:
                raise DestinationRefused(f"Archive destination not allowed: {why}")
        return params
    addresses = []
    for index, host in enumerate(hosts):
        if not host or host.startswith(("/", "@")):
            check_unix(host)
            addresses.append("")
            continue
        port = ports[index] if index < len(ports) and ports[index] else ports[0] or "5432"
        addresses.append(resolve(host, int(port))[0][4][0])
    if any(addresses):
        params["hostaddr"] = ",".join(addresses)
    return params


def _connect(dsn: str):
    def connect():
        return psycopg2.connect(**checked_params(dsn), connect_timeout=CONNECT_TIMEOUT)

    return connect


_connections = ConnectionCache(lambda connection: connection.close())


def archive(record: dict) -> dict:
    data = record.get("data") or {}
    bad = unsupported_schema(data, MAX_SCHEMA)
    if bad:
        return bad
    statement = sql.SQL("INSERT INTO {} ({}) VALUES (%s)").format(
        sql.Identifier(data["table"]), sql.Identifier(data["column"])
    )
    body = payload(record)

    def insert(connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, (body,))
        connection.commit()

    expires = seconds(data.get("connection-expires"), DEFAULT_EXPIRES)
    try:
        _connections.use(data["_dsn"], expires, _connect(data["_dsn"]), insert)
    except DestinationRefused as exc:
        return {"succeeded": False, "error": str(exc)}
    except (psycopg2.Error, OSError, ValueError) as exc:
        return failure(record, f"Failed to insert result: {str(exc).strip()}")
    return {"succeeded": True}


@hookimpl
def pscheduler_archivers() -> list[Archiver]:
    return [
        Archiver(
            enumeration=enumeration("postgresql", "Insert results into a PostgreSQL table"),
            data_schema=versioned_schema(VERSIONS),
            data_is_valid=validator(VERSIONS, _dsn_error),
            archive=archive,
        )
    ]
