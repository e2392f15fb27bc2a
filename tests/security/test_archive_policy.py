"""Hole 2: archives reaching internal services.  The destination policy, through the real
archiver plugins (their own sockets and HTTP sessions) against listeners on loopback."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pscheduler import plugins
from pscheduler.toolkit import destinations

RESULT = {"succeeded": True}


def archive(name: str, data: dict) -> dict:
    record = {"data": data, "result": RESULT, "attempts": 0, "last-attempt": None}
    return plugins.registry().archivers[name].archive(record)


@pytest.fixture
def policy(monkeypatch):
    """Set the allow and deny lists (the environment the archiver daemon is given)."""

    def set_lists(allow: str = "", deny: str = "", listen: str = "127.0.0.1:1") -> None:
        monkeypatch.setenv(destinations.ALLOW_ENV, allow)
        monkeypatch.setenv(destinations.DENY_ENV, deny)
        monkeypatch.setenv("PSCHEDULER_LISTEN", listen)

    set_lists()
    return set_lists


class _Recorder:
    """An HTTP server on ``host`` that counts the requests it gets."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    made = []

    def make(host: str = "127.0.0.1", port: int = 0) -> _Recorder:
        made.append(_Recorder(host, port))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "0", "2130706433", "[::1]", "localhost", "user@127.0.0.1", "169.254.1.1"],
)
def test_http_archive_to_loopback_or_link_local_is_refused_without_retry(policy, recorder, host):
    sink = recorder()
    url = f"http://{host}:{sink.port}/x"
    answer = archive("http", {"_url": url, "retry-policy": [{"attempts": 3, "wait": "PT1S"}]})
    assert answer["succeeded"] is False and "retry" not in answer
    assert "not allowed" in answer["error"], answer
    assert sink.hits == 0


def test_allow_list_opens_loopback_and_deny_list_wins(policy, recorder):
    sink = recorder()
    url = f"http://127.0.0.1:{sink.port}/x"
    policy(allow="127.0.0.0/8")
    assert archive("http", {"_url": url}) == {"succeeded": True}
    policy(allow="127.0.0.0/8", deny="127.0.0.1/32")
    assert "deny list" in archive("http", {"_url": url})["error"]
    assert sink.hits == 1


def test_own_api_port_stays_refused_even_when_loopback_is_allowed(policy, recorder):
    sink = recorder()
    policy(allow="127.0.0.0/8", listen=f"127.0.0.1:{sink.port}")
    answer = archive("http", {"_url": f"https://localhost:{sink.port}/pscheduler/control/pause"})
    assert "own API" in answer["error"]
    assert sink.hits == 0


def test_redirect_to_a_refused_address_is_not_followed(policy, recorder):
    inner = recorder()

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{inner.port}/x")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    outer = ThreadingHTTPServer(("127.0.0.2", 0), Redirect)
    threading.Thread(target=outer.serve_forever, daemon=True).start()
    try:
        policy(allow="127.0.0.2/32")
        answer = archive("http", {"_url": f"http://127.0.0.2:{outer.server_port}/in"})
        assert answer["succeeded"] is False and "not allowed" in answer["error"]
        assert inner.hits == 0
    finally:
        outer.shutdown()
        outer.server_close()


def test_name_is_resolved_once_and_the_checked_address_is_used(policy, recorder, monkeypatch):
    """DNS rebinding: the first answer passes the check, later ones point at loopback."""
    allowed = recorder("127.0.0.2")
    # The internal service listens on the same port: a second lookup would land there.
    internal = recorder("127.0.0.1", allowed.port)
    policy(allow="127.0.0.2/32")
    real = socket.getaddrinfo
    answers = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        target = "127.0.0.2" if not answers else "127.0.0.1"
        answers.append(target)
        return real(target, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    data = {"_url": f"http://rebind.test:{allowed.port}/x"}
    assert archive("http", data) == {"succeeded": True}
    assert answers == ["127.0.0.2"] and allowed.hits == 1 and internal.hits == 0


def test_tcp_and_udp_archives_obey_the_policy(policy):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        for name in ("tcp", "udp"):
            answer = archive(name, {"host": "127.0.0.1", "port": port})
            assert answer["succeeded"] is False and "not allowed" in answer["error"], answer
        policy(allow="127.0.0.1")
        assert archive("tcp", {"host": "127.0.0.1", "port": port}) == {"succeeded": True}


def test_postgresql_archive_to_a_local_socket_or_loopback_is_refused(policy):
    for dsn in ("dbname=pscheduler", "host=/tmp dbname=x", "host=127.0.0.1 port=5432 dbname=x"):
        data = {"_dsn": dsn, "table": "t", "column": "c"}
        answer = archive("postgresql", data)
        assert answer["succeeded"] is False and "not allowed" in answer["error"], answer


def test_syslog_to_another_local_socket_or_loopback_udp_is_refused(policy):
    for server in ("/run/some-other.sock", "127.0.0.1:514", "[::1]"):
        answer = archive("syslog", {"schema": 2, "server": server})
        assert answer["succeeded"] is False and "not allowed" in answer["error"], answer


def test_policy_names_what_it_refuses():
    assert destinations.refusal("127.0.0.1") == "127.0.0.1 is a loopback address"
    assert "link-local" in destinations.refusal("fe80::1")
    assert "loopback" in destinations.refusal("::ffff:127.0.0.1")
    assert destinations.refusal("192.0.2.10") is None
    with pytest.raises(ValueError, match="not a network"):
        destinations.validate_lists("10.0.0.0/8,nonsense", "")


def test_kafka_bootstrap_and_advertised_brokers_obey_the_policy(policy):
    pytest.importorskip("kafka")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        answer = archive("kafka", {"topic": "t", "server": f"127.0.0.1:{port}"})
        assert answer["succeeded"] is False and "not allowed" in answer["error"], answer
    # Brokers named in the bootstrap server's metadata go through the client's lookup.
    from kafka.net.inet import KafkaNetSocket
    from pscheduler_plugins.archivers import kafka

    kafka._guard_lookups()
    lookup = KafkaNetSocket.__new__(KafkaNetSocket)
    assert lookup.dns_lookup("127.0.0.1", 9092) == []
    policy(allow="127.0.0.1")
    assert lookup.dns_lookup("127.0.0.1", 9092)[0][4][0] == "127.0.0.1"
