"""The ``postgresql`` archiver inserting into a table created in the machine's PostgreSQL
(``host=127.0.0.1 dbname=test user=postgres``, or PSCHEDULER_TEST_ARCHIVE_DSN); when that is
not reachable, in an embedded server (pgserver) started for this module."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from pscheduler_plugins.archivers import postgresql as postgresql_module

from ._helpers import RESULT, archiver, closed_port, record, require

MACHINE_DSN = os.environ.get(
    "PSCHEDULER_TEST_ARCHIVE_DSN", "host=127.0.0.1 dbname=test user=postgres"
)
POLICY = [{"attempts": 1, "wait": "PT20S"}, {"attempts": 1, "wait": "PT2M"}]
DSN = MACHINE_DSN  # replaced by the module fixture when the embedded server is used


def _connect(dsn):
    try:
        return psycopg2.connect(dsn, connect_timeout=5)
    except psycopg2.OperationalError:
        return None


@pytest.fixture(scope="module", autouse=True)
def database(tmp_path_factory):
    """The machine's PostgreSQL, else an embedded one; skip-or-fail when neither works."""
    global DSN
    connection = _connect(MACHINE_DSN)
    server = None
    if connection is None:
        try:
            import pgserver

            server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
            DSN = server.get_uri()
            connection = _connect(DSN)
        except Exception:  # noqa: BLE001 - no usable server either way: decided below
            connection = None
    if connection is not None:
        connection.close()
    try:
        yield
    finally:
        postgresql_module._connections.clear()
        if server is not None:
            server.cleanup()
        DSN = MACHINE_DSN


@pytest.fixture
def table():
    """A fresh table ``(id serial, doc jsonb)``; yields (name, rows()) and drops it after."""
    connection = _connect(DSN)
    require(f"PostgreSQL at {DSN!r}", connection is not None)
    connection.autocommit = True
    name = f"pstest_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (id serial PRIMARY KEY, doc jsonb NOT NULL)")

    def rows():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT doc FROM {name} ORDER BY id")
            return [row[0] for row in cursor.fetchall()]

    yield name, rows
    postgresql_module._connections.clear()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    connection.close()


def archive(data, result=None, attempts=0):
    return archiver("postgresql").archive(record(data, result=result, attempts=attempts))


def test_inserts_the_result_as_json(table):
    name, rows = table
    assert archive({"_dsn": DSN, "table": name, "column": "doc"}) == {"succeeded": True}
    assert rows() == [RESULT]


def test_missing_table_is_retried_per_policy_and_the_connection_recovers(table):
    name, rows = table
    bad = {"_dsn": DSN, "table": f"{name}_absent", "column": "doc", "retry-policy": POLICY}
    first = archive(bad, attempts=0)
    assert first["succeeded"] is False and first["retry"] == "PT20S"
    assert "does not exist" in first["error"]
    assert archive(bad, attempts=1)["retry"] == "PT2M"
    assert "retry" not in archive(bad, attempts=2)
    # The same DSN's connection was reset by the failure and works again.
    assert archive({"_dsn": DSN, "table": name, "column": "doc"}) == {"succeeded": True}
    assert len(rows()) == 1


def test_quoted_identifiers_keep_their_case_and_the_value_is_a_parameter(table):
    name, rows = table
    result = {"text": "'); DROP TABLE x; --"}
    assert archive({"_dsn": DSN, "table": name, "column": "doc"}, result=result) == {
        "succeeded": True
    }
    assert rows() == [result]
    upper = archive({"_dsn": DSN, "table": name.upper(), "column": "doc"})
    assert upper["succeeded"] is False and "does not exist" in upper["error"]


def test_many_threads_share_one_cached_connection(table):
    name, rows = table
    data = {"_dsn": DSN, "table": name, "column": "doc", "connection-expires": "PT1M"}
    connects = postgresql_module._connections.connects
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda i: archive(data, result={"n": i}), range(30)))
    assert results == [{"succeeded": True}] * 30
    assert sorted(row["n"] for row in rows()) == list(range(30))
    assert postgresql_module._connections.connects == connects + 1


def test_expired_connection_is_replaced(table):
    name, rows = table
    data = {"_dsn": DSN, "table": name, "column": "doc", "connection-expires": "PT0S"}
    connects = postgresql_module._connections.connects
    assert archive(data) == {"succeeded": True}
    assert archive(data) == {"succeeded": True}
    assert postgresql_module._connections.connects == connects + 2
    assert len(rows()) == 2


def test_unreachable_server_is_a_failure_with_retry():
    dsn = f"host=127.0.0.1 port={closed_port()} dbname=x user=x"
    result = archive({"_dsn": dsn, "table": "t", "column": "c", "retry-policy": POLICY})
    assert result["succeeded"] is False and result["retry"] == "PT20S"
    assert result["error"].startswith("Failed to insert result: ")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"table": "t", "column": "c"}, "'_dsn' is a required property"),
        (
            {"_dsn": "dbname=x", "table": "bad name", "column": "c"},
            "'bad name' is not a plain SQL identifier",
        ),
        ({"_dsn": "dbname=x", "table": "t", "column": "1c"}, "At /column:"),
        ({"_dsn": "dbname=x", "table": "t" * 64, "column": "c"}, "At /table:"),
        ({"_dsn": "dbname='unterminated", "table": "t", "column": "c"}, "Invalid DSN"),
        (
            {"_dsn": "dbname=x", "table": "t", "column": "c", "schema": 2},
            "Schema version 2 is not supported",
        ),
    ],
)
def test_invalid_data_is_explained(data, error):
    verdict = archiver("postgresql").data_is_valid(data)
    assert verdict["valid"] is False and error in verdict["error"]


def test_valid_data_needs_no_connection():
    data = {"_dsn": "host=db.invalid dbname=x", "table": "t_1$", "column": "Doc"}
    assert archiver("postgresql").data_is_valid(data) == {"valid": True}
