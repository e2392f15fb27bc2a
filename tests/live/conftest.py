"""A node for the live-view tests alone: they fill its timeline with exclusive runs."""

from __future__ import annotations

import pytest

from tests.helpers import Node


@pytest.fixture(scope="package")
def live_node(cluster):
    # /clock must not ask the Internet's NTP pool: nothing answers NTP on loopback.
    n = Node(cluster.new_database("live"), env={"PSCHEDULER_NTP_SERVER": "127.0.0.1"}).start()
    yield n
    n.cleanup()
