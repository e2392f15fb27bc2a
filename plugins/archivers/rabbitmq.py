"""``rabbitmq``: publish each result to an AMQP exchange, with publisher confirms.

Messages are published ``mandatory``, so a message no queue takes is a failure (retried
per ``retry-policy``) rather than silently dropped.  Connections are cached per URL and
expiry (``connection-expires``, default PT1H) and used by one thread at a time, since pika's
BlockingConnection is not thread-safe.  The routing key is a string or (schema 2+) a jq
transform evaluated on the result.  Fixed quirks: schema 3 validates and is accepted at
archive time; the schemas spell ``type`` correctly.
"""

from __future__ import annotations

import pika
import pika.exceptions
from pscheduler_plugins.archivers._shared import (
    JQ_TRANSFORM,
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

from pscheduler.hookspecs import Archiver, hookimpl
from pscheduler.toolkit.destinations import DestinationRefused, resolve
from pscheduler.toolkit.jqfilter import TransformError, compile_transform, run_compiled

MAX_SCHEMA = 3
DEFAULT_EXPIRES = 3600.0
DEFAULT_TIMEOUT = 10.0

URL = {
    "type": "string",
    "pattern": r"^amqps?://",
    "x-invalid-message": "'%s' is not an amqp:// or amqps:// URL",
}


def _version(version: int, **extra: dict) -> dict:
    routing_key = STRING if version == 1 else {"anyOf": [STRING, JQ_TRANSFORM]}
    return {
        "type": "object",
        "properties": {
            "schema": schema_const(version),
            "_url": URL,
            "exchange": STRING,
            "routing-key": routing_key,
            "retry-policy": RETRY_POLICY,
            **extra,
        },
        "required": ["_url"] if version == 1 else ["schema", "_url"],
        "additionalProperties": False,
    }


VERSIONS = {
    1: _version(1),
    2: _version(2, **{"connection-expires": DURATION}),
    3: _version(3, **{"connection-expires": DURATION, "timeout": DURATION}),
}


def _extra_checks(data: dict) -> str | None:
    key = data.get("routing-key")
    if isinstance(key, dict):
        try:
            compile_transform(key)
        except TransformError as exc:
            return f"Error compiling routing key transform: {exc}"
    try:
        pika.URLParameters(data["_url"])
    except Exception as exc:  # noqa: BLE001 - pika raises assorted types for bad URLs
        return f"Invalid URL: {exc}"
    return None


def _routing_key(data: dict, result: object) -> str:
    key = data.get("routing-key", "")
    if isinstance(key, str):
        return key
    value = run_compiled(compile_transform(key), result, bool(key.get("output-raw", False)))
    if not isinstance(value, str):
        raise TransformError(f"Routing key transform produced {type(value).__name__}, not a string")
    return value


def _close(connection: pika.BlockingConnection) -> None:
    if connection.is_open:
        connection.close()


_connections = ConnectionCache(_close)


def _connect(url: str, timeout: float):
    def connect() -> tuple:
        parameters = pika.URLParameters(url)
        # Resolved and checked once; the connection goes to that address (no rebinding).
        parameters.host = resolve(parameters.host, parameters.port)[0][4][0]
        parameters.socket_timeout = timeout
        parameters.stack_timeout = timeout
        parameters.blocked_connection_timeout = timeout
        parameters.connection_attempts = 1
        connection = pika.BlockingConnection(parameters)
        channel = connection.channel()
        channel.confirm_delivery()
        return connection, channel

    return connect


def archive(record: dict) -> dict:
    data = record.get("data") or {}
    bad = unsupported_schema(data, MAX_SCHEMA)
    if bad:
        return bad
    try:
        routing_key = _routing_key(data, record.get("result"))
    except TransformError as exc:
        return {"succeeded": False, "error": f"Routing key transform failed: {exc}"}
    timeout = seconds(data.get("timeout"), DEFAULT_TIMEOUT)
    expires = seconds(data.get("connection-expires"), DEFAULT_EXPIRES)
    body = payload(record).encode("utf-8")

    def publish(connection_and_channel: tuple) -> None:
        _, channel = connection_and_channel
        channel.basic_publish(
            exchange=data.get("exchange", ""),
            routing_key=routing_key,
            body=body,
            properties=pika.BasicProperties(content_type="application/json", delivery_mode=2),
            mandatory=True,
        )

    try:
        _connections.use(
            (data["_url"], expires, timeout), expires, _connect(data["_url"], timeout), publish
        )
    except DestinationRefused as exc:
        return {"succeeded": False, "error": str(exc)}
    except pika.exceptions.UnroutableError:
        return failure(record, "Message was not routed to any queue")
    except pika.exceptions.NackError:
        return failure(record, "Broker refused the message (nack)")
    except pika.exceptions.AMQPError as exc:
        detail = str(exc) or "; ".join(str(arg) for arg in exc.args) or "unable to reach the broker"
        return failure(record, f"Pika error: {type(exc).__name__}: {detail}")
    except (OSError, ValueError) as exc:
        return failure(record, f"Failed to publish: {exc}")
    return {"succeeded": True}


@hookimpl
def pscheduler_archivers() -> list[Archiver]:
    return [
        Archiver(
            enumeration=enumeration("rabbitmq", "Publish results to a RabbitMQ exchange"),
            data_schema=versioned_schema(VERSIONS),
            data_is_valid=validator(VERSIONS, _extra_checks),
            archive=archive,
        )
    ]
