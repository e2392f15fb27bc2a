"""The archiving tests' node: its sinks listen on loopback, so it allows loopback archives."""

from __future__ import annotations

import pytest

from tests.helpers import ALLOW_LOOPBACK_SINKS, Node


@pytest.fixture(scope="session")
def node(cluster):
    n = Node(cluster.new_database(), env=dict(ALLOW_LOOPBACK_SINKS)).start()
    yield n
    n.cleanup()


@pytest.fixture
def make_node(cluster):
    """Extra nodes that, as ``node``, may archive to loopback sinks."""
    nodes: list[Node] = []

    def make(**kw) -> Node:
        kw["env"] = {**ALLOW_LOOPBACK_SINKS, **(kw.get("env") or {})}
        n = Node(cluster.new_database(), **kw)
        nodes.append(n)
        return n.start()

    yield make
    for n in nodes:
        n.cleanup()
