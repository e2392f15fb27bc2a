"""A template served over HTTP on loopback, as a mesh's central web server would."""

from __future__ import annotations

import http.server
import json
import threading


class TemplateServer:
    """``url`` serves ``template`` (change it at any time); ``broken`` makes it answer 503."""

    def __init__(self, template: dict):
        self.template = template
        self.broken = False
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.fetches += 1
                if outer.broken:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps(outer.template).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mesh.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
