"""One thread per API process writes every event stream, on non-blocking sockets.

A stream used to hold a request thread for its whole life, blocked in its subscription and
woken for each batch of events.  With 500 streams that is 500 threads waking several times a
second to write a few kilobytes each: an API worker spent a core on context switches and
hand-offs of the GIL (27,000 switches a second, 40% of it in the kernel; bench/streams.py),
and the requests of that worker queued behind them.  Here, once a stream's request has sent
its headers, replay and ``ready`` event, the request thread gives the socket to the
process's writer and returns.  The writer wakes once per batch of events, renders each
stream's share (streams that take everything share one rendering), and sends it without
blocking; a client that cannot keep up is buffered up to ``BUFFER_MAX`` and then gets its
subscription's overflow (a ``reset`` event, as before).  Keep-alive comments and departed
clients are handled on the same loop.

The server side of the hand-off (gunicorn's worker forgetting the socket) is in
``worker.py``; this module knows only a socket, whether the response is chunked, and the
stream's subscription.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pscheduler.events.log import Event, Subscription
from pscheduler.toolkit import heap

log = logging.getLogger(__name__)

# Rendered bytes a stream may have waiting for its client before it stops taking events from
# its subscription (whose own bound, QUEUE_MAX, then ends the stream with a reset).
BUFFER_MAX = 64 * 1024
SEND_MAX = 64 * 1024  # bytes handed to one send(): a TLS write of this much is ~100 µs
CLOSE_GRACE = 5.0  # seconds a closing stream may take to flush its last words
TRIM_PEAK = 32  # streams at once worth giving memory back for when half of them have gone


@dataclass(eq=False)
class Stream:
    """A detached stream: the socket, how to frame, what to send, and who to tell at the end.

    ``render(batch, resume)`` turns events taken from ``sub`` into the bytes to send;
    ``farewell(sub)`` gives the last words when the subscription ends (or None), ``trailer()``
    what ends the body (gzip's trailer) and ``comment()`` a keep-alive; ``on_close`` releases
    whatever the stream held (its slot, its subscription)."""

    sock: socket.socket
    chunked: bool
    sub: Subscription
    render: Callable[[list[Event], int], bytes]
    farewell: Callable[[Subscription], bytes | None]
    on_close: Callable[[], None]
    keepalive: float
    comment: Callable[[], bytes] = lambda: b": keepalive\n\n"
    trailer: Callable[[], bytes] = lambda: b""
    fd: int = -1
    out: bytearray = field(default_factory=bytearray)
    last_write: float = field(default_factory=time.monotonic)
    closing_since: float | None = None
    writable_wait: bool = False


def _append(out: bytearray, data: bytes, chunked: bool) -> None:
    """Add ``data`` to what a stream has to send, framed as a chunk if the response is
    chunked (without first copying it into a chunk of its own: it is 250 streams' data)."""
    if not data:
        return  # an empty chunk would end the response
    if chunked:
        out += b"%X\r\n" % len(data)
    out += data
    if chunked:
        out += b"\r\n"


class Writer:
    """The process's stream writer; ``add`` may be called from any thread."""

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._new: queue.SimpleQueue[Stream] = queue.SimpleQueue()
        self._streams: dict[int, Stream] = {}
        self._more = False  # a stream has events its buffer had no room for
        self._trim = heap.PeakTrim(TRIM_PEAK)
        self._signalled = threading.Event()
        self.emptied = threading.Event()  # set while it holds no stream (see ``drain``)
        self.emptied.set()
        self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ any thread

    def add(self, stream: Stream) -> None:
        stream.fd = stream.sock.fileno()
        stream.sock.setblocking(False)
        stream.sub.waker = self.wake
        self._new.put(stream)
        self.emptied.clear()  # after the put: a close meanwhile sees the stream queued
        self.wake()

    def held(self) -> int:
        """Streams carried or about to be."""
        return len(self._streams) + self._new.qsize()

    def wake(self) -> None:
        """Something to send (called by the hub once per stream that got events)."""
        if not self._signalled.is_set():
            self._signalled.set()
            with contextlib.suppress(BlockingIOError, OSError):
                self._wake_w.send(b"\0")

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        while True:
            try:
                self._loop_once()
            except Exception:  # noqa: BLE001 - the writer must outlive any one stream's fault
                log.exception("Event stream writer: unexpected error; continuing")
                time.sleep(0.1)

    def _loop_once(self) -> None:
        for key, mask in self._sel.select(self._timeout()):
            if key.data is None:
                with contextlib.suppress(BlockingIOError, OSError):
                    while self._wake_r.recv(4096):
                        pass
                continue
            stream: Stream = key.data
            if mask & selectors.EVENT_READ:
                self._read(stream)
            if mask & selectors.EVENT_WRITE and stream.fd in self._streams:
                self._flush(stream)
        self._signalled.clear()  # from here on a wake() means another pass
        while True:
            try:
                stream = self._new.get_nowait()
            except queue.Empty:
                break
            self._streams[stream.fd] = stream
            self._trim.count(len(self._streams))
            self._sel.register(stream.sock, selectors.EVENT_READ, stream)
        now = time.monotonic()
        self._more = False
        for stream in list(self._streams.values()):
            self._fill(stream, now)
            if stream.out and not stream.writable_wait:
                self._flush(stream)
            # Events left in the subscription (the buffer was full) and a socket that took
            # everything: go round again at once, there will be no wake-up for them.
            if stream.sub.queue and not stream.writable_wait and stream.closing_since is None:
                self._more = True
            if stream.closing_since is not None and (
                not stream.out or now - stream.closing_since > CLOSE_GRACE
            ):
                self._close(stream)

    def _timeout(self) -> float:
        if self._more:
            return 0.0
        if not self._streams:
            return 5.0
        now = time.monotonic()
        due = min(s.last_write + s.keepalive for s in self._streams.values())
        return min(1.0, max(0.0, due - now))

    def _fill(self, stream: Stream, now: float) -> None:
        """Move what the subscription holds into the stream's buffer, within its bound."""
        if stream.closing_since is not None:
            return
        sub = stream.sub
        while len(stream.out) < BUFFER_MAX and (sub.queue or sub.overflowed or sub.closed):
            batch, resume = sub.take(0)
            if sub.overflowed or sub.closed:
                last = (stream.farewell(sub) or b"") + stream.trailer()
                _append(stream.out, last, stream.chunked)
                if stream.chunked:
                    stream.out += b"0\r\n\r\n"
                stream.closing_since = now
                return
            if not batch:
                break
            _append(stream.out, stream.render(batch, resume), stream.chunked)
        if not stream.out and now - stream.last_write >= stream.keepalive:
            _append(stream.out, stream.comment(), stream.chunked)

    def _flush(self, stream: Stream) -> None:
        sock = stream.sock
        try:
            while stream.out:
                # Without SSL_MODE_ENABLE_PARTIAL_WRITE a TLS send is all or nothing, and a
                # retry after "want write" must offer the same bytes again: it does (the
                # buffer's head only moves by what was sent).
                sent = sock.send(memoryview(stream.out)[:SEND_MAX])
                del stream.out[:sent]
                stream.last_write = time.monotonic()
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            pass
        except OSError:
            self._close(stream)
            return
        want_write = bool(stream.out)
        if want_write != stream.writable_wait:
            stream.writable_wait = want_write
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if want_write else 0)
            self._sel.modify(sock, events, stream)

    def _read(self, stream: Stream) -> None:
        """A stream's client sends nothing after its request: readable means it left (or
        sent something to ignore)."""
        try:
            data = stream.sock.recv(4096)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(stream)

    def _close(self, stream: Stream) -> None:
        if self._streams.pop(stream.fd, None) is None:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._sel.unregister(stream.sock)
        with contextlib.suppress(OSError):
            stream.sock.close()
        try:
            stream.on_close()
        except Exception:  # noqa: BLE001
            log.exception("Event stream writer: releasing a stream failed")
        self._trim.count(len(self._streams))  # half gone since the most: memory back
        if not self._streams and self._new.empty():
            self.emptied.set()


_writer: Writer | None = None
_writer_lock = threading.Lock()


def drain(timeout: float) -> None:
    """Wait (at most ``timeout``) until every stream is closed, its last words sent: for a
    stopping worker, whose own loop waits only for the connections it still has."""
    if _writer is not None:
        _writer.wake()
        _writer.emptied.wait(timeout)


def held() -> int:
    """Streams this process's writer carries (none before its first)."""
    w = _writer
    return 0 if w is None else w.held()


def writer() -> Writer:
    """This process's writer, started on first use (after gunicorn forked the worker)."""
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = Writer()
        return _writer
