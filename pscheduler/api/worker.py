"""The API's gunicorn worker: gthread, except that a new connection waits for its first
bytes on the worker's poller instead of in a thread.

gunicorn's gthread hands every accepted connection to a pool thread that waits up to 5 s for
data before deferring it to the poller.  500 clients that connect and say nothing (idle
keep-alive pools, health checkers, port scanners) so held every thread for seconds while
requests queued behind them (issue 14: one GET /api in 40 waited 8 s).  Here a new connection
goes straight to the poller, as a kept-alive one does; a thread is taken only once it is
readable, and one that stays silent for the keep-alive time is closed.

Why not gevent: psycopg2 would need psycogreen and every module (the notification fan-out,
the pool's locks, plugins that run programs) monkey-patched, and a CPU-bound request (task
validation, limits) would stall every connection of its worker instead of sharing the GIL.
Idle sockets were the only thing threads did badly, and this fixes that.  Event streams
were the other: a thread each, all woken for every batch of events.  A request may now take
its connection away from the worker (``environ["pscheduler.detach"]``, used by the event
stream once its preamble is written): the worker then neither ends the response nor closes
or reuses the socket, and the process's stream writer (stream_writer.py) carries it.
Measured with 500 idle connections and 500 streams open (bench/scale.py, a machine at load
~370): gthread let 244 of 500 streams get 503 and 9 of 40 GET /api wait over 1 s (3.8 s
max); this worker served all 500 streams and no GET /api over 131 ms.
"""

from __future__ import annotations

import errno
import selectors
import threading
import time
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

from pscheduler.api import stream_writer
from pscheduler.toolkit import heap

TRIM_PEAK = 64  # connections at once worth giving memory back for when half of them have gone
RETIRE_QUIET = 32  # connections left, all idle, at which a peak is over


class PollingAcceptWorker(ThreadWorker):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._detached: set = set()  # sockets handed over by their request, not yet finished
        self._detached_lock = threading.Lock()
        self._trim = heap.PeakTrim(TRIM_PEAK)
        config = getattr(self.app, "node_config", None)  # serve.py's; none under bare gunicorn
        growth = config.api_retire_growth if config is not None else -1.0
        self._retire = heap.PeakRetire(TRIM_PEAK, RETIRE_QUIET, growth)

    def accept(self, listener) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            # Out of file descriptors (a low LimitNOFILE): hold this many connections at most
            # from now on (run() stops accepting until one closes; clients wait in the listen
            # queue) rather than end the worker.  Anything else unexpected still raises.
            if e.errno in (errno.EMFILE, errno.ENFILE):
                self.worker_connections = max(1, self.nr_conns)
                self.log.warning("%s: holding at most %d connections", e, self.nr_conns)
            elif e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking
        # Same timeout as deferred connections, so pending_conns stays ordered by deadline.
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(
            client_sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )

    def murder_pending(self) -> None:
        """Close silent new connections (gunicorn), then, once a peak of connections is half
        gone, give the heap they freed back: at the end of bench/scale.py, after its 500 idle
        clients had left, a trim took 3 MB off each API worker.  Once it is over, retire if
        the peak left the worker bigger (heap.PeakRetire): gunicorn's master forks a fresh
        one, as for its own ``max_requests``."""
        super().murder_pending()
        self._trim.count(self.nr_conns)
        streams = stream_writer.held()
        # Not while a request is under way or awaited on a new connection: that one could be
        # a stream, cut when the worker exits.  Kept-alive ones are told to reconnect.
        busy = streams + self.nr_conns - len(self.keepalived_conns)
        if self.alive and self._retire.count(self.nr_conns + streams, busy):
            self.log.warning(
                "Worker %s hands over to a fresh one: %s", self.pid, self._retire.reason
            )
            self.alive = False

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app = self.wsgi

        def with_detach(environ, start_response):
            environ["pscheduler.detach"] = partial(self._detach, start_response.__self__)
            return app(environ, start_response)

        self.wsgi = with_detach

    def _detach(self, resp) -> tuple[object, bool]:
        """Give the response's socket to the caller (in the request's thread, once the
        headers and everything written so far are out): gunicorn writes no closing chunk,
        keeps no connection for another request, and ``finish_request`` does not close it.
        Returns the socket and whether the response is chunked."""
        chunked = resp.chunked
        resp.chunked = False
        resp.force_close()
        with self._detached_lock:
            self._detached.add(resp.sock)
        return resp.sock, chunked

    def finish_request(self, conn, fs) -> None:
        with self._detached_lock:
            detached = conn.sock in self._detached
            self._detached.discard(conn.sock)
        if detached:
            self.nr_conns -= 1  # no longer this worker's connection
            return
        held = self.nr_conns
        super().finish_request(conn, fs)
        # gunicorn counts a connection out twice when closing it raises (a TLS client that
        # left during its handshake: its socket is closed already).  80 such clients took the
        # count to -80, and with it the bound on connections and the end of a peak.
        self.nr_conns = max(self.nr_conns, held - 1)
