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
Idle sockets were the only thing threads did badly, and this fixes that; an event stream
still holds a thread (blocked, no CPU, ~100 kB), so pscheduler/api/events.py allows 512.
Measured with 500 idle connections and 500 streams open (bench/scale.py, a machine at load
~370): gthread let 244 of 500 streams get 503 and 9 of 40 GET /api wait over 1 s (3.8 s
max); this worker served all 500 streams and no GET /api over 131 ms.
"""

from __future__ import annotations

import errno
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker


class PollingAcceptWorker(ThreadWorker):
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
