"""One node for the scale tests: quiet (nothing else posts to it), shared by the package."""

from __future__ import annotations

import pytest

from tests.helpers import Node


@pytest.fixture(scope="package")
def quiet_node(cluster):
    n = Node(cluster.new_database("scale")).start()
    yield n
    n.cleanup()
