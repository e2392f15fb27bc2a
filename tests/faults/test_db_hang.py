"""A hung database (the node's own PostgreSQL stopped with SIGSTOP): the API answers 503
within 5 s — on pooled connections and new ones alike — and 200 again within 5 s of the
database going on (SIGCONT)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
import requests

from tests.helpers import Node, wait_for

LIMIT = 5.0  # seconds: never longer without an answer, and back within this


@pytest.fixture(scope="module")
def own_pg_node():
    """A node with its own embedded PostgreSQL (never the shared test cluster's)."""
    node = Node(None).start(timeout=180)
    yield node
    node.cleanup()


def _postmaster(node) -> int:
    """The postmaster of the node's own cluster (checked to be that cluster's)."""
    pgdata = Path(node.state_dir) / "pgdata"
    postmaster = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    cmdline = Path(f"/proc/{postmaster}/cmdline").read_bytes().replace(b"\0", b" ")
    assert str(pgdata).encode() in cmdline, "the pid file names another process"
    return postmaster


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def _stop_node_postgres(node) -> list[int]:
    """SIGSTOP the node's postmaster, then (it can fork no more) its backends and helpers."""
    postmaster = _postmaster(node)
    os.kill(postmaster, signal.SIGSTOP)
    stopped = [postmaster]
    for pid in _children(postmaster):
        with contextlib.suppress(ProcessLookupError):  # a backend that just ended
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
    assert len(stopped) > 1, "no backend of the node's PostgreSQL found"
    return stopped


def _probe(node) -> tuple[int | str, float, str]:
    """One API request that needs the database: its status (or error), how long it took and
    what it said."""
    start = time.monotonic()
    try:
        response = node.get("tasks", timeout=3 * LIMIT)
        status: int | str = response.status_code
        said = response.text
    except requests.RequestException as exc:
        status, said = type(exc).__name__, str(exc)
    return status, time.monotonic() - start, said


def test_hung_database_gives_503_fast_and_recovers(own_pg_node):
    node = own_pg_node
    for _ in range(4):  # pooled connections in both workers
        assert _probe(node)[0] == 200
    stopped = _stop_node_postgres(node)
    try:
        probes = [_probe(node) for _ in range(4)]
    finally:
        for pid in reversed(stopped):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    resumed = time.monotonic()
    for status, took, said in probes:
        assert status == 503 and took < LIMIT, probes
        assert "database did not answer in time" in said or "database cannot be" in said, said
    wait_for(lambda: _probe(node)[0] == 200, timeout=3 * LIMIT, interval=0.1, what="200 again")
    assert time.monotonic() - resumed < LIMIT
