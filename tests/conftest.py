"""Fixtures that start real nodes (PostgreSQL, API over HTTPS on loopback, daemons)."""

from __future__ import annotations

import pytest

from tests.helpers import Cluster, Node


@pytest.fixture(scope="session")
def cluster():
    c = Cluster()
    yield c
    c.close()


@pytest.fixture(scope="session")
def node(cluster):
    """A node shared by the tests that only read or create their own tasks."""
    n = Node(cluster.new_database()).start()
    yield n
    n.cleanup()


@pytest.fixture
def make_node(cluster):
    """Start extra nodes (own database each): ``make_node(host="127.0.0.2")``."""
    nodes: list[Node] = []

    def make(**kw) -> Node:
        n = Node(cluster.new_database(), **kw)
        nodes.append(n)
        return n.start()

    yield make
    for n in nodes:
        n.cleanup()
