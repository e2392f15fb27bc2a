"""Fixtures for fault tests: nodes with their own embedded PostgreSQL, started fast.

Faults of the embedded cluster (a killed postmaster, a full disk, a power cut) need a node
that runs its own PostgreSQL, not the shared test cluster.  ``initdb`` costs seconds, so the
session makes one cluster once (``pgdata_template``) and each node starts on a copy of it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.faults._runs import shared_fault_node
from tests.helpers import Node


@pytest.fixture(scope="session")
def fault_node(cluster):
    """One node for the run-fault tests (stuck runs, runner kill): defined here, so the
    modules really share it."""
    yield from shared_fault_node(cluster)


@pytest.fixture(scope="session")
def pgdata_template():
    """An initialised, cleanly stopped embedded cluster to copy (``cp -a`` keeps its owner)."""
    from pscheduler.db.embedded import EmbeddedPostgres

    tmp = tempfile.mkdtemp(prefix="pscheduler-faults-template-")
    Path(tmp).chmod(0o755)
    embedded = EmbeddedPostgres(tmp)
    embedded.start()
    embedded.stop()
    yield Path(tmp) / "pgdata"
    shutil.rmtree(tmp, ignore_errors=True)


def embedded_node(template: Path, state_dir: str | None = None, **kw) -> Node:
    """A node (not started) on its own embedded cluster copied from ``template``."""
    node = Node(None, tls=False, **kw)
    if state_dir is not None:
        shutil.rmtree(node.state_dir, ignore_errors=True)
        node.state_dir = state_dir
        node.log_path = Path(state_dir) / "node.log"
    subprocess.run(["cp", "-a", str(template), str(Path(node.state_dir) / "pgdata")], check=True)
    return node
