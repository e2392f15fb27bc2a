"""Prometheus metrics for ``/pscheduler/metrics``.

Almost everything is computed from the database at scrape time (runs by state, heartbeats,
backlogs, start lateness, placement latency), so any API worker answers the same and nothing
is lost when a process dies.  The one in-process measurement, the API request latency
histogram, uses prometheus_client's multiprocess mode: ``prepare_multiprocess_dir`` (called
by the API server before gunicorn forks) points ``PROMETHEUS_MULTIPROC_DIR`` at
``<state dir>/prometheus`` and empties it, so every worker writes its own file and any worker
sums them all.  When a worker exits (a hand-over after a peak, a restart), the master folds
its file into one kept for every worker gone (``fold_gone_workers``), so the counts survive and
the directory does not grow with each worker the node ever had.  A process that was not
prepared (an app built in a test) keeps the histogram in memory, for itself only.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import logging
import os
import shutil
import threading
import time
from collections.abc import Collection
from pathlib import Path

from pscheduler.db import Database, DatabaseUnavailable, Reads
from pscheduler.logs import Throttle
from pscheduler.node import storage

log = logging.getLogger(__name__)

# prometheus_client is imported inside the functions below, never at the top: it must not be
# loaded before ``prepare_multiprocess_dir`` ran (see the module docstring).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
RECENT_WINDOW = "PT1H"
QUANTILES = ("0.5", "0.9", "0.99")
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
GONE_FILE = "histogram_gone.db"  # the counts of every worker that exited, summed
LOCK_FILE = ".lock"  # held shared by a scrape, exclusive by a fold

_histogram = None
_paused_until = 0.0
_throttle = Throttle(60.0)


class _ReservedFile:
    """A metrics file whose growth takes real blocks at once.

    prometheus_client grows its multiprocess files with ``truncate`` (a sparse file) and then
    writes through ``mmap``: on a full file system that write kills the process with SIGBUS.
    ``posix_fallocate`` first turns it into an ``OSError`` (ENOSPC) the caller can handle.
    """

    def __init__(self, raw):
        self._raw = raw

    def truncate(self, size: int) -> int:
        os.posix_fallocate(self._raw.fileno(), 0, size)
        return self._raw.truncate(size)

    def __getattr__(self, name: str):
        return getattr(self._raw, name)


def _reserving_open(file, mode="r", *args, **kwargs):
    raw = builtins.open(file, mode, *args, **kwargs)
    return _ReservedFile(raw) if "b" in mode and mode != "rb" else raw


def _reserve_metric_files() -> None:
    """Make prometheus_client's multiprocess files allocate before they map (see above)."""
    from prometheus_client import mmap_dict

    mmap_dict.open = _reserving_open  # the module's own name lookup finds this first


def prepare_multiprocess_dir(state_dir: str) -> str:
    """Makes an empty metrics directory for this API server and exports its path.

    Must run before prometheus_client is imported in this process or its workers: the
    library picks its storage when it is first imported.
    """
    path = os.environ.get(MULTIPROC_ENV) or str(Path(state_dir) / "prometheus")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)  # the workers' files under it are then private whatever their mode
    # Made now: on a full disk later, a scrape still opens it (O_CREAT of an existing file).
    os.close(os.open(os.path.join(path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600))
    os.environ[MULTIPROC_ENV] = path
    return path


FOLD_WAIT = 0.5  # seconds a fold waits for the scrapes under way before it leaves it for later


@contextlib.contextmanager
def _directory_lock(path: str, exclusive: bool):
    """A scrape reads every file of the directory; a fold replaces one and removes others.
    The lock keeps a scrape from seeing a worker's counts twice (or not at all), which a
    Prometheus server would take for a counter reset, or a file vanish under its read.

    A fold, in gunicorn's master, waits at most ``FOLD_WAIT`` (``BlockingIOError``): a worker
    stuck in a scrape must not stop the master that would kill it."""
    fd = os.open(os.path.join(path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not exclusive:
            fcntl.flock(fd, fcntl.LOCK_SH)
        else:
            deadline = time.monotonic() + FOLD_WAIT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.01)
        yield
    finally:
        os.close(fd)


def _worker_files(path: str) -> dict[int, str]:
    """The per-process files of the directory, by pid."""
    files = {}
    for name in os.listdir(path):
        stem, _, pid = name.removesuffix(".db").rpartition("_")
        if stem == "histogram" and name.endswith(".db") and pid.isdigit():
            files[int(pid)] = os.path.join(path, name)
    return files


def fold_gone_workers(alive: Collection[int]) -> None:
    """Adds the request counts of every process not ``alive`` to ``GONE_FILE`` and removes
    their own files.

    Run by gunicorn's master when a worker exits (``child_exit``).  On any error (a full disk,
    a scrape that holds the directory) the files stay where they are, still counted by every
    scrape, and the next fold takes them.
    """
    path = os.environ.get(MULTIPROC_ENV)
    if not path or not os.path.isdir(path):
        return
    dead = [name for pid, name in _worker_files(path).items() if pid not in alive]
    if not dead:
        return
    from prometheus_client.mmap_dict import MmapedDict

    _reserve_metric_files()  # a full disk is then an OSError here, not a SIGBUS of the master
    gone = os.path.join(path, GONE_FILE)
    fresh = os.path.join(path, GONE_FILE + ".new")  # not *.db: no scrape reads it
    try:
        with _directory_lock(path, exclusive=True):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(fresh)  # left by a fold cut short: MmapedDict would add to it
            totals: dict[str, float] = {}
            for name in [gone, *dead] if os.path.exists(gone) else dead:
                for key, value, _, _ in MmapedDict.read_all_values_from_file(name):
                    totals[key] = totals.get(key, 0.0) + value
            merged = MmapedDict(fresh)
            try:
                for key, value in totals.items():
                    merged.write_value(key, value, 0.0)
            finally:
                merged.close()
            os.replace(fresh, gone)
            for name in dead:
                os.unlink(name)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(fresh)
        log.error("Request metrics of %d exited workers left for a later fold: %s", len(dead), exc)


def _multiprocess() -> bool:
    path = os.environ.get(MULTIPROC_ENV)
    return bool(path) and os.path.isdir(path)


def request_histogram():
    """The API request latency histogram of this process (created on first use)."""
    global _histogram
    if _histogram is None:
        from prometheus_client import CollectorRegistry, Histogram

        if _multiprocess():
            _reserve_metric_files()

        _histogram = Histogram(
            "pscheduler_api_request_duration_seconds",
            "Time the API took to answer a request, by method, route and status",
            ("method", "route", "status"),
            buckets=REQUEST_BUCKETS,
            registry=CollectorRegistry(),  # never the global one: scrapes build their own
        )
    return _histogram


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one request; on a full disk the sample is dropped (and timing paused a minute)
    rather than failing the request."""
    global _paused_until
    if time.monotonic() < _paused_until:
        return
    try:
        request_histogram().labels(method, route, str(status)).observe(seconds)
    except OSError as exc:
        _paused_until = time.monotonic() + 60.0
        _throttle.log(log, logging.ERROR, "observe", "Request metrics paused a minute: %s", exc)


class _Workers:
    """Offers every API worker's histogram, those alive and those gone, to a scrape registry
    (multiprocess mode)."""

    def __init__(self, path: str):
        self.path = path

    def collect(self):
        from prometheus_client import multiprocess

        with _directory_lock(self.path, exclusive=False):
            return list(multiprocess.MultiProcessCollector(None, self.path).collect())


class _Local:
    """Offers this process's histogram to a scrape registry (non-multiprocess mode)."""

    def collect(self):
        return request_histogram().collect()


# A scrape is made at most once a second per API process, and concurrent scrapes share it: the
# dozen state queries were the dearest request of the API (~9 ms of PostgreSQL CPU at 1M runs),
# and merging the workers' request histograms and formatting them cost another 8-15 ms of the
# API's CPU (prometheus_client's multiprocess collector, in Python), ~22% of the API's time in
# bench/scale.py's request mix.  A dashboard or several monitors may scrape many times a second;
# figures up to a second old are what a scraper every 15 s sees anyway.
SCRAPE_TTL = 1.0
_scrape: tuple[float, bytes] | None = None
_scrape_lock = threading.Lock()


class DatabaseCollector:
    """The node's state, read from PostgreSQL."""

    def __init__(self, db: Database):
        self.db = db

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("pscheduler_database_up", "1 if the database answered this scrape")
        families: list | None = None
        try:
            with self.db.reading() as db:
                families = list(self._families(db, GaugeMetricFamily))
        except DatabaseUnavailable as exc:
            log.warning("Metrics without the database: %s", exc)
        up.add_metric([], 0 if families is None else 1)
        yield up
        yield from families or []

    def _families(self, db: Reads, Gauge):  # noqa: N803 - a class passed in
        runs = Gauge("pscheduler_runs", "Runs in the database, by state", labels=["state"])
        for row in db.all("metrics_runs_by_state"):
            runs.add_metric([row["state"]], row["count"])
        yield runs

        tasks = Gauge("pscheduler_tasks", "Tasks in the database", labels=["enabled"])
        row = db.one("metrics_tasks")
        tasks.add_metric(["true"], row["enabled"])
        tasks.add_metric(["false"], row["disabled"])
        yield tasks

        paused = Gauge("pscheduler_runs_paused", "1 while the node's runs are paused")
        row = db.one("metrics_paused")
        paused.add_metric([], 1 if row and row["paused"] else 0)
        yield paused

        age = Gauge(
            "pscheduler_daemon_heartbeat_age_seconds",
            "Seconds since each daemon last beat",
            labels=["daemon"],
        )
        overdue = Gauge(
            "pscheduler_daemon_heartbeat_overdue_seconds",
            "Seconds a daemon's next heartbeat is late (0 when on time)",
            labels=["daemon"],
        )
        for row in db.all("metrics_heartbeats"):
            age.add_metric([row["name"]], row["age"])
            overdue.add_metric([row["name"]], max(0.0, row["overdue"]))
        yield age
        yield overdue

        yield from self._window(
            db,
            "metrics_start_lateness",
            "pscheduler_runner_start_lateness_seconds",
            "How late the runner started runs (started - scheduled start), "
            f"the latest 1000 runs started in the last {RECENT_WINDOW}; quantile 1 is the maximum",
            Gauge,
        )
        yield from self._window(
            db,
            "metrics_placement_latency",
            "pscheduler_scheduler_placement_latency_seconds",
            "Time from a task's creation to the placement of its first run, "
            f"the latest 1000 tasks added in the last {RECENT_WINDOW}; quantile 1 is the maximum",
            Gauge,
        )

        row = db.one("metrics_archiving_backlog")
        g = Gauge("pscheduler_archiving_backlog", "Archivings due and not yet done")
        g.add_metric([], row["backlog"])
        yield g
        g = Gauge("pscheduler_archiving_upcoming", "Archivings waiting for a later attempt")
        g.add_metric([], row["upcoming"])
        yield g
        row = db.one("metrics_http_queue_backlog")
        g = Gauge("pscheduler_http_queue_backlog", "Queued HTTP requests never attempted")
        g.add_metric([], row["backlog"])
        yield g
        g = Gauge("pscheduler_http_queue_length", "Queued HTTP requests")
        g.add_metric([], row["length"])
        yield g

    def _window(self, db: Reads, query: str, name: str, doc: str, Gauge):  # noqa: N803
        row = db.one(query, {"window": RECENT_WINDOW})
        g = Gauge(name, doc, labels=["quantile"])
        count = Gauge(name.removesuffix("_seconds") + "_window_count", "Samples behind " + name)
        count.add_metric([], row["count"])
        if row["count"]:
            for q, value in zip(QUANTILES, row["quantiles"], strict=True):
                g.add_metric([q], value)
            g.add_metric(["1"], row["max"])
        yield g
        yield count


class StorageCollector:
    """Free space of the state dir's file system (needs no database: a full disk is one
    reason the database stops)."""

    def __init__(self, state_dir: str):
        self.state_dir = state_dir

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        free = storage.free_bytes(self.state_dir)
        if free is None:
            return
        g = GaugeMetricFamily(
            "pscheduler_state_dir_free_bytes",
            "Bytes still free on the file system holding the state dir",
        )
        g.add_metric([], free)
        yield g


def exposition(db: Database, state_dir: str | None = None) -> tuple[bytes, str]:
    """The metrics text (at most ``SCRAPE_TTL`` old) and its content type."""
    global _scrape
    from prometheus_client import CONTENT_TYPE_LATEST

    with _scrape_lock:
        if _scrape is None or time.monotonic() - _scrape[0] >= SCRAPE_TTL:
            _scrape = (time.monotonic(), _generate(db, state_dir))
        return _scrape[1], CONTENT_TYPE_LATEST


def _generate(db: Database, state_dir: str | None) -> bytes:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    if state_dir:
        registry.register(StorageCollector(state_dir))
    if _multiprocess():
        registry.register(_Workers(os.environ[MULTIPROC_ENV]))
    else:
        registry.register(_Local())
    registry.register(DatabaseCollector(db))
    return generate_latest(registry)
