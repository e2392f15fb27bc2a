"""A node for the live-view tests alone: they fill its timeline with exclusive runs."""

from __future__ import annotations

import pytest

from tests.helpers import Node


@pytest.fixture(scope="package")
def live_node(cluster):
    # No NTP server is configured by default, so /status (the health page) asks none.
    n = Node(cluster.new_database("live")).start()
    yield n
    n.cleanup()
