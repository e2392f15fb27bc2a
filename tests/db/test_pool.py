"""The connection pool against a real PostgreSQL: reuse, waiting, broken connections."""

from __future__ import annotations

import contextlib
import threading
import time

import psycopg2
import pytest

from pscheduler.db import Database, DatabaseUnavailable, connect
from tests.helpers import free_port, wait_for


@pytest.fixture
def dsn(cluster):
    return cluster.new_database("pool")


def _pid(db: Database) -> int:
    with db.transaction() as cur:
        cur.execute("SELECT pg_backend_pid() AS pid")
        return cur.fetchone()["pid"]


def test_connections_are_reused_and_named(dsn):
    db = Database(dsn, "pscheduler-pooltest")
    try:
        first = _pid(db)
        assert _pid(db) == first
        with db.transaction() as cur:
            cur.execute("SELECT current_setting('application_name') AS name")
            assert cur.fetchone()["name"] == "pscheduler-pooltest"
    finally:
        db.close()


def test_every_connection_runs_without_jit(dsn):
    """A server built with LLVM (Debian's) compiled the scheduler's per-task count query:
    50 ms a call for a query that runs in 0.15 ms.  Pooled and single connections alike."""
    db = Database(dsn, "pscheduler-jit")
    try:
        with db.transaction() as cur:
            cur.execute("SHOW jit")
            assert cur.fetchone()["jit"] == "off"
    finally:
        db.close()
    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW jit")
            assert cur.fetchone()[0] == "off"
    finally:
        conn.close()


def test_a_single_statement_is_sent_without_begin_and_commit(dsn):
    """``one``/``all``/``execute`` run their statement as its own transaction: the statement
    is then the transaction's first command (with BEGIN it is the second), and the pooled
    connection goes back to transactions for the next caller, after a failure as well."""
    first_command = (
        "SELECT transaction_timestamp() = statement_timestamp() AS first, pg_backend_pid() AS pid"
    )
    db = Database(dsn)
    try:
        with db.transaction(single=True) as cur:
            cur.execute(first_command)
            single = cur.fetchone()
        with db.transaction() as cur:
            cur.execute(first_command)
            in_block = cur.fetchone()
        assert single["first"] and not in_block["first"]
        assert single["pid"] == in_block["pid"]  # the same connection, back in transactions
        with pytest.raises(psycopg2.errors.DivisionByZero), db.transaction(single=True) as cur:
            cur.execute("SELECT 1 / 0")
        with db.transaction() as cur:
            cur.execute(first_command)
            assert cur.fetchone() == in_block | {"first": False}
    finally:
        db.close()


def test_an_error_rolls_back_and_keeps_the_connection(dsn):
    db = Database(dsn)
    try:
        with db.transaction() as cur:
            cur.execute("CREATE TABLE t (x int PRIMARY KEY)")
        pid = _pid(db)
        with pytest.raises(psycopg2.errors.UniqueViolation), db.transaction() as cur:
            cur.execute("INSERT INTO t VALUES (1)")
            cur.execute("INSERT INTO t VALUES (1)")
        with db.transaction() as cur:
            cur.execute("SELECT count(*) AS n FROM t")
            assert cur.fetchone()["n"] == 0
        assert _pid(db) == pid
    finally:
        db.close()


def test_a_full_pool_waits_for_a_free_connection(dsn):
    db = Database(dsn, maxconn=1)
    taken, release, got = threading.Event(), threading.Event(), []

    def holder():
        with db.transaction() as cur:
            cur.execute("SELECT 1")
            taken.set()
            release.wait(10)

    def second():
        got.append(_pid(db))

    try:
        a = threading.Thread(target=holder)
        a.start()
        assert taken.wait(10)
        b = threading.Thread(target=second)
        b.start()
        b.join(0.3)
        assert b.is_alive() and not got  # waiting, not failing, while the only one is taken
        release.set()
        a.join(10)
        b.join(10)
        assert len(got) == 1
    finally:
        release.set()
        db.close()


def test_a_full_pool_gives_up_after_its_wait(dsn):
    db = Database(dsn, maxconn=1)
    db.WAIT_FOR_CONNECTION = 0.2
    try:
        with db.transaction():
            with pytest.raises(DatabaseUnavailable, match="No database connection free"):
                _pid(db)
        _pid(db)  # the slot was given back
    finally:
        db.close()


def test_after_a_restart_no_request_fails_and_the_stale_connections_are_dropped(cluster, dsn):
    db = Database(dsn, maxconn=4)
    try:
        with db.transaction() as a, db.transaction() as b, db.transaction() as c:
            pids = set()
            for cur in (a, b, c):
                cur.execute("SELECT pg_backend_pid() AS pid")
                pids.add(cur.fetchone()["pid"])
        assert len(pids) == 3
        admin = psycopg2.connect(cluster.admin_dsn)
        admin.autocommit = True
        try:
            with admin.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid", (list(pids),)
                )

            def gone():
                with admin.cursor() as cur:
                    cur.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (list(pids),)
                    )
                    return cur.fetchone()[0] == 0

            wait_for(gone, timeout=10, what="the backends to exit")
        finally:
            admin.close()
        # The pool sees the hung-up connections before use: a fresh one serves at once.
        fresh = _pid(db)
        assert fresh not in pids
        assert _pid(db) == fresh
    finally:
        db.close()


def test_idle_connections_beyond_a_few_are_closed(dsn):
    db = Database(dsn, maxconn=8)
    try:
        with contextlib.ExitStack() as stack:
            for _ in range(6):
                stack.enter_context(db.transaction()).execute("SELECT 1")
        assert db.reap_idle() == 0  # just used
        assert db.reap_idle(now=time.monotonic() + db.IDLE_SECONDS + 1) == 6 - db.KEEP_IDLE
        assert _pid(db)  # the kept ones still serve
    finally:
        db.close()


def test_an_unreachable_database_is_unavailable_on_use_not_on_construction():
    db = Database(f"host=127.0.0.1 port={free_port()} dbname=x user=x", maxconn=1)
    db.WAIT_FOR_CONNECTION = 0.5
    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1:\d+/x is unavailable"):
        _pid(db)
    with pytest.raises(DatabaseUnavailable):  # the failed attempt gave its slot back
        _pid(db)
    db.close()


def test_close_drops_connections_and_the_database_stays_usable(dsn):
    db = Database(dsn)
    first = _pid(db)
    db.close()
    assert _pid(db) != first
    db.close()


def test_a_burst_of_connections_is_closed_once_idle(dsn, monkeypatch):
    """A burst opens several connections; once idle past IDLE_SECONDS all but KEEP_IDLE close
    by themselves (16 nodes on one PostgreSQL ran out of connections while every peak stayed
    open)."""
    monkeypatch.setattr(Database, "IDLE_SECONDS", 0.6)
    db = Database(dsn, "pscheduler-burst", maxconn=6)

    def count() -> int:
        with db.transaction() as cur:
            cur.execute(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = %s",
                ("pscheduler-burst",),
            )
            return cur.fetchone()["n"]

    try:
        barrier = threading.Barrier(5)

        def hold():
            with db.transaction() as cur:
                cur.execute("SELECT 1")
                barrier.wait(timeout=20)

        threads = [threading.Thread(target=hold) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert count() == 5
        deadline = time.monotonic() + 20
        while count() > Database.KEEP_IDLE + 1 and time.monotonic() < deadline:
            time.sleep(0.3)  # the pool's reaper closes the aged ones
        assert count() <= Database.KEEP_IDLE + 1
    finally:
        db.close()
