"""The http test with the curl tool, against an http.server started on 127.0.0.1."""

from __future__ import annotations

import http.server
import threading

import pytest

from pscheduler import plugins
from pscheduler.hookspecs import UsageError
from pscheduler.toolkit.jsonval import schema_error
from tests.plugins.plugin_helpers import (
    control_for,
    formatted,
    get_test,
    get_tool,
    measure,
    run_input,
)

PAGE = b"<html><body>Welcome to the test page</body></html>"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path == "/echo-header":
            body = (self.headers.get("X-Probe") or "none").encode()
        elif self.path == "/missing":
            self.send_error(404, "Not here")
            return
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/")
            self.end_headers()
            return
        else:
            body = PAGE
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("X-Served-By", "test")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)


def test_status_time_and_parse(base_url):
    spec = {"schema": 1, "url": base_url + "/", "parse": "Welcome", "timeout": "PT3S"}
    _, merged = measure("curl", "http", spec)
    assert merged["succeeded"] and merged["status"] == 200 and merged["found"] is True
    assert merged["headers"]["X-Served-By"] == "test" and "content" not in merged
    text, html = formatted("http", spec, merged)
    assert "Response Time ... PT" in text and "Status Code ..... 200" in text
    assert "String Found .... True" in text and "X-Served-By: test" in text
    assert "<table>" in html


def test_parse_not_found_and_keep_content(base_url):
    spec = {"schema": 2, "url": base_url + "/moved", "parse": "Absent", "keep-content": 7}
    _, merged = measure("curl", "http", spec)
    assert merged["succeeded"] and merged["found"] is False
    assert merged["content"] == PAGE[:7].decode()


def test_headers_v4_specs_run(base_url):
    spec = {
        "schema": 4,
        "url": base_url + "/echo-header",
        "headers": {"X-Probe": "hello"},
        "keep-content": 0,
    }
    _, merged = measure("curl", "http", spec)
    assert merged["content"] == "hello"


def test_error_status_fails_unless_always_succeed(base_url):
    tool = get_tool("curl")
    spec = {"url": base_url + "/missing"}
    test = {"type": "http", "spec": spec}
    merged = plugins.merged_results(
        tool, test, [tool.run(run_input("http", spec), control_for(tool, test))]
    )
    assert merged["succeeded"] is False and merged["status"] == 404 and "404" in merged["error"]
    assert schema_error(get_test("http").result_schema, merged) is None
    _, merged = measure(
        "curl", "http", {"schema": 2, "url": base_url + "/missing", "always-succeed": True}
    )
    assert merged["succeeded"] and merged["status"] == 404


def test_refused_connection_merges_to_an_error_not_null():
    tool = get_tool("curl")
    spec = {"url": "http://127.0.0.1:9/", "timeout": "PT2S"}
    test = {"type": "http", "spec": spec}
    merged = plugins.merged_results(
        tool, test, [tool.run(run_input("http", spec), control_for(tool, test))]
    )
    assert merged["succeeded"] is False and merged["error"].startswith("Fetch failed")


def test_can_run_and_duration(tmp_path):
    tool = get_tool("curl")
    assert tool.duration({"type": "http", "spec": {"url": "http://x/"}}).total_seconds() == 11
    assert not plugins.can_run(tool, {"type": "http", "spec": {"url": "gopher://x/"}})["can-run"]
    assert not plugins.can_run(tool, {"type": "http", "spec": {"url": "file:///etc/passwd"}})[
        "can-run"
    ]
    page = tmp_path / "page.html"
    page.write_bytes(PAGE)
    assert plugins.can_run(tool, {"type": "http", "spec": {"url": f"file://{page}"}})["can-run"]


@pytest.mark.parametrize(
    "spec",
    [
        {"schema": 1, "url": "http://x/", "parse": "hi", "timeout": "PT2S", "host": "a"},
        {"schema": 2, "url": "http://x/", "always-succeed": False, "keep-content": 1000},
        {"schema": 3, "url": "http://x/", "ip-version": 6},
        {"schema": 4, "url": "http://x/", "headers": {"Accept": "text/plain", "X-A": "b: c"}},
    ],
)
def test_cli_round_trip(spec):
    test = get_test("http")
    assert test.cli_to_spec(test.spec_to_cli(spec)) == spec


def test_cli_options():
    test = get_test("http")
    assert test.cli_to_spec(["--url", "http://x/", "--keep-content", "1k"])["keep-content"] == 1000
    with pytest.raises(UsageError, match="Invalid header"):
        test.cli_to_spec(["--url", "http://x/", "--header", "nocolon"])
    with pytest.raises(UsageError, match="--keep-content"):
        test.cli_to_spec(["--help"])


def test_url_is_a_string_as_in_the_original():
    """is-valid takes any string (issue 17); curl's can-run is where a non-URL is refused."""
    assert plugins.spec_is_valid(get_test("http"), {"url": "not a url"}) == {"valid": True}
    verdict = plugins.can_run(get_tool("curl"), {"type": "http", "spec": {"url": "not a url"}})
    assert verdict["can-run"] is False and verdict["reasons"]


@pytest.mark.parametrize(
    "spec, error",
    [
        ({}, "At /: 'url' is a required property"),
        ({"url": 7}, "At /url: 7 is not of type 'string'"),
        ({"url": "http://x/", "keep-content": 5}, "At /: Additional properties are not allowed"),
        ({"schema": 2, "url": "http://x/", "keep-content": -1}, "At /keep-content:"),
        ({"schema": 4, "url": "http://x/", "headers": {"Bad Name": "v"}}, "At /headers:"),
        ({"schema": 4, "url": "http://x/", "headers": {"A": 1}}, "At /headers/A:"),
        ({"schema": 5, "url": "http://x/"}, "Schema version 5 is not supported (highest is 4)."),
    ],
)
def test_bad_specs_are_rejected(spec, error):
    verdict = plugins.spec_is_valid(get_test("http"), spec)
    assert verdict["valid"] is False and verdict["error"].startswith(error), verdict
