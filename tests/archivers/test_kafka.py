"""The ``kafka`` archiver up to the client's call: data validation as the original's, the
producer configuration, and a real connection attempt to a loopback TCP server that is not
Kafka.  Delivery to a broker is NOT tested here: there is no Kafka broker on this machine."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from pscheduler_plugins.archivers import kafka as kafka_module

from ._helpers import RESULT, archiver, closed_port, record

pytest.importorskip("kafka")

POLICY = [{"attempts": 2, "wait": "PT15S"}]
V2 = {"schema": 2, "topic": "results", "server": "k.example:9092", "security-protocol": "PLAINTEXT"}


@pytest.mark.parametrize(
    "data",
    [
        {"topic": "results", "server": "k.example:9092"},
        {"schema": 1, "topic": "results", "server": "192.0.2.1"},
        V2,
        {**V2, "archiver-id": "ps-node-1", "kafka-retries": 3, "retry-policy": POLICY},
        {**V2, "something-new": True},  # schema 2 is open, as the original's
        {
            **V2,
            "security-protocol": "SSL",
            "_ssl-cacert": "/etc/ssl/ca.pem",
            "_ssl-cert": "/etc/ssl/cert.pem",
            "_ssl-key": "/etc/ssl/key.pem",
            "_ssl-password": "secret",
            "ssl-checkhostname": True,
        },
    ],
)
def test_valid_data(data):
    assert archiver("kafka").data_is_valid(data) == {"valid": True}


@pytest.mark.parametrize(
    "data, error",
    [
        ({"server": "k"}, "At /: 'topic' is a required property"),
        ({"topic": "t"}, "At /: 'server' is a required property"),
        ({"topic": "t", "server": "k", "archiver-id": "x"}, "At /: Additional properties"),
        ({"schema": 2, "topic": "t", "server": "k"}, "At /: 'security-protocol' is a required"),
        ({**V2, "security-protocol": "SASL_SSL"}, "At /security-protocol:"),
        ({**V2, "kafka-retries": -1}, "At /kafka-retries:"),
        ({**V2, "security-protocol": "SSL", "ssl-checkhostname": "yes"}, "At /ssl-checkhostname:"),
        ({**V2, "schema": 3}, "Schema version 3 is not supported (highest is 2)."),
    ],
)
def test_invalid_data(data, error):
    verdict = archiver("kafka").data_is_valid(data)
    assert verdict["valid"] is False and verdict["error"].startswith(error), verdict


def test_producer_config_maps_the_data():
    plain = kafka_module.producer_config({**V2, "archiver-id": "node-1", "kafka-retries": 2})
    assert plain["bootstrap_servers"] == ["k.example:9092"]
    assert plain["client_id"] == "node-1" and plain["retries"] == 2
    assert "security_protocol" not in plain
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    ssl = kafka_module.producer_config(
        {
            **V2,
            "security-protocol": "SSL",
            "_ssl-cacert": pem,
            "_ssl-key": "/etc/ssl/key.pem",
            "_ssl-password": "pw",
        }
    )
    assert ssl["security_protocol"] == "SSL" and ssl["ssl_check_hostname"] is False
    assert ssl["ssl_keyfile"] == "/etc/ssl/key.pem" and ssl["ssl_password"] == "pw"
    with open(ssl["ssl_cafile"]) as handle:  # PEM text went to a private file
        assert handle.read() == pem
    assert os.stat(ssl["ssl_cafile"]).st_mode & 0o077 == 0
    again = kafka_module.producer_config({**V2, "security-protocol": "SSL", "_ssl-cacert": pem})
    assert again["ssl_cafile"] == ssl["ssl_cafile"]  # same text, same file, same producer


class NotKafka:
    """A loopback TCP server that records what each connection sends, then hangs up."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(4096))
                except OSError:
                    self.received.append(b"")

    def close(self):
        self.sock.close()


@pytest.fixture
def not_kafka(monkeypatch):
    monkeypatch.setattr(kafka_module, "TIMEOUT", 2.0)
    server = NotKafka()
    yield server
    server.close()


def test_archive_reaches_the_server_and_fails_with_a_retry(not_kafka):
    data = {
        **V2,
        "server": f"127.0.0.1:{not_kafka.port}",
        "archiver-id": "ps-test-archiver",
        "retry-policy": POLICY,
    }
    began = time.monotonic()
    outcome = archiver("kafka").archive(record(data, result=RESULT))
    assert time.monotonic() - began < 15
    assert outcome["succeeded"] is False
    assert outcome["error"].startswith("Failed to send message:")
    assert outcome["retry"] == "PT15S"
    # The client spoke Kafka to it: an ApiVersions request naming our client id.
    assert not_kafka.received and b"ps-test-archiver" in not_kafka.received[0]
    spent = archiver("kafka").archive(record(data, attempts=2))
    assert spent["succeeded"] is False and "retry" not in spent


def test_archive_to_a_closed_port_fails_in_bounded_time(monkeypatch):
    monkeypatch.setattr(kafka_module, "TIMEOUT", 1.0)
    data = {"topic": "t", "server": f"127.0.0.1:{closed_port()}"}
    began = time.monotonic()
    outcome = archiver("kafka").archive(record(data))
    assert outcome["succeeded"] is False and "retry" not in outcome
    assert time.monotonic() - began < 10


def test_archive_time_schema_check():
    outcome = archiver("kafka").archive(record({**V2, "schema": 3}))
    assert outcome == {"succeeded": False, "error": "Unsupported schema version 3; max is 2"}
