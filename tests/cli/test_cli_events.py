"""``watch``, ``monitor`` and ``troubleshoot`` driven by the node's event stream, and the same
commands against a server without ``/events`` (a proxy that answers 404 there, as an original
pScheduler host does)."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import os
import re
import select
import shlex
import ssl
import subprocess
import threading
import time
import uuid

import pytest

from pscheduler.cli.events import open_stream
from pscheduler.toolkit.iso8601 import parse_timestamp
from tests.cli.test_cli import cli
from tests.helpers import CLI, require_program

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class NoEventsProxy:
    """HTTPS on loopback forwarding every request to a node, except ``/pscheduler/events``
    (404).  The node only names itself in hrefs (a foreign Host header is not trusted), so
    the proxy rewrites the node's address to its own in answers, as a reverse proxy does,
    and every later request of the CLI comes through it too."""

    def __init__(self, node, state_dir: str):
        from pscheduler.server.tls import ensure_certificate

        cert, key = f"{state_dir}/proxy-cert.pem", f"{state_dir}/proxy-key.pem"
        ensure_certificate(cert, key, "127.0.0.1")
        self.paths: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                proxy.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.path.split("?")[0].rstrip("/") == "/pscheduler/events":
                    self.reply(404, [("Content-Type", "text/plain")], b"Not found.\n")
                    return
                upstream = http.client.HTTPSConnection(
                    node.host, node.port, context=ssl._create_unverified_context(), timeout=90
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                own = proxy.address.encode()
                data = answer.read().replace(node.address.encode(), own)
                upstream.close()
                kept = [
                    (k, v.replace(node.address, proxy.address))
                    for k, v in answer.getheaders()
                    if k.lower() not in HOP_BY_HOP
                ]
                self.reply(answer.status, kept, data)

            def reply(self, status: int, headers: list, data: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = forward

            def log_message(self, *args) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def old_server(node, tmp_path_factory):
    """Looks like ``node`` minus the event stream; ``.address`` for PSCHEDULER_LOCALHOST."""
    proxy = NoEventsProxy(node, str(tmp_path_factory.mktemp("proxy")))
    yield proxy
    proxy.close()


def planned_ends(node, task_uuid: str, runs: int) -> list:
    """The end of each run's slot as placed (the run's own end-time becomes its real end)."""
    ends = []
    with contextlib.closing(
        open_stream(node.base, task=task_uuid, kinds=["run-placed"], last_id="0")
    ) as stream:
        for event in stream:
            if event.kind == "run-placed":
                ends.append(parse_timestamp(event.data["data"]["end"]))
            if len(ends) >= runs or event.kind == "ready":
                break
    return sorted(ends)


def real_ends(node, task_uuid: str) -> list:
    """Each run's end-time as the node shows it now that the runs are over."""
    runs = node.get(f"tasks/{task_uuid}/runs").json()
    return sorted(parse_timestamp(node.session.get(u, timeout=10).json()["end-time"]) for u in runs)


def watch_timed(address: str, task_url: str) -> tuple[int, list[tuple[float, str]], str]:
    """Run ``watch --first --debug`` with its stdout lines stamped as they arrive."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
    environ["PSCHEDULER_LOCALHOST"] = address
    proc = subprocess.Popen(
        [CLI, "watch", "--first", "--debug", task_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    reader.start()
    lines = [(time.time(), line) for line in proc.stdout]
    code = proc.wait(60)
    reader.join(10)
    return code, lines, "".join(errors)


def post_repeating_idle(address: str) -> tuple[str, str]:
    """A task of two one-second idle runs two seconds apart; its URL and UUID."""
    out = cli(
        "task",
        "--url",
        "--repeat",
        "PT2S",
        "--max-runs",
        "2",
        "idle",
        "--duration",
        "PT1S",
        env={"PSCHEDULER_LOCALHOST": address},
    )
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip()
    return url, url.rsplit("/", 1)[1]


def test_watch_follows_the_event_stream_and_shows_results_at_the_real_end(node):
    url, task_uuid = post_repeating_idle(node.address)
    began = time.monotonic()
    code, lines, errors = watch_timed(node.address, url)
    elapsed = time.monotonic() - began
    assert code == 0, errors
    assert "Following the event stream" in errors
    results = [(stamp, line) for stamp, line in lines if "PT1S" in line]
    assert len(results) == 2, lines
    # Each slot ends a second after its idle does (the tool's slack); with the stream the
    # result is shown when the run really ends, before its slot is over.  Polling sleeps to
    # the slot's end (see the fallback test below).
    ends = planned_ends(node, task_uuid, 2)
    assert len(ends) == 2
    for (stamp, _), end in zip(results, ends, strict=True):
        assert stamp < end.timestamp(), (stamp, end.timestamp())
    assert elapsed < 15, elapsed


def test_watch_polls_a_server_without_events(node, old_server):
    url, task_uuid = post_repeating_idle(old_server.address)
    assert old_server.address in url
    code, lines, errors = watch_timed(old_server.address, url)
    assert code == 0, errors
    assert "No event stream; polling" in errors
    results = [(stamp, line) for stamp, line in lines if "PT1S" in line]
    assert len(results) == 2, lines
    # Polling, it sleeps to the run's end as it last read it: the slot's end, or the real end
    # of a run that was over already when the CLI got to it (a slow machine).
    ends = [
        min(a, b)
        for a, b in zip(planned_ends(node, task_uuid, 2), real_ends(node, task_uuid), strict=True)
    ]
    for (stamp, _), end in zip(results, ends, strict=True):
        assert stamp >= end.timestamp() - 0.05  # never a result before the run was over
    assert any(p.startswith("/pscheduler/events") for p in old_server.paths)
    assert any(f"/tasks/{task_uuid}/runs/" in p for p in old_server.paths)


def _terminal(command: list[str], address: str) -> subprocess.Popen:
    """The CLI with stdout on a pseudo-terminal (util-linux ``script``), output piped."""
    script = require_program("script")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
    environ["PSCHEDULER_LOCALHOST"] = address
    environ.setdefault("TERM", "xterm")
    line = " ".join(shlex.quote(a) for a in [CLI, *command])
    return subprocess.Popen(
        [script, "-qec", line, "/dev/null"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=environ,
    )


def _read_until(proc: subprocess.Popen, done, timeout: float) -> bytes:
    """Output so far, read until ``done(output)`` or EOF (bounded)."""
    out = b""
    deadline = time.monotonic() + timeout
    while not done(out) and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
        if ready and not chunk:
            break
        out += chunk
    return out


def test_monitor_redraws_when_an_event_arrives(node):
    marker = f"m{uuid.uuid4().hex[:10]}"
    # Without events the second read would come 60 s later.
    proc = _terminal(
        ["monitor", "--count", "2", "--refresh", "60", "--filter-test", "idle"], node.address
    )
    try:
        out = _read_until(proc, lambda o: b"pScheduler Monitor" in o, 20)
        assert b"pScheduler Monitor" in out, out[-500:]
        posted = time.monotonic()
        task = {
            "schema": 1,
            "test": {
                "type": "idle",
                "spec": {"schema": 1, "duration": "PT1S", "starting-comment": marker},
            },
            "schedule": {"slip": "PT1M"},
        }
        assert node.post("tasks", json=task).status_code == 200
        out += _read_until(proc, lambda o: False, 20)
        assert proc.wait(10) == 0
        assert time.monotonic() - posted < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.count(b"pScheduler Monitor") >= 2
    assert marker.encode() in out


def test_monitor_polls_a_server_without_events(old_server):
    once = cli("monitor", "--once", env={"PSCHEDULER_LOCALHOST": old_server.address})
    assert once.returncode == 0, once.stderr
    assert "pScheduler Monitor" in once.stdout
    before = sum(p.startswith("/pscheduler/monitor") for p in old_server.paths)
    proc = _terminal(["monitor", "--count", "3", "--refresh", "0.2"], old_server.address)
    try:
        out = _read_until(proc, lambda o: False, 20)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.count(b"pScheduler Monitor") >= 3
    reads = sum(p.startswith("/pscheduler/monitor") for p in old_server.paths) - before
    assert reads == 3  # one read per redraw: polling
    assert any(p.startswith("/pscheduler/events") for p in old_server.paths)


def test_troubleshoot_runs_idle_with_archivings(node, old_server):
    for address in (node.address, old_server.address):
        began = time.monotonic()
        out = cli("troubleshoot", env={"PSCHEDULER_LOCALHOST": address}, timeout=90)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "Idle test... OK (run and archivings succeeded)." in out.stdout
        assert "pScheduler appears to be functioning normally." in out.stdout
        assert time.monotonic() - began < 30


def test_task_rtt_prints_a_ping_like_result(node):
    require_program("ping")
    out = cli(
        "task", "rtt", "--dest", "127.0.0.1", "--count", "3", "--interval", "PT0.2S", node=node
    )
    assert out.returncode == 0, out.stdout + out.stderr
    replies = re.findall(
        r"^\d+\s+\S+ \(127\.0\.0\.1\)\s+\d+ Bytes\s+TTL \d+\s+RTT [\d.]+ ms$", out.stdout, re.M
    )
    assert len(replies) == 3, out.stdout
    assert re.search(r"0% Packet Loss\s+RTT Min/Mean/Max/StdDev = [\d./]+ ms", out.stdout)
