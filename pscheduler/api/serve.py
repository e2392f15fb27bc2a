"""Runs the API under gunicorn (threaded workers, TLS unless disabled)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import signal
import sys
import threading

from gunicorn.app.base import BaseApplication

from pscheduler.api import stream_writer
from pscheduler.config import Config
from pscheduler.events import log as events
from pscheduler.toolkit import heap

log = logging.getLogger(__name__)


def _post_worker_init(worker) -> None:
    """On SIGTERM also end this worker's event streams, or they hold the stop for its
    whole graceful timeout.  The work runs in a thread: locks are not for signal handlers."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        threading.Thread(target=events.shutdown, daemon=True).start()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
    # A request thread back from the database waits for the GIL while the stream writer
    # renders a burst: up to the switch interval each time, several times a request.  1 ms
    # instead of 5: in bench/streams.py's bursts the worst 10 s window's p99 went from
    # 81-142 ms to 73-98 ms, and the slowest requests from 259-323 ms to 101-229 ms.
    sys.setswitchinterval(0.001)


_tls_contexts: dict[tuple, object] = {}


def _ssl_context(conf, default_ssl_context_factory):
    """One server TLS context per worker, not one per connection: gunicorn's default builds a
    context for every connection it accepts and loads the system CA store into it (~6 ms of
    CPU, more than most requests cost; a mesh peer or a browser opens many).  Keyed by the
    files, so a restart of the workers with new ones takes effect."""
    key = (conf.certfile, conf.keyfile, conf.ca_certs, conf.ciphers)
    context = _tls_contexts.get(key)
    if context is None:
        context = _tls_contexts[key] = default_ssl_context_factory()
    return context


def _worker_exit(server, worker) -> None:
    """A stopping worker's loop waits only for the connections it still holds: streams
    handed to the writer are ended here, each with its last chunk, before the process goes."""
    events.shutdown()
    stream_writer.drain(2.0)


def _child_exit(server, worker) -> None:
    """In the master, once a worker is gone (no longer in ``server.WORKERS``): its request
    counts join those of earlier ones.  Nothing here may stop the master (an unreadable file
    is left as it is)."""
    from pscheduler.node.metrics import fold_gone_workers

    try:
        fold_gone_workers(server.WORKERS)
    except Exception:
        server.log.exception("Could not fold the request metrics of worker %s", worker.pid)


def _pre_fork(server, worker) -> None:
    """The master's objects (the whole API package is imported before the fork) move to the
    collector's permanent generation: a worker's collections no longer write to their headers,
    which copied every page holding one into the worker (its PSS grew by a quarter at its
    first full collection without allocating anything)."""
    gc.freeze()


def _post_fork(server, worker) -> None:
    """A worker whose master dies (``kill -9``) stops at once: left running it would hold the
    listening socket and the restarted master could not bind it for seconds."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != server.pid:  # the master died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
    heap.limit_arenas(2)


class _Gunicorn(BaseApplication):
    def __init__(self, config: Config):
        self.node_config = config
        super().__init__()

    def load_config(self) -> None:
        c = self.node_config
        settings = {
            "bind": c.listen if not c.listen.startswith("[") else c.listen,
            "workers": c.api_workers,
            # gthread whose new connections wait on the poller, not in a thread (worker.py).
            "worker_class": "pscheduler.api.worker.PollingAcceptWorker",
            # An event stream holds a thread only while it replays what its client missed
            # (then the stream writer carries it; pscheduler/api/events.py caps streams).
            "threads": 64,
            # Connections a worker holds before it stops accepting: idle and kept-alive ones
            # cost a poller entry each (streams are not counted once handed over).
            "worker_connections": 4096,
            "timeout": 120,
            "graceful_timeout": 5,
            # An idle kept-alive connection costs a poller entry (worker.py), a TLS handshake
            # costs milliseconds of CPU: with 500 idle clients a 5 s keep-alive made the node
            # redo ~100 handshakes a second (bench/scale.py).  30 s, as browsers expect.
            "keepalive": 30,
            "accesslog": "-" if c.debug else None,
            "errorlog": "-",
            "loglevel": "debug" if c.debug else "warning",
            "proc_name": "pscheduler-api",
            "pre_fork": _pre_fork,
            "post_fork": _post_fork,
            "post_worker_init": _post_worker_init,
            "worker_exit": _worker_exit,
            "child_exit": _child_exit,
        }
        if c.tls:
            settings["certfile"] = c.cert
            settings["keyfile"] = c.key
            settings["ssl_context"] = _ssl_context
        for key, value in settings.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self):
        # In the worker, after serve() prepared the metrics directory (see create_app).
        from pscheduler.api import create_app

        return create_app(self.node_config)


def serve(config: Config) -> int:
    # Late: prometheus_client must not be imported before the directory is ready.
    from pscheduler.node.metrics import prepare_multiprocess_dir

    prepare_multiprocess_dir(config.state_dir)  # before any worker imports prometheus_client
    _Gunicorn(config).run()
    return 0
