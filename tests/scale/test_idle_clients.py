"""Idle connections hold no API thread (issue 14).

gunicorn's gthread gave every new connection a thread that waited up to 5 s for its first
bytes, so a crowd of silent clients held every thread and requests queued behind them for
seconds.  The API's worker (pscheduler/api/worker.py) parks silent connections on its poller.
"""

from __future__ import annotations

import contextlib
import socket
import time

import pytest
import requests

from tests.helpers import Node

IDLE = 700  # more than a worker's threads (64)
GTHREAD_WAIT = 5.0  # what a request waited behind idle sockets before


@pytest.fixture(scope="module")
def node(cluster):
    n = Node(cluster.new_database("idle")).start()
    yield n
    n.cleanup()


def test_requests_are_served_at_once_with_hundreds_of_idle_connections(node):
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE):
            idle.append(socket.create_connection((node.host, node.port), timeout=10))
        slowest = 0.0
        for _ in range(5):
            # A new connection each time: accepted after the idle ones (the listen queue is
            # first in, first out), as a new client would be.
            fresh = requests.Session()
            fresh.verify, fresh.trust_env = False, False
            began = time.perf_counter()
            answer = fresh.get(node.url("api"), timeout=30)
            fresh.close()
            slowest = max(slowest, time.perf_counter() - began)
            assert answer.status_code == 200
        assert slowest < GTHREAD_WAIT / 2, f"GET /api took {slowest:.1f} s behind idle sockets"
    finally:
        for s in idle:
            with contextlib.suppress(OSError):
                s.close()
