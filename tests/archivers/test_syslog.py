"""The ``syslog`` archiver against UDP and Unix-socket listeners the test starts."""

from __future__ import annotations

import json
import os
import socket

import pytest

from ._helpers import RESULT, archiver, record


@pytest.fixture
def udp_listener():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        yield sock


def archive(data, result=None):
    return archiver("syslog").archive(record(data, result=result))


def test_message_over_udp_carries_facility_and_priority_in_pri(udp_listener):
    port = udp_listener.getsockname()[1]
    data = {
        "schema": 2,
        "server": f"127.0.0.1:{port}",
        "facility": "local3",
        "priority": "warning",
        "ident": "pstest",
    }
    assert archive(data) == {"succeeded": True}
    datagram = udp_listener.recv(65536).decode("utf-8")
    assert datagram.startswith("<156>pstest: ")  # local3 (19) * 8 + warning (4)
    assert json.loads(datagram[len("<156>pstest: ") :]) == RESULT


def test_defaults_are_user_info_and_pscheduler(udp_listener):
    port = udp_listener.getsockname()[1]
    assert archive({"schema": 2, "server": f"127.0.0.1:{port}"}, result="plain text") == {
        "succeeded": True
    }
    assert udp_listener.recv(65536) == b"<14>pScheduler: plain text"  # user (1) * 8 + info (6)


def test_ipv6_literal_server():
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.bind(("::1", 0))
        sock.settimeout(5)
        port = sock.getsockname()[1]
        data = {"schema": 2, "server": f"[::1]:{port}", "facility": "kern", "priority": "emerg"}
        assert archive(data) == {"succeeded": True}
        assert sock.recv(65536).startswith(b"<0>pScheduler: {")


def test_local_socket_path(tmp_path):
    path = str(tmp_path / "log")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(5)
        data = {"schema": 2, "server": path, "facility": "daemon", "priority": "debug"}
        assert archive(data) == {"succeeded": True}
        assert sock.recv(65536).startswith(b"<31>pScheduler: {")


def test_missing_local_socket_is_a_failure_without_retry(tmp_path):
    path = str(tmp_path / "nobody-here")
    result = archive({"schema": 2, "server": path})
    assert result["succeeded"] is False
    assert result["error"].startswith(f"Unable to log to {path}: ")
    assert "retry" not in result
    assert not os.path.exists(path)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"facility": "local9"}, "At /facility:"),
        ({"priority": "loud"}, "At /priority:"),
        ({"server": "127.0.0.1"}, "Additional properties"),
        ({"schema": 2, "server": "a b"}, "is not a socket path or host[:port]"),
        ({"ident": 7}, "At /ident:"),
        ({"schema": 3}, "Schema version 3 is not supported (highest is 2)."),
    ],
)
def test_invalid_data_is_explained(data, error):
    verdict = archiver("syslog").data_is_valid(data)
    assert verdict["valid"] is False and error in verdict["error"]


def test_valid_data():
    valid = archiver("syslog").data_is_valid
    assert valid({}) == {"valid": True}
    assert valid({"ident": "ps", "facility": "local7", "priority": "crit"}) == {"valid": True}
    assert valid({"schema": 2, "server": "[::1]:514"}) == {"valid": True}
    assert valid({"schema": 2, "server": "log.example"}) == {"valid": True}
