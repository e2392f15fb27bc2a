"""Event streams are carried by one writer per API process, not a thread each (issue 14).

A stream used to hold a request thread for its whole life; 500 of them kept an API worker
busy switching between threads.  Now a stream's request hands its socket to the process's
writer once its ``ready`` event is out.  These tests hold more streams than the API has
request threads, check every stream gets every event, that departed clients' sockets are
closed at once, that a client that stops reading is told to reconnect while the others
lose nothing, and that a client that accepts gzip gets the same events gzipped.
"""

from __future__ import annotations

import contextlib
import json
import re
import selectors
import socket
import ssl
import time
import zlib

import psycopg2
import pytest

from tests.helpers import Node, wait_for
from tests.live.live_helpers import post_task

STREAMS = 300  # more than the API's request threads (2 workers x 64)
CLOSE_WAIT = "08"  # /proc/net/tcp state of a socket whose peer has closed


@pytest.fixture(scope="module")
def node(cluster):
    n = Node(cluster.new_database("streams")).start()
    yield n
    n.cleanup()


def _context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class RawStream:
    """A stream client on a plain TLS socket, read by the test's own selector loop."""

    def __init__(
        self,
        node: Node,
        rcvbuf: int | None = None,
        query: str = "",
        version: str = "1.1",
        headers: str = "",
    ) -> None:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(30)
        raw.connect((node.host, node.port))
        self.sock = _context().wrap_socket(raw) if node.tls else raw
        self.sock.sendall(
            f"GET /pscheduler/events{query} HTTP/{version}\r\nHost: {node.host}\r\n"
            f"Accept: text/event-stream\r\n{headers}\r\n".encode()
        )
        self.data = bytearray()
        self.closed = False

    def read(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except (ssl.SSLWantReadError, BlockingIOError):
            return
        except OSError:
            chunk = b""
        if chunk:
            self.data += chunk
        else:
            self.closed = True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    @property
    def head(self) -> bytes:
        return bytes(self.data.split(b"\r\n\r\n", 1)[0])

    def body(self) -> bytes:
        """The body so far (of a chunked response, the chunks received whole, joined)."""
        rest, out = bytes(self.data.split(b"\r\n\r\n", 1)[1]), bytearray()
        if b"Transfer-Encoding: chunked" not in self.head:
            return rest
        while b"\r\n" in rest:
            size, rest = rest.split(b"\r\n", 1)
            n = int(size, 16)
            if len(rest) < n + 2:
                break
            out += rest[:n]
            rest = rest[n + 2 :]
        return bytes(out)

    def text(self) -> bytes:
        """The body as sent, decompressed if gzipped (as far as it has come)."""
        if b"\r\n\r\n" not in self.data:
            return b""
        if b"Content-Encoding: gzip" not in self.head:
            return self.body()
        return zlib.decompressobj(wbits=31).decompress(self.body())


def _read_until(streams: list[RawStream], done, timeout: float, what: str) -> None:
    """Read every stream (bounded by ``timeout``) until ``done(stream)`` holds for all."""
    sel = selectors.DefaultSelector()
    for s in streams:
        s.sock.setblocking(False)
        sel.register(s.sock, selectors.EVENT_READ, s)
    deadline = time.monotonic() + timeout
    try:
        while not all(done(s) for s in streams):
            left = deadline - time.monotonic()
            assert left > 0, f"{sum(not done(s) for s in streams)} streams still lack {what}"
            for key, _ in sel.select(min(left, 1.0)):
                key.data.read()
                # TLS may hold more decrypted bytes than the socket shows as readable.
                while isinstance(key.data.sock, ssl.SSLSocket) and key.data.sock.pending():
                    key.data.read()
    finally:
        sel.close()


def _server_sockets(port: int, state: str | None = None) -> int:
    """The node's accepted sockets on ``port`` (in ``state``, if given), from /proc/net/tcp."""
    count = 0
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] != "0A" and (state is None or fields[3] == state):
            count += 1
    return count


def test_more_streams_than_request_threads_each_get_every_event(node):
    streams = []
    try:
        for _ in range(STREAMS):
            streams.append(RawStream(node))
        _read_until(streams, lambda s: b"event: ready" in s.data, 60, "the ready event")
        task = post_task(node, "idle", {"duration": "PT1S"})
        marker = task.encode()
        _read_until(
            streams,
            lambda s: b"event: task-created" in s.data and marker in s.data,
            60,
            "the new task's task-created event",
        )
        # Requests are served meanwhile: the streams hold no request thread.
        assert node.get("api", timeout=10).status_code == 200
        assert all(s.data.startswith(b"HTTP/1.1 200") for s in streams)
        assert all(b"Transfer-Encoding: chunked" in s.data.split(b"\r\n\r\n")[0] for s in streams)
    finally:
        for s in streams:
            s.close()
    # The writer notices departed clients at once (not at the next keep-alive, 10 s later).
    wait_for(
        lambda: _server_sockets(node.port, CLOSE_WAIT) == 0,
        timeout=8,
        interval=0.1,
        what="the node to close departed streams' sockets",
    )


def test_a_client_that_stops_reading_is_told_to_reconnect_and_others_lose_nothing(node):
    task = "00000000-0000-4000-8000-00000000c10d"
    reader = RawStream(node, query=f"?task={task}")
    stalled = RawStream(node, rcvbuf=4096, query=f"?task={task}")
    try:
        _read_until([reader, stalled], lambda s: b"event: ready" in s.data, 30, "ready")
        # 12,000 events of 4 kB for one task, appended as the triggers append them, 1,000 at a
        # time, each thousand read by the reader before the next (a client that keeps up):
        # more than a stream may queue (5,000) plus what the sockets' buffers hold.
        conn = psycopg2.connect(node.dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for _ in range(12):
                    cur.execute(
                        "SELECT max(event_append('run-state', %s, gen_random_uuid(), 'idle',"
                        " jsonb_build_object('pad', repeat('x', 4000))))"
                        " FROM generate_series(1, 1000)",
                        (task,),
                    )
                    marker = f'"id":{cur.fetchone()[0]},'.encode()
                    _read_until(
                        [reader],
                        lambda s, marker=marker: s.closed or marker in s.data[-65536:],
                        60,
                        "the thousand's last event",
                    )
                    assert b"event: reset" not in reader.data and not reader.closed
        finally:
            conn.close()
        assert reader.data.count(b"event: run-state") == 12000
        # The stalled client starts reading only now: its subscription overflowed meanwhile.
        _read_until([stalled], lambda s: s.closed, 60, "the end of the stream")
        body = bytes(stalled.data)
        assert b"event: reset" in body and b"client too slow" in body
        assert body.endswith(b"\r\n0\r\n\r\n")  # the stream ended cleanly (last chunk)
        received = [
            json.loads(line[6:]) for line in body.split(b"\n") if line.startswith(b"data: {")
        ]
        ids = [e["id"] for e in received if "id" in e]
        assert ids == sorted(ids) and 0 < len(ids) < 12000
    finally:
        reader.close()
        stalled.close()


FINISHED = re.compile(rb'"state": ?"finished"')  # the event's data as PostgreSQL writes it


def _task_frames(text: bytes, task: bytes) -> list[bytes]:
    """The frames about a task, up to its run's finishing."""
    frames = [f for f in text.split(b"\n\n") if task in f]
    ends = [i for i, f in enumerate(frames) if FINISHED.search(f)]
    return frames[: ends[0] + 1]


def test_a_client_that_accepts_gzip_gets_the_same_events_gzipped(node):
    """Streams that take every event send batches compressed once for all of them; a filtered
    stream's are compressed for it alone.  Each gzip client reads every event as it comes (a
    sync flush ends every write), and its stream is smaller than the same events plain."""
    gzip_all = [RawStream(node, headers="Accept-Encoding: gzip, deflate\r\n") for _ in range(20)]
    plain_all = RawStream(node)
    streams = [*gzip_all, plain_all]
    try:
        _read_until(streams, lambda s: b"event: ready" in s.text(), 30, "the ready event")
        task = post_task(node, "idle", {"duration": "PT1S"})
        gzip_task = RawStream(node, query=f"?task={task}", headers="Accept-Encoding: gzip\r\n")
        streams.append(gzip_task)
        _read_until([gzip_task], lambda s: b"event: ready" in s.text(), 30, "the ready event")
        done = f'"task":"{task}"'.encode()
        _read_until(
            streams,
            lambda s: b"event: run-state" in s.text() and FINISHED.search(s.text()),
            60,
            "the task's run to finish",
        )
        for s in [*gzip_all, gzip_task]:
            assert b"Content-Encoding: gzip" in s.head and b"Vary: Accept-Encoding" in s.head
        assert b"Content-Encoding" not in plain_all.head
        plain = _task_frames(plain_all.text(), done)
        assert plain[0].startswith(b"id: ") and b"event: task-created" in plain[0]
        for s in gzip_all:
            assert _task_frames(s.text(), done) == plain
            assert len(s.body()) < len(plain_all.body()) / 2
        # The filtered stream (compressed for it alone) has that task's events and no other.
        mine = [f for f in gzip_task.text().split(b"\n\n") if b"\nevent: run-" in f]
        assert mine and all(done in f for f in mine)
    finally:
        for s in streams:
            s.close()


def test_plain_http_1_0_streams_are_not_chunked_and_a_stop_ends_them(cluster):
    plain = Node(cluster.new_database("streams-plain"), tls=False).start()
    try:
        old = RawStream(plain, version="1.0")
        new = RawStream(plain)
        gz = RawStream(plain, headers="Accept-Encoding: gzip\r\n")
        _read_until([old, new, gz], lambda s: b"event: ready" in s.text(), 30, "ready")
        task = post_task(plain, "idle", {"duration": "PT1S"}).encode()
        _read_until([old, new, gz], lambda s: task in s.text(), 30, "the task's event")
        assert b"Transfer-Encoding: chunked" not in old.data.split(b"\r\n\r\n")[0]
        assert b"Transfer-Encoding: chunked" in new.data.split(b"\r\n\r\n")[0]
        # A gzip client that resumes: its replay is compressed for it alone, what follows is
        # shared with the other streams; one gzip stream either way, each event once.
        resumed = RawStream(plain, query="?since=0", headers="Accept-Encoding: gzip\r\n")
        _read_until([resumed], lambda s: b"event: ready" in s.text(), 30, "ready")
        later = post_task(plain, "idle", {"duration": "PT1S"}).encode()
        _read_until([gz, resumed], lambda s: later in s.text(), 30, "the later task's event")
        created = b"event: task-created\ndata: "
        assert resumed.text().count(created) == 2  # the first task's replayed, the later's live
        zipped = [gz, resumed]
        # A stopping node ends its streams (the chunked one with its last chunk) and stops
        # within its graceful time, not held by them.
        began = time.monotonic()
        assert plain.stop(timeout=20) is not None
        assert time.monotonic() - began < 15
        _read_until([old, new, *zipped], lambda s: s.closed, 10, "the end of the stream")
        assert all(s.data.endswith(b"\r\n0\r\n\r\n") for s in [new, *zipped])
        # A gzip stream ends with its trailer: the CRC and length of all it sent check out.
        for stream in zipped:
            reader = zlib.decompressobj(wbits=31)
            text = reader.decompress(stream.body())
            assert task in text and later in text and reader.eof and not reader.unused_data
    finally:
        plain.cleanup()
