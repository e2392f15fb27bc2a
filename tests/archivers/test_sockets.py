"""The ``tcp`` and ``udp`` archivers against listeners the test starts on loopback."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from ._helpers import RESULT, archiver, closed_port, record

POLICY = [{"attempts": 1, "wait": "PT7S"}]


class TcpListener:
    """Accepts connections and keeps everything each one sent until it closed."""

    def __init__(self, family=socket.AF_INET, host="127.0.0.1"):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.received: list[tuple[str, bytes]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._accept_one, daemon=True)
        self.thread.start()

    def _accept_one(self):
        try:
            conn, peer = self.sock.accept()
            with conn:
                conn.settimeout(5)
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
                self.received.append((peer[0], b"".join(chunks)))
        finally:
            self.done.set()

    def close(self):
        self.sock.close()


@pytest.fixture
def tcp():
    listeners = []

    def start(*args):
        listeners.append(TcpListener(*args))
        return listeners[-1]

    yield start
    for listener in listeners:
        listener.close()


def test_tcp_sends_the_json_and_closes(tcp):
    listener = tcp()
    result = archiver("tcp").archive(record({"host": "127.0.0.1", "port": listener.port}))
    assert result == {"succeeded": True}
    assert listener.done.wait(5)
    [(peer, body)] = listener.received
    assert json.loads(body.decode("utf-8")) == RESULT


def test_tcp_over_ipv6_with_ip_version_and_schema(tcp):
    listener = tcp(socket.AF_INET6, "::1")
    data = {"schema": 1, "host": "::1", "port": listener.port, "ip-version": 6, "bind": "::1"}
    assert archiver("tcp").archive(record(data)) == {"succeeded": True}
    assert listener.done.wait(5)
    assert listener.received[0][0] == "::1"


def test_tcp_bind_sets_the_source_address(tcp):
    listener = tcp()
    data = {"host": "127.0.0.1", "port": listener.port, "bind": "127.0.0.3"}
    assert archiver("tcp").archive(record(data)) == {"succeeded": True}
    assert listener.done.wait(5)
    assert listener.received[0][0] == "127.0.0.3"


def test_tcp_refused_is_retried_per_policy():
    data = {"host": "127.0.0.1", "port": closed_port(), "retry-policy": POLICY}
    first = archiver("tcp").archive(record(data, attempts=0))
    assert first["succeeded"] is False and first["retry"] == "PT7S"
    assert "refused" in first["error"].lower()
    assert "retry" not in archiver("tcp").archive(record(data, attempts=1))


def test_address_of_the_wrong_ip_version_is_a_failure_without_retry():
    data = {"host": "127.0.0.1", "port": 9, "ip-version": 6, "retry-policy": POLICY}
    result = archiver("tcp").archive(record(data))
    assert result["succeeded"] is False
    assert result["error"].startswith("Unable to resolve 127.0.0.1")
    assert "retry" not in result


@pytest.fixture
def udp_listener():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        yield sock


def test_udp_sends_one_datagram(udp_listener):
    data = {"host": "127.0.0.1", "port": udp_listener.getsockname()[1], "schema": 1}
    assert archiver("udp").archive(record(data)) == {"succeeded": True}
    assert json.loads(udp_listener.recv(65536).decode("utf-8")) == RESULT


def test_udp_payload_larger_than_payload_size_fails_with_retry(udp_listener):
    port = udp_listener.getsockname()[1]
    big = {"blob": "x" * 600}
    result = archiver("udp").archive(
        record({"host": "127.0.0.1", "port": port, "retry-policy": POLICY}, big)
    )
    assert result["succeeded"] is False and result["retry"] == "PT7S"
    assert "exceeds payload-size 508" in result["error"]
    data = {"host": "127.0.0.1", "port": port, "payload-size": 2000}
    assert archiver("udp").archive(record(data, big)) == {"succeeded": True}
    assert json.loads(udp_listener.recv(65536)) == big


@pytest.mark.parametrize("name", ["tcp", "udp"])
@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"port": 1}, "'host' is a required property"),
        ({"host": "h", "port": 70000}, "At /port:"),
        ({"host": "h", "port": 1, "ip-version": 5}, "At /ip-version:"),
        (
            {"host": "h", "port": 1, "schema": 2},
            "Schema version 2 is not supported (highest is 1).",
        ),
        ({"host": "h", "port": 1, "extra": 2}, "Additional properties"),
    ],
)
def test_invalid_data_is_explained(name, data, error):
    verdict = archiver(name).data_is_valid(data)
    assert verdict["valid"] is False and error in verdict["error"]


def test_schema_member_is_allowed_and_payload_size_only_for_udp():
    assert archiver("tcp").data_is_valid({"schema": 1, "host": "h", "port": 1}) == {"valid": True}
    assert archiver("udp").data_is_valid({"host": "h", "port": 1, "payload-size": 9000})["valid"]
    assert not archiver("tcp").data_is_valid({"host": "h", "port": 1, "payload-size": 9})["valid"]
