"""Fixtures of the security tests: a node whose archives may reach loopback sinks (as an
operator with a local Logstash allows), and clients from addresses that are not the host's."""

from __future__ import annotations

import pytest

from tests.helpers import ALLOW_LOOPBACK_SINKS, Node, admin_token
from tests.interfaces._util import session_from


@pytest.fixture(scope="module")
def open_node(cluster):
    """A node that allows archives to loopback (but never to its own API)."""
    n = Node(cluster.new_database(), env=dict(ALLOW_LOOPBACK_SINKS)).start()
    yield n
    n.cleanup()


@pytest.fixture(scope="module")
def outsider():
    """A client on 127.0.0.5: it reaches the node but is not one of the host's addresses."""
    return session_from("127.0.0.5")


@pytest.fixture(scope="session")
def admin(node):
    """An ``Authorization`` header with an admin token of the shared node."""
    return {"Authorization": f"Bearer {admin_token(node, 'security-ops')}"}
