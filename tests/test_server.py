"""``pscheduler-server`` as a newcomer runs it: embedded PostgreSQL, TLS, clean shutdown."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers import SERVER, Node, wait_for


def _processes_mentioning(text: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if text in line and "ps -eo" not in line]


def test_embedded_node_starts_serves_and_stops_cleanly():
    n = Node(dsn=None)
    try:
        n.start(timeout=90)
        assert n.get("api").json() == 6
        names = {e["name"] for e in n.get("tests", params={"expanded": ""}).json()}
        assert {"idle", "noop"} <= names
        assert os.path.exists(os.path.join(n.state_dir, "pgdata", "PG_VERSION"))
        assert n.stop() == 0
        wait_for(
            lambda: not _processes_mentioning(n.state_dir),
            timeout=15,
            what="every process of the node to exit",
        )
        # The cluster is reused on the next start.
        n.start(timeout=90)
        assert n.get("api").json() == 6
    finally:
        n.cleanup()


def test_plain_http_node_on_another_loopback_address(cluster):
    n = Node(cluster.new_database(), host="127.0.0.2", tls=False)
    try:
        n.start()
        assert n.get("api").json() == 6
        assert n.get("").json().startswith("This is the pScheduler API server on 127.0.0.2")
    finally:
        n.cleanup()


def test_db_upgrade_is_idempotent(cluster):
    dsn = cluster.new_database()
    first = subprocess.run(
        [SERVER, "--dsn", dsn, "db", "upgrade"], capture_output=True, text=True, timeout=60
    )
    assert first.returncode == 0, first.stderr
    assert "Applied migrations" in first.stdout
    second = subprocess.run(
        [SERVER, "--dsn", dsn, "db", "upgrade"], capture_output=True, text=True, timeout=60
    )
    assert second.stdout.strip() == "Database is up to date"


def test_concurrent_upgrades_apply_each_migration_once(cluster):
    dsn = cluster.new_database()
    procs = [
        subprocess.Popen(
            [SERVER, "--dsn", dsn, "db", "upgrade"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sum("Applied migrations" in out for out, _ in outs) == 1


def test_unreachable_database_gives_one_line_error():
    r = subprocess.run(
        [SERVER, "--dsn", "host=127.0.0.1 port=1 dbname=x user=x", "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "127.0.0.1:1" in lines[0]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("process", ["scheduler", "api"])
def test_single_process_needs_a_dsn(process, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
    r = subprocess.run(
        [SERVER, "--state-dir", str(tmp_path), process],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert r.returncode == 2
    assert "needs --dsn" in r.stderr


@pytest.mark.parametrize(
    "variable, value, expecting",
    [
        ("PSCHEDULER_API_RETIRE_GROWTH", "lots", "a number"),
        ("PSCHEDULER_API_RETIRE_GROWTH", "nan", "a number"),
        ("PSCHEDULER_API_WORKERS", "2.5", "an integer"),
    ],
)
def test_a_setting_that_is_not_a_number_is_refused_in_one_line(
    variable, value, expecting, tmp_path
):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSCHEDULER_")}
    r = subprocess.run(
        [SERVER, "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**env, variable: value},
    )
    assert r.returncode == 2
    assert (
        r.stderr.strip() == f"pscheduler-server: {variable}: expecting {expecting}, not '{value}'"
    )
