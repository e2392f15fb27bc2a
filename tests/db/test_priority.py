"""The finisher's PostgreSQL backend at a lower CPU priority (pscheduler.db.priority)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import psycopg2
import pytest

from pscheduler.db import priority
from tests.helpers import wait_for
from tests.tasks.util import idle, post_task


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@pytest.fixture
def dsn(cluster):
    return cluster.new_database("priority")


def test_only_the_connections_own_backend_is_reniced(dsn):
    one, other = psycopg2.connect(dsn), psycopg2.connect(dsn)
    try:
        if not (one.info.host or "").startswith("/"):
            pytest.skip("the test server is not reached over a Unix socket")
        before = _nice(other.info.backend_pid)
        assert priority.lower_backend(one, before + 7)
        assert _nice(one.info.backend_pid) == before + 7
        assert _nice(other.info.backend_pid) == before
    finally:
        one.close()
        other.close()


def test_a_process_that_is_not_the_servers_backend_is_left_alone(dsn):
    """A remote server's backend pid, or a local pid that is no child of the postmaster
    behind the socket, names some other process: never renice it (here, the test itself)."""
    real = psycopg2.connect(dsn)
    try:
        ours = os.getpid()
        before = _nice(ours)
        for host in ("db.example.net", real.info.host):
            info = SimpleNamespace(host=host, port=real.info.port, backend_pid=ours)
            assert not priority.lower_backend(SimpleNamespace(info=info), before + 5)
        assert _nice(ours) == before
    finally:
        real.close()


def test_the_runner_stores_outcomes_from_a_backend_at_lower_priority(node):
    """A run's outcome goes through the finisher's own connection, whose backend runs at
    the finisher's niceness, while the starter's stays at the server's."""
    url = post_task(node, idle("PT1S"))
    wait_for(
        lambda: node.session.get(url + "/runs/first", timeout=10).json()["state"] == "finished",
        timeout=40,
        what="the run to finish",
    )
    conn = psycopg2.connect(node.dsn)
    try:
        if not (conn.info.host or "").startswith("/"):
            pytest.skip("the test server is not reached over a Unix socket")
        with conn.cursor() as cur:
            cur.execute(
                "SELECT application_name, pid FROM pg_stat_activity"
                " WHERE datname = current_database()"
                " AND application_name IN ('pscheduler-runner-finish', 'pscheduler-runner-start')"
            )
            backends = dict(cur.fetchall())
    finally:
        conn.close()
    postmaster_nice = _nice(
        int(
            Path(f"/proc/{backends['pscheduler-runner-start']}/stat")
            .read_text()
            .rsplit(")", 1)[1]
            .split()[1]
        )
    )
    assert _nice(backends["pscheduler-runner-start"]) == postmaster_nice
    assert _nice(backends["pscheduler-runner-finish"]) == postmaster_nice + 10
