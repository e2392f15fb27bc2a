"""An API worker that a peak of connections left bigger hands over to a fresh one (issue 14).

Hundreds of streams and idle clients fragment a worker's heap: after they leave it keeps
their size.  Once such a peak is over and the worker holds no stream, it retires if it is
still bigger than before (``PSCHEDULER_API_RETIRE_GROWTH``; 0 here: any growth at all, and a
first stream always grows a worker by its writer and hub threads).  These tests hold a peak on
a one-worker node and check that the worker waits for its last stream, then is replaced, and
that the node serves requests and streams as before.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import pytest

from tests.helpers import Node, wait_for
from tests.interfaces.test_metrics import scrape
from tests.live.live_helpers import post_task
from tests.scale.test_event_streams import CLOSE_WAIT, RawStream, _read_until, _server_sockets

PEAK = 80  # connections: more than the worker's peak threshold (64)


@pytest.fixture
def node(cluster):
    n = Node(
        cluster.new_database("retire"),
        extra_args=["--api-workers", "1"],
        env={"PSCHEDULER_API_RETIRE_GROWTH": "0"},
    ).start()
    yield n
    n.cleanup()


def _api_worker(node: Node) -> int | None:
    """The pid of the node's one API worker: the API process whose parent is an API process
    (gunicorn's master)."""
    api = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if os.getsid(int(pid)) != node.proc.pid:
                continue
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            if b"pscheduler.server\0api" in cmdline:
                api[int(pid)] = ppid
    workers = [pid for pid, ppid in api.items() if ppid in api]
    return workers[0] if len(workers) == 1 else None


def _heartbeat(pid: int) -> float:
    """When the worker last told its master it is alive: gunicorn touches an unlinked file
    once a round of the worker's loop, the round in which it also decides whether to retire."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            if "wgunicorn-" in os.readlink(f"/proc/{pid}/fd/{fd}"):
                return os.stat(f"/proc/{pid}/fd/{fd}").st_mtime
    raise AssertionError(f"worker {pid} has no heartbeat file")


def _open_fds(pid: int) -> int:
    with contextlib.suppress(OSError):
        return len(os.listdir(f"/proc/{pid}/fd"))
    return 0


def _events(stream: RawStream, kind: str) -> int:
    return stream.text().count(f"event: {kind}".encode())


def _server_closed(port: int) -> bool:
    """Whether the node closed its end of a connection the test closed first, from local
    ``port``: the test's socket left FIN_WAIT2 for TIME_WAIT (or /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port:
            return fields[3] == "06"
    return True


def _hostname_requests(node: Node) -> float:
    family = scrape(node).get("pscheduler_api_request_duration_seconds")
    return sum(
        s.value
        for s in (family.samples if family else ())
        if s.name.endswith("_count") and s.labels["route"] == "/pscheduler/hostname"
    )


def _metric_files(node: Node) -> set[str]:
    return {f for f in os.listdir(Path(node.state_dir) / "prometheus") if f.endswith(".db")}


def test_a_worker_retires_after_a_peak_once_its_last_stream_is_gone(node):
    wait_for(lambda: _api_worker(node), 30, what="the API worker")
    worker = _api_worker(node)
    stream = RawStream(node)
    _read_until([stream], lambda s: b"event: ready" in s.data, 30, "the ready event")
    baseline_fds = _open_fds(worker)
    idle = [socket.create_connection((node.host, node.port), timeout=10) for _ in range(PEAK)]
    try:
        wait_for(lambda: _open_fds(worker) >= baseline_fds + PEAK, 30, what="the peak accepted")
    finally:
        for s in idle:
            s.close()
    # Closed by the worker too: none of the node's sockets is left half-closed (CLOSE_WAIT).
    wait_for(lambda: _server_sockets(node.port, CLOSE_WAIT) == 0, 30, what="the idle closed")

    # The peak is over but the stream is still there: the worker stays and keeps it going.
    post_task(node, "idle", {"duration": "PT1S"})
    _read_until([stream], lambda s: _events(s, "task-created") >= 1, 30, "the new task's event")
    assert not stream.closed
    assert _api_worker(node) == worker

    # A stream whose request is under way when the last one leaves: the worker waits for it
    # too (it used to retire, answer it "Connection: close" and end it as it exited).
    late = RawStream(node, headers="X-Late: 1")  # its blank line, the request's end, not yet
    port = stream.sock.getsockname()[1]
    stream.close()
    wait_for(lambda: _server_closed(port), 30, what="the first stream closed")
    # Three beats of the worker's loop: two whole rounds after the close, in which it used to
    # retire.
    for _ in range(3):
        beat = _heartbeat(worker)
        wait_for(lambda beat=beat: _heartbeat(worker) != beat, 10, what="the worker's loop")
    late.sock.sendall(b"\r\n")
    _read_until([late], lambda s: b"event: ready" in s.data, 30, "the late stream's ready")
    assert b"Connection: close" not in late.head
    post_task(node, "idle", {"duration": "PT1S"})
    _read_until([late], lambda s: _events(s, "task-created") >= 1, 30, "the late stream's event")
    assert not late.closed and _api_worker(node) == worker

    # Requests the old worker served stay counted once it is gone.
    for _ in range(5):
        assert node.get("hostname").ok
    wait_for(lambda: _hostname_requests(node) == 5, 5, interval=0.3, what="5 requests counted")
    assert f"histogram_{worker}.db" in _metric_files(node)

    late.close()
    wait_for(lambda: _api_worker(node) not in (None, worker), 30, what="a fresh worker")
    assert "hands over to a fresh one" in node.log()
    # Its counts joined those of workers gone: one file for all of them, not one each.
    wait_for(lambda: f"histogram_{worker}.db" not in _metric_files(node), 10, what="the fold")
    assert "histogram_gone.db" in _metric_files(node)
    assert _hostname_requests(node) == 5

    # The fresh worker serves requests and streams.
    assert node.get("api").status_code == 200
    again = RawStream(node)
    try:
        _read_until([again], lambda s: b"event: ready" in s.data, 30, "the ready event")
        post_task(node, "idle", {"duration": "PT1S"})
        _read_until([again], lambda s: _events(s, "task-created") >= 1, 30, "an event")
    finally:
        again.close()
