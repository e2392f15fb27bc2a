"""The ``http`` archiver against an HTTP server the test starts on loopback."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ._helpers import RESULT, archiver, closed_port, record


class Server:
    """Records every request; answers with the scripted statuses, then 200."""

    def __init__(self, statuses=(), hold: threading.Event | None = None):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        self.hold = hold
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "client": self.client_address[0],
                        }
                    )
                    status = outer.statuses.pop(0) if outer.statuses else 200
                if outer.hold is not None:
                    outer.hold.wait(10)
                text = b"busy now" if status >= 300 else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        class Httpd(ThreadingHTTPServer):
            request_queue_size = 64  # many clients at once must not hit SYN retransmits

        self.httpd = Httpd(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/archive"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        if self.hold is not None:
            self.hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    servers = []

    def start(*args, **kwargs):
        servers.append(Server(*args, **kwargs))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def archive(data, attempts=0):
    return archiver("http").archive(record(data, attempts=attempts))


def test_post_sends_the_result_as_compact_json(server):
    s = server()
    assert archive({"_url": s.url}) == {"succeeded": True}
    [req] = s.requests
    assert req["method"] == "POST" and req["path"] == "/archive"
    assert req["headers"]["Content-Type"] == "application/json"
    assert json.loads(req["body"].decode("utf-8")) == RESULT
    assert b", " not in req["body"] and b": " not in req["body"]


def test_put_with_headers_drops_empty_ones_and_keeps_given_content_type(server):
    s = server()
    data = {
        "schema": 2,
        "_url": s.url,
        "op": "put",
        "_headers": {"X-Token": "abc", "X-Empty": "", "Content-Type": "text/x-json"},
    }
    assert archive(data) == {"succeeded": True}
    [req] = s.requests
    assert req["method"] == "PUT"
    assert req["headers"]["X-Token"] == "abc"
    assert "X-Empty" not in req["headers"]
    assert req["headers"]["Content-Type"] == "text/x-json"


def test_503_twice_then_200_follows_the_retry_policy(server):
    s = server(statuses=[503, 503])
    data = {
        "_url": s.url,
        "retry-policy": [{"attempts": 1, "wait": "PT5S"}, {"attempts": 1, "wait": "PT30S"}],
    }
    first = archive(data, attempts=0)
    assert first == {
        "succeeded": False,
        "error": "Failed to post result: 503 Service Unavailable",
        "retry": "PT5S",
        "detail": "Failed to post result: 503 Service Unavailable: busy now",
    }
    second = archive(data, attempts=1)
    assert second["succeeded"] is False and second["retry"] == "PT30S"
    assert archive(data, attempts=2) == {"succeeded": True}
    assert len(s.requests) == 3


def test_failure_without_policy_gives_up_and_policy_end_gives_up(server):
    s = server(statuses=[404, 500])
    assert archive({"_url": s.url}) == {
        "succeeded": False,
        "error": "Failed to post result: 404 Not Found",
        "detail": "Failed to post result: 404 Not Found: busy now",
    }
    data = {"_url": s.url, "retry-policy": [{"attempts": 1, "wait": "PT5S"}]}
    assert "retry" not in archive(data, attempts=1)


def test_refused_connection_is_retried_per_policy():
    data = {
        "_url": f"http://127.0.0.1:{closed_port()}/",
        "retry-policy": [{"attempts": 3, "wait": "PT1M"}],
    }
    result = archive(data, attempts=2)
    assert result["succeeded"] is False
    assert result["error"].startswith("Failed to post result: ")
    assert result["retry"] == "PT1M"


def test_timeout_is_a_failure_not_a_hang(server):
    s = server(hold=threading.Event())
    data = {"schema": 4, "_url": s.url, "timeout": "PT0.5S"}
    result = archive(data)
    assert result["succeeded"] is False
    assert "timed out" in result["error"].lower()


def test_bind_sets_the_source_address(server):
    s = server()
    assert archive({"_url": s.url, "bind": "127.0.0.2"}) == {"succeeded": True}
    assert s.requests[0]["client"] == "127.0.0.2"


def test_many_threads_archive_at_once(server):
    s = server()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: archive({"_url": s.url}), range(40)))
    assert results == [{"succeeded": True}] * 40
    assert len(s.requests) == 40


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "At /: '_url' is a required property"),
        (
            {"_url": "gopher://127.0.0.1/"},
            "At /_url: 'gopher://127.0.0.1/' is not an http or https URL",
        ),
        ({"_url": "http://h/", "_headers": {"a": "b"}}, "Additional properties"),
        ({"schema": 2, "_url": "http://h/", "verify-ssl": True}, "Additional properties"),
        ({"schema": "2", "_url": "http://h/"}, "At /schema: must be an integer"),
        (
            {"schema": 4, "_url": "http://h/", "timeout": "soon"},
            "'soon' is not a valid ISO 8601 duration",
        ),
        ({"_url": "http://h/", "op": "get"}, "At /op:"),
        (
            {"_url": "http://h/", "retry-policy": [{"attempts": 0, "wait": "PT1S"}]},
            "At /retry-policy/0/attempts",
        ),
        ({"schema": 5, "_url": "http://h/"}, "Schema version 5 is not supported (highest is 4)."),
    ],
)
def test_invalid_data_is_explained(data, error):
    verdict = archiver("http").data_is_valid(data)
    assert verdict["valid"] is False
    assert error in verdict["error"]


def test_valid_data_of_each_version():
    valid = archiver("http").data_is_valid
    assert valid({"_url": "https://h.example/x", "op": "put", "bind": "10.0.0.1"}) == {
        "valid": True
    }
    assert valid({"schema": 2, "_url": "http://h/", "_headers": {"A": "b"}})["valid"]
    assert valid({"schema": 3, "_url": "http://h/", "verify-ssl": True})["valid"]
    assert valid({"schema": 4, "_url": "http://h/", "timeout": "PT5S"})["valid"]


def test_schema_too_new_at_archive_time_is_refused_without_retry():
    assert archive({"schema": 9, "_url": "http://127.0.0.1:1/"}) == {
        "succeeded": False,
        "error": "Unsupported schema version 9; max is 4",
    }
