"""Two or three real nodes on 127.0.0.2, 127.0.0.3 (127.0.0.4), each with its own database."""

from __future__ import annotations

import concurrent.futures

import pytest

from tests.helpers import Node

# Queued requests to other nodes are retried after this many seconds (production: 15).
ENV = {"PSCHEDULER_HTTP_QUEUE_RETRY": "0.5"}


@pytest.fixture(scope="session")
def mesh(cluster):
    """Nodes A, B and C shared by the multi-node tests (each test makes its own tasks; a
    test that stops a node starts it again)."""
    made = [
        Node(cluster.new_database(), host=h, env=dict(ENV))
        for h in ("127.0.0.2", "127.0.0.3", "127.0.0.4")
    ]
    started = []
    try:
        with concurrent.futures.ThreadPoolExecutor(len(made)) as pool:
            started = list(pool.map(lambda n: n.start(), made))
        yield started
    finally:
        with concurrent.futures.ThreadPoolExecutor(len(made)) as pool:
            list(pool.map(lambda n: n.cleanup(), made))


@pytest.fixture(scope="session")
def nodes(mesh):
    """A and B."""
    return mesh[:2]
