"""Hole 2, second half: what an archive's destination answered must not be shown to
everyone.  The public run JSON carries the status and reason; the body goes to the log and
to a requester holding the task's key."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.archiving._helpers import noop_task, wait_archivings
from tests.helpers import wait_for

SECRET = "internal-service-banner-7f3a"


class _Leaky(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = f"<html>{SECRET}: version 1.2.3, user list ...</html>".encode()
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_remote_body_is_kept_from_the_public_run_json(open_node, outsider):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Leaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"
        task = noop_task([{"archiver": "http", "data": {"_url": url}}], _key="owner-key")
        r = outsider.post(open_node.url("tasks"), json=task, timeout=30)
        assert r.status_code == 200, r.text
        run = open_node.session.get(
            r.json() + "/runs/first", params={"wait-merged": "true", "wait": "30"}, timeout=45
        ).json()
        (archiving,) = wait_archivings(open_node, run["href"], 1, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    public = open_node.session.get(run["href"], timeout=10)
    assert SECRET not in public.text
    assert archiving["diags"][-1]["message"] == "Failed to post result: 404 Not Found"
    keyed = open_node.session.get(run["href"], params={"key": "owner-key"}, timeout=10).json()
    detail = keyed["archivings"][0]["diags"][-1]["_detail"]
    assert SECRET in detail and detail.startswith("Failed to post result: 404 Not Found: ")
    wait_for(lambda: SECRET in open_node.log(), timeout=10, what="the body in the node's log")
    assert json.loads(public.text)["archivings"][0]["diags"][-1]["_detail"] is None
