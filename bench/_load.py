"""Load for the scale bench: an open-loop request mix, idle connections, event-stream clients.

Each runs in a process of its own (multiprocessing) so that neither the stream readers nor
the idle sockets share a GIL with the clients whose latency is measured.  Every wait is
bounded: a phase ends at its deadline whatever the server does.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import selectors
import socket
import ssl
import threading
import time
import zlib
from collections import defaultdict

_CTX = ssl.create_default_context()
_CTX.check_hostname = False
_CTX.verify_mode = ssl.CERT_NONE


WINDOW = 10  # seconds per latency window in request_mix's report


def _connection(host: str, timeout: float) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection(host, context=_CTX, timeout=timeout)


def request_mix(
    host: str,
    rate: float,
    seconds: float,
    endpoints: list[tuple[str, str, str, bytes | None]],
    clients: int,
    out,
) -> None:
    """Offer ``rate`` requests/s for ``seconds``, cycling through ``endpoints`` (label, method,
    path, body), on ``clients`` keep-alive connections.  Latency runs from the moment a
    request was due (open loop: a slow server makes later requests wait, and that counts).
    Puts {label: [ms...]}, {label: errors}, the offered count, a sample error per label and
    the p99 of each ``WINDOW`` seconds of due times (where stalls are) on ``out``."""
    due: queue.Queue = queue.Queue()
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    samples: dict[str, str] = {}
    by_window: dict[int, list[float]] = defaultdict(list)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds + 30  # the last requests get 30 s to finish

    def client() -> None:
        conn = None
        while True:
            item = due.get()
            if item is None:
                return
            when, (label, method, path, body) = item
            status, ok = 0, False
            try:
                if conn is None:
                    conn = _connection(host, max(1.0, deadline - time.monotonic()))
                headers = {"Content-Type": "application/json"} if body else {}
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status = response.status
                ok = status < 400
                if not ok:
                    samples.setdefault(label, f"{status} {data[:200]!r}")
            except Exception as exc:  # noqa: BLE001 - counted as an error, connection renewed
                samples.setdefault(label, repr(exc)[:200])
                if conn is not None:
                    conn.close()
                conn = None
            elapsed = (time.monotonic() - when) * 1000
            with lock:
                by_window[int((when - start) // WINDOW)].append(elapsed)
                if ok:
                    latencies[label].append(elapsed)
                else:
                    errors[label] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    offered = 0
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            break
        target = int((now - start) * rate)
        while offered < target:
            due.put((start + offered / rate, endpoints[offered % len(endpoints)]))
            offered += 1
        time.sleep(0.002)
    for _ in threads:
        due.put(None)
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    with lock:
        windows = [
            sorted(v)[min(len(v) - 1, int(0.99 * len(v)))] for _, v in sorted(by_window.items())
        ]
        out.put((dict(latencies), dict(errors), offered, samples, windows))


def idle_connections(host: str, count: int, stop, out) -> None:
    """Keep ``count`` TCP connections open that never send a byte (reopened when the server
    closes one), until ``stop`` is set.  Puts (opened, closed by server) on ``out``."""
    addr, port = host.rsplit(":", 1)
    sel = selectors.DefaultSelector()
    opened = closed = 0

    def open_one() -> None:
        nonlocal opened
        s = socket.create_connection((addr, int(port)), timeout=10)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        opened += 1

    for _ in range(count):
        open_one()
    while not stop.is_set():
        for key, _ in sel.select(0.5):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                closed += 1
                try:
                    open_one()
                except OSError:
                    pass
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    out.put((opened, closed))


def _lower_priority(niceness: int) -> None:
    """Run this process at ``niceness``, also against processes of other sessions.

    With autogroup scheduling (kernel.sched_autogroup_enabled, on by default), the kernel
    first shares the CPU between sessions and only then between a session's processes by
    their nice values: a nice 19 process in the bench's session still got as much as the
    node's whole session, and the stream readers took 100-120 % of the two cores in a burst
    (bench/timeline.py).  A session of its own, with the session's nice raised, makes the
    nice value count against the node as well."""
    if niceness <= 0:
        return
    os.setsid()
    with contextlib.suppress(OSError):
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write(str(niceness))
    os.nice(niceness)


class _GzipChunks:
    """A chunked, gzipped response body, decoded as it arrives."""

    def __init__(self) -> None:
        self.buf = b""
        self.left = -1  # data bytes left in the current chunk; -1: a size line is next
        self.inflate = zlib.decompressobj(wbits=31)

    def feed(self, data: bytes) -> bytes:
        self.buf += data
        out = []
        while self.buf:
            if self.left < 0:
                line, found, rest = self.buf.partition(b"\r\n")
                if not found:
                    break
                if not line:  # the CRLF that ends a chunk's data
                    self.buf = rest
                    continue
                self.left, self.buf = int(line, 16), rest
                if self.left == 0:
                    break
            take = self.buf[: self.left]
            self.buf = self.buf[self.left :]
            self.left -= len(take)
            out.append(self.inflate.decompress(take))
            if self.left == 0:
                self.left = -1
        return b"".join(out)


def stream_clients(
    host: str, count: int, stop, ready, out, niceness: int = 0, gzip: bool = True
) -> None:
    """Hold ``count`` GET /pscheduler/events streams open and read them until ``stop``.
    Sets ``ready`` once every stream has answered.  Puts (status counts, events read,
    streams ended early, bytes received, bytes of event text) on ``out``.  With ``gzip``
    they ask for a gzipped stream, as browsers, requests and curl --compressed do, and
    decompress what they read.

    ``niceness`` lowers this process's CPU priority.  The streams stand in for clients on
    other hosts, which take none of the node's CPU; here, in a burst (5,000 events to each of
    500 streams in two seconds), reading and decrypting them took 70-100 % of a core at the
    node's own priority, on the same two cores, and the API's latency measured that.  At
    nice 19 they read with what the node leaves, as remote clients would; if that is not
    enough, their queues on the node fill and their streams end (counted below), so the
    node's cost of writing every byte is still paid and a node that cannot keep up shows.

    One thread reads every stream from a selector and counts events in what it reads: a
    thread per stream (500 threads in one process, ~50,000 events a second) made this
    process the busiest on the machine, and the node's figures measured it."""
    _lower_priority(niceness)
    parent = os.getppid()  # in a session of its own, no signal ends it with the bench
    addr, port = host.rsplit(":", 1)
    statuses: dict[int, int] = defaultdict(int)
    events = ended = received = text = 0
    sel = selectors.DefaultSelector()
    head: dict[ssl.SSLSocket, bytes] = {}  # streams whose headers have not all come yet
    tail: dict[ssl.SSLSocket, bytes] = {}
    bodies: dict[ssl.SSLSocket, _GzipChunks] = {}
    accept = "Accept-Encoding: gzip\r\n" if gzip else ""
    request = f"GET /pscheduler/events HTTP/1.1\r\nHost: {host}\r\n{accept}\r\n".encode()
    for _ in range(count):
        try:
            raw = socket.create_connection((addr, int(port)), timeout=30)
            sock = _CTX.wrap_socket(raw)
            sock.sendall(request)
        except OSError:
            statuses[0] += 1
            continue
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
        head[sock] = b""

    def close(sock: ssl.SSLSocket) -> None:
        sel.unregister(sock)
        sock.close()
        head.pop(sock, None)
        tail.pop(sock, None)
        bodies.pop(sock, None)

    answered_by = time.monotonic() + 60
    while not stop.is_set() and os.getppid() == parent:
        if head and time.monotonic() > answered_by:
            for sock in list(head):
                statuses[0] += 1
                close(sock)
        if not head:
            ready.set()
        for key, _ in sel.select(0.5):
            sock = key.fileobj
            chunks, eof = [], False
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        eof = True
                        break
                    chunks.append(chunk)
                    if not sock.pending():
                        break
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            except OSError:
                eof = True
            data = b"".join(chunks)
            received += len(data)
            if sock in head:
                got = head[sock] + data
                if b"\r\n\r\n" not in got:
                    head[sock] = got
                    continue
                status = int(got.split(b" ", 2)[1])
                statuses[status] += 1
                del head[sock]
                if status != 200:
                    close(sock)
                    continue
                headers, _, data = got.partition(b"\r\n\r\n")
                tail[sock] = b""
                if b"Content-Encoding: gzip" in headers:
                    bodies[sock] = _GzipChunks()
            if sock in bodies:
                data = bodies[sock].feed(data)
            text += len(data)
            if eof:
                ended += 1
                close(sock)
                continue
            previous = tail[sock]
            events += (previous + data).count(b"\ndata:") - previous.count(b"\ndata:")
            tail[sock] = data[-8:]
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    out.put((dict(statuses), events, ended, received, text))
