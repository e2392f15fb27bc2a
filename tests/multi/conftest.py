"""Two or three real nodes on 127.0.0.2, 127.0.0.3 (127.0.0.4), each with its own database."""

from __future__ import annotations

import pytest

from tests.helpers import Node

# Queued requests to other nodes are retried after this many seconds (production: 15).
ENV = {"PSCHEDULER_HTTP_QUEUE_RETRY": "0.5"}


def _start(cluster, host: str) -> Node:
    return Node(cluster.new_database(), host=host, env=dict(ENV)).start()


@pytest.fixture(scope="module")
def nodes(cluster):
    """Nodes A and B shared by a module's tests (each test makes its own tasks)."""
    started = [_start(cluster, "127.0.0.2"), _start(cluster, "127.0.0.3")]
    yield started
    for n in started:
        n.cleanup()


@pytest.fixture
def fresh_pair(make_node):
    """Nodes A and B for a test that stops or restarts one of them."""
    return [make_node(host=h, env=dict(ENV)) for h in ("127.0.0.2", "127.0.0.3")]
