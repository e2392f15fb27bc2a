"""Load for the scale bench: an open-loop request mix, idle connections, event-stream clients.

Each runs in a process of its own (multiprocessing) so that neither the stream readers nor
the idle sockets share a GIL with the clients whose latency is measured.  Every wait is
bounded: a phase ends at its deadline whatever the server does.
"""

from __future__ import annotations

import http.client
import queue
import selectors
import socket
import ssl
import threading
import time
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


def stream_clients(host: str, count: int, stop, ready, out) -> None:
    """Hold ``count`` GET /pscheduler/events streams open and read them until ``stop``.
    Sets ``ready`` once every stream has answered.  Puts (status counts, events read,
    streams ended early) on ``out``."""
    statuses: dict[int, int] = defaultdict(int)
    counts = {"events": 0, "ended": 0}
    answered = threading.Semaphore(0)
    lock = threading.Lock()

    open_socks: list[socket.socket] = []

    def read() -> None:
        conn = _connection(host, 30)
        try:
            conn.request("GET", "/pscheduler/events", headers={"Accept": "text/event-stream"})
            response = conn.getresponse()
        except Exception:  # noqa: BLE001 - no answer counts as status 0
            with lock:
                statuses[0] += 1
            answered.release()
            return
        with lock:
            statuses[response.status] += 1
            open_socks.append(conn.sock)
        answered.release()
        if response.status != 200:
            conn.close()
            return
        conn.sock.settimeout(None)  # blocking: the end of the phase shuts the socket down
        # Read in large pieces and count the events in the raw bytes: a readline per SSE line
        # kept this process busier than the server it measured (500 streams, ~30k events/s).
        tail = b""
        while True:
            try:
                chunk = response.fp.read1(65536)
            except Exception:  # noqa: BLE001
                chunk = b""
            if not chunk:
                if not stop.is_set():
                    with lock:
                        counts["ended"] += 1
                break
            seen = (tail + chunk).count(b"\ndata:") - tail.count(b"\ndata:")
            tail = chunk[-8:]
            if seen:
                with lock:
                    counts["events"] += seen
        conn.close()

    threads = [threading.Thread(target=read, daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    for _ in range(count):
        if not answered.acquire(timeout=max(0.0, deadline - time.monotonic())):
            break
    ready.set()
    stop.wait(3600)
    with lock:
        for sock in open_socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    for t in threads:
        t.join(3)
    with lock:
        out.put((dict(statuses), counts["events"], counts["ended"]))
