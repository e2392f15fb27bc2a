"""``kafka``: publish each result (compact JSON) to a Kafka topic, as the original does.

Data: schema 1 is ``{topic, server}``; schema 2 adds ``security-protocol`` (required:
``PLAINTEXT`` or ``SSL``), ``archiver-id`` (the client id), ``kafka-retries`` and
``retry-policy``, and for SSL ``_ssl-cacert``, ``_ssl-cert``, ``_ssl-key``, ``_ssl-password``
and ``ssl-checkhostname``.  The ``_ssl-*`` values are file names, as the client takes them;
PEM text given instead is written to a private temporary file.  The client is kafka-python;
producers are cached per configuration for an hour.  A broker that cannot be reached fails
the attempt within ``TIMEOUT`` seconds and is retried per ``retry-policy``.  Every address
the client looks up (the bootstrap server and the brokers it advertises) must pass the
archive destination policy, and the client connects to the checked address.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import tempfile

from pscheduler_plugins.archivers._shared import (
    BOOLEAN,
    RETRY_POLICY,
    STRING,
    ConnectionCache,
    failure,
    payload,
    schema_const,
    unsupported_schema,
    validator,
    versioned_schema,
)
from pscheduler_plugins.common import CARDINAL_ZERO, HOST, enumeration

from pscheduler.hookspecs import Archiver, hookimpl
from pscheduler.toolkit.destinations import DestinationRefused, refusal, resolve

MAX_SCHEMA = 2
TIMEOUT = 10.0  # seconds for bootstrap, metadata and the acknowledgement of one message
EXPIRES = 3600.0
SSL_FILES = {"_ssl-cacert": "ssl_cafile", "_ssl-cert": "ssl_certfile", "_ssl-key": "ssl_keyfile"}

V1 = {
    "type": "object",
    "properties": {"schema": schema_const(1), "topic": STRING, "server": HOST},
    "required": ["topic", "server"],
    "additionalProperties": False,
}
V2 = {
    "type": "object",
    "properties": {
        "schema": schema_const(2),
        "topic": STRING,
        "server": HOST,
        "archiver-id": STRING,
        "security-protocol": {"type": "string", "enum": ["PLAINTEXT", "SSL"]},
        "kafka-retries": CARDINAL_ZERO,
        "retry-policy": RETRY_POLICY,
    },
    "required": ["schema", "topic", "server", "security-protocol"],
    # Open, as the original's: unknown members are ignored.
    "additionalProperties": True,
    "if": {
        "properties": {"security-protocol": {"const": "SSL"}},
        "required": ["security-protocol"],
    },
    "then": {
        "properties": {
            "_ssl-cacert": STRING,
            "_ssl-cert": STRING,
            "_ssl-key": STRING,
            "_ssl-password": STRING,
            "ssl-checkhostname": BOOLEAN,
        }
    },
}
VERSIONS = {1: V1, 2: V2}


_pem_dir: str | None = None


def _file_of(value: str) -> str:
    """A file name for the client: ``value`` itself, or PEM text written once to a 0600 file
    named by its digest (so the same data keeps the same cached producer)."""
    global _pem_dir
    if "-----BEGIN" not in value:
        return value
    if _pem_dir is None:
        _pem_dir = tempfile.mkdtemp(prefix="pscheduler-kafka-")
        atexit.register(shutil.rmtree, _pem_dir, True)
    path = os.path.join(_pem_dir, hashlib.sha256(value.encode()).hexdigest() + ".pem")
    if not os.path.exists(path):
        fd, partial = tempfile.mkstemp(dir=_pem_dir, suffix=".part")
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        os.replace(partial, path)
    return path


def producer_config(data: dict) -> dict:
    """The KafkaProducer keyword arguments that ``data`` asks for (no connection made)."""
    config: dict = {
        "bootstrap_servers": [data["server"]],
        "retries": int(data.get("kafka-retries", 0)),
        "request_timeout_ms": int(TIMEOUT * 1000),
        "max_block_ms": int(TIMEOUT * 1000),
        "bootstrap_timeout_ms": int(TIMEOUT * 1000),
        "reconnect_backoff_max_ms": 1000,
    }
    if data.get("archiver-id"):
        config["client_id"] = data["archiver-id"]
    if data.get("security-protocol") == "SSL":
        config["security_protocol"] = "SSL"
        for key, option in SSL_FILES.items():
            if data.get(key):
                config[option] = _file_of(data[key])
        if data.get("_ssl-password"):
            config["ssl_password"] = data["_ssl-password"]
        config["ssl_check_hostname"] = bool(data.get("ssl-checkhostname", False))
    return config


_HOST_PORT = re.compile(r"^\[?(?P<host>[^\[\]]+?)\]?(?::(?P<port>\d{1,5}))?$")


def _check_bootstrap(server: str) -> None:
    """DestinationRefused at once for a bootstrap server the policy refuses."""
    if server.count(":") > 1 and not server.startswith("["):
        host, port = server, 9092  # a bare IPv6 literal
    else:
        match = _HOST_PORT.match(server)
        if not match:
            return  # the client will say what is wrong with it
        host, port = match["host"], int(match["port"] or 9092)
    try:
        resolve(host, port)
    except DestinationRefused:
        raise
    except OSError:
        pass  # not resolvable: the client's own error says so


def _guard_lookups() -> None:
    """Make the client's every name lookup answer only addresses the policy allows, so
    brokers advertised by the bootstrap server are held to it too (kafka-python 3)."""
    try:
        from kafka.net.inet import KafkaNetSocket
    except ImportError:  # older clients: the bootstrap check alone
        return
    original = KafkaNetSocket.dns_lookup
    if getattr(original, "guarded", False):
        return

    def dns_lookup(self, host, port, *args, **kwargs):
        infos = original(self, host, port, *args, **kwargs) or []
        return [i for i in infos if refusal(i[4][0], port) is None]

    dns_lookup.guarded = True
    KafkaNetSocket.dns_lookup = dns_lookup


def _connect(config: dict):
    def connect():
        _guard_lookups()
        from kafka import KafkaProducer  # imported late: only a node that archives here pays

        return KafkaProducer(**config)

    return connect


def _close(producer) -> None:
    producer.close(timeout=1)


_producers = ConnectionCache(_close)


def archive(record: dict) -> dict:
    data = record.get("data") or {}
    bad = unsupported_schema(data, MAX_SCHEMA)
    if bad:
        return bad
    config = producer_config(data)
    body = payload(record).encode("utf-8")
    key = tuple(sorted((k, str(v)) for k, v in config.items()))

    def send(producer) -> None:
        producer.send(data["topic"], body).get(timeout=TIMEOUT)

    try:
        _check_bootstrap(data["server"])
        _producers.use(key, EXPIRES, _connect(config), send)
    except DestinationRefused as exc:
        return {"succeeded": False, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - kafka-python raises many types; each is a failure
        return failure(record, f"Failed to send message: {type(exc).__name__}: {exc}")
    return {"succeeded": True}


@hookimpl
def pscheduler_archivers() -> list[Archiver]:
    return [
        Archiver(
            enumeration=enumeration("kafka", "Publish results to a Kafka topic"),
            data_schema=versioned_schema(VERSIONS),
            data_is_valid=validator(VERSIONS),
            archive=archive,
        )
    ]
