"""One finished run archived to every kind of destination at once, through a real node:
http (plain and jq-transformed), syslog over UDP, RabbitMQ, PostgreSQL, failer, and the
``runs`` filter.  One task with many archives keeps the module fast."""

from __future__ import annotations

import json
import socket
import uuid

import psycopg2
import pytest

from pscheduler.toolkit.jsonval import sanitize
from tests.archivers._helpers import port_open, require

from ._helpers import Sink, by_label, noop_task, post_and_finish, wait_archivings

pika = pytest.importorskip("pika")

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
SPEC = {"schema": 1, "data": {"n": 7, "_secret": "hush"}}


@pytest.fixture(scope="module")
def world(node, cluster):
    """Destinations, then one task whose single run is archived to all of them."""
    sink = Sink()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(10)

    target_dsn = cluster.new_database("archive_target")
    conn = psycopg2.connect(target_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE results (id serial PRIMARY KEY, doc jsonb NOT NULL)")

    broker = None
    if port_open("127.0.0.1", 5672):
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        channel = connection.channel()
        exchange = f"pstest-{uuid.uuid4().hex}"
        key = "results"
        channel.exchange_declare(exchange, exchange_type="direct", auto_delete=True)
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, exchange, routing_key=key)
        broker = (connection, channel, exchange, queue)

    def http(label: str, **extra) -> dict:
        return {
            "archiver": "http",
            "label": label,
            "data": {"_url": sink.url(f"/{label}")},
            **extra,
        }

    archives = [
        http("plain"),
        http("reshape", transform={
            "script": "{run: .id, data: .result.data, secret: .test.spec.data._secret, n: $n}",
            "args": {"n": 42},
        }),
        http("stop", transform={"script": "null"}),
        http("jqfail", transform={"script": 'error("no way")'}),
        {"archiver": "syslog", "label": "syslog",
         "data": {"schema": 2, "server": f"127.0.0.1:{udp.getsockname()[1]}", "ident": "pstest"}},
        {"archiver": "postgresql", "label": "postgresql",
         "data": {"_dsn": target_dsn, "table": "results", "column": "doc"}},
        {"archiver": "failer", "label": "giveup", "data": {"fail": 1, "retry": 0}},
        {"archiver": "failer", "label": "badly", "data": {"schema": 2, "fail": 1, "badly": True}},
        {"archiver": "bitbucket", "label": "failed-only", "runs": "failed", "data": {}},
        {"archiver": "bitbucket", "label": "all", "runs": "all", "data": {}},
    ]  # fmt: skip
    if broker is not None:
        archives.append(
            {"archiver": "rabbitmq", "label": "rabbitmq",
             "data": {"_url": AMQP_URL, "exchange": broker[2], "routing-key": "results"}}
        )  # fmt: skip
    run = post_and_finish(node, noop_task(archives, spec=SPEC))
    expected = len(archives) - 1  # "failed-only" gets no row for a successful run
    archivings = wait_archivings(node, run["href"], expected)
    yield {
        "run": run,
        "archivings": by_label(archivings),
        "sink": sink,
        "udp": udp,
        "target": conn,
        "broker": broker,
    }
    sink.close()
    udp.close()
    conn.close()
    if broker is not None:
        broker[1].exchange_delete(broker[2])
        broker[0].close()


def test_http_receives_the_record_with_private_members_nulled(world):
    run = world["run"]
    (got,) = world["sink"].wait_count(1, path="/plain")
    body = got["body"]
    assert got["content_type"] == "application/json"
    assert body["id"] == run["href"].rsplit("/", 1)[1]
    # The measurement's result is shipped as it is; the test spec and task are sanitised.
    assert body["result"]["data"] == {"n": 7, "_secret": "hush"}
    assert sanitize(body["result"]) == run["result-merged"]
    assert body["test"] == {
        "type": "noop",
        "spec": {"schema": 1, "data": {"n": 7, "_secret": None}},
    }
    assert body["task"]["test"]["spec"]["data"]["_secret"] is None
    assert body["run"]["href"] == run["href"]
    assert body["task"]["href"] == run["task-href"]
    assert body["tool"]["name"] == "passthrough"
    assert body["participants"] == run["participants"]
    plain = world["archivings"]["plain"]
    assert plain["archived"] and plain["attempts"] == 1
    assert plain["spec"]["data"]["_url"] is None  # sanitised in the run JSON
    assert plain["archiver"]["name"] == "http"
    assert plain["next_attempt"] is None and plain["last_attempt"]
    assert [d["succeeded"] for d in plain["diags"]] == [True]


def test_transform_reshapes_what_is_sent(world):
    (got,) = world["sink"].wait_count(1, path="/reshape")
    run_uuid = world["run"]["href"].rsplit("/", 1)[1]
    assert got["body"] == {
        "run": run_uuid,
        "data": {"n": 7, "_secret": "hush"},
        "secret": None,
        "n": 42,
    }
    assert world["archivings"]["reshape"]["archived"]


def test_transform_returning_null_stops_archiving_as_a_success(world):
    stop = world["archivings"]["stop"]
    assert stop["completed"] and stop["archived"]
    assert stop["diags"][-1]["message"] == "Archiving stopped by transform."
    assert not [r for r in world["sink"].received if r["path"] == "/stop"]


def test_failing_transform_is_a_permanent_failure_with_jq_message(world):
    jqfail = world["archivings"]["jqfail"]
    assert jqfail["completed"] and not jqfail["archived"]
    assert jqfail["attempts"] == 1 and jqfail["next_attempt"] is None
    assert "no way" in jqfail["diags"][-1]["message"]
    assert not [r for r in world["sink"].received if r["path"] == "/jqfail"]


def test_syslog_datagram_to_udp_listener(world):
    datagram = world["udp"].recv(65536).decode("utf-8")
    assert datagram.startswith("<14>pstest: ")  # user.info
    body = json.loads(datagram[len("<14>pstest: ") :])
    assert sanitize(body["result"]) == world["run"]["result-merged"]
    assert world["archivings"]["syslog"]["archived"]


def test_postgresql_row_in_the_target_table(world):
    with world["target"].cursor() as cur:
        cur.execute("SELECT doc FROM results")
        rows = cur.fetchall()
    assert len(rows) == 1
    assert rows[0][0]["id"] == world["run"]["href"].rsplit("/", 1)[1]
    assert world["archivings"]["postgresql"]["archived"]


def test_rabbitmq_message_consumed_from_the_queue(world):
    require("RabbitMQ on 127.0.0.1:5672", world["broker"] is not None)
    _, channel, _, queue = world["broker"]
    method, properties, body = channel.basic_get(queue, auto_ack=True)
    assert method is not None and method.routing_key == "results"
    assert sanitize(json.loads(body)["result"]) == world["run"]["result-merged"]
    assert channel.basic_get(queue, auto_ack=True)[0] is None  # exactly once here
    assert world["archivings"]["rabbitmq"]["archived"]


def test_failure_without_retry_gives_up_after_one_attempt(world):
    giveup = world["archivings"]["giveup"]
    assert giveup["completed"] and not giveup["archived"]
    assert giveup["attempts"] == 1
    assert giveup["diags"][-1]["message"] == "Failure requested"


def test_plugin_exception_is_a_permanent_failure_with_its_message(world):
    badly = world["archivings"]["badly"]
    assert badly["completed"] and not badly["archived"] and badly["attempts"] == 1
    assert badly["diags"][-1]["message"] == (
        "Possibly-permanent archiver error: FailedBadly: Failed badly, as asked"
    )


def test_runs_filter_on_a_successful_run(world):
    assert "failed-only" not in world["archivings"]
    assert world["archivings"]["all"]["archived"]


def test_runs_filter_on_a_failed_run(node):
    archives = [
        {"archiver": "bitbucket", "label": "default", "data": {}},
        {"archiver": "bitbucket", "label": "succeeded", "runs": "succeeded", "data": {}},
        {"archiver": "bitbucket", "label": "failed", "runs": "failed", "data": {}},
        {"archiver": "bitbucket", "label": "all", "runs": "all", "data": {}},
    ]
    run = post_and_finish(node, noop_task(archives, spec={"schema": 1, "fail": 1.0}))
    assert run["state"] == "failed"
    archivings = by_label(wait_archivings(node, run["href"], 2))
    assert set(archivings) == {"failed", "all"}
    assert all(a["archived"] for a in archivings.values())
