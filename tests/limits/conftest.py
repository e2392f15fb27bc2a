"""Fixtures for the limit-system tests: config builders and a real HTTP server on loopback."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

LOOPBACK = {"requester": "127.0.0.1", "server": "127.0.0.1"}
OUTSIDER = {"requester": "203.0.113.9", "server": "127.0.0.1"}


def idle_task(duration: str = "PT5S", **extra) -> dict:
    return {
        "schema": 1,
        "test": {"type": "idle", "spec": {"schema": 1, "duration": duration}},
        **extra,
    }


def config(
    limits: list | None = None,
    applications: list | None = None,
    identifiers: list | None = None,
    classifiers: list | None = None,
    schema: int = 1,
    **extra,
) -> str:
    """A limit file's text: everybody identified and classified, limits given."""
    doc = {
        "schema": schema,
        "identifiers": identifiers
        if identifiers is not None
        else [{"name": "everybody", "description": "all", "type": "always", "data": {}}],
        "classifiers": classifiers
        if classifiers is not None
        else [{"name": "everyone", "description": "all", "identifiers": ["everybody"]}],
        "limits": limits
        if limits is not None
        else [{"name": "always", "description": "x", "type": "pass-fail", "data": {"pass": True}}],
        "applications": applications
        if applications is not None
        else [{"description": "All", "apply": [{"require": "all", "limits": ["always"]}]}],
        **extra,
    }
    return json.dumps(doc)


def one_limit(limit_type: str, data: dict, invert: bool = False) -> str:
    """A file whose single application requires the single limit ``l``."""
    entry = {"name": "l", "description": "under test", "type": limit_type, "data": data}
    if invert:
        entry["invert"] = True
    return config(
        limits=[entry],
        applications=[{"description": "A", "apply": [{"require": "all", "limits": ["l"]}]}],
    )


class Server:
    """A loopback HTTP server whose answers tests set per path; it records requests."""

    def __init__(self):
        self.routes: dict[str, tuple[int, str]] = {}
        self.requests: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?", 1)[0]
                outer.requests.append({"path": self.path, "headers": dict(self.headers)})
                status, body = outer.routes.get(path, (404, "not found"))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r["path"].split("?", 1)[0] == path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()
