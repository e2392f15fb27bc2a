"""The ``rabbitmq`` archiver against the machine's RabbitMQ on 127.0.0.1:5672 (guest/guest).

Each test declares its own auto-deleted exchange and exclusive queue, archives, then reads
the message back from the queue.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from pscheduler_plugins.archivers import rabbitmq as rabbitmq_module

from ._helpers import RESULT, archiver, port_open, record, require

pika = pytest.importorskip("pika")

URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
POLICY = [{"attempts": 2, "wait": "PT15S"}]


@pytest.fixture
def broker():
    """(exchange, routing key, get()) with a queue bound to the exchange by the key."""
    require("RabbitMQ on 127.0.0.1:5672", port_open("127.0.0.1", 5672))
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    channel = connection.channel()
    exchange = f"pstest-{uuid.uuid4().hex}"
    key = f"key-{uuid.uuid4().hex}"
    channel.exchange_declare(exchange, exchange_type="direct", auto_delete=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, routing_key=key)

    def get():
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        return None if method is None else (method.routing_key, properties, body)

    yield exchange, key, get
    channel.exchange_delete(exchange)
    connection.close()


def archive(data, result=None, attempts=0):
    return archiver("rabbitmq").archive(record(data, result=result, attempts=attempts))


def test_publishes_the_result_to_the_exchange(broker):
    exchange, key, get = broker
    assert archive({"_url": URL, "exchange": exchange, "routing-key": key}) == {"succeeded": True}
    routing_key, properties, body = get()
    assert routing_key == key
    assert properties.content_type == "application/json"
    assert json.loads(body.decode("utf-8")) == RESULT
    assert get() is None  # exactly one message


def test_routing_key_from_a_jq_transform_on_the_result(broker):
    exchange, key, get = broker
    data = {
        "schema": 2,
        "_url": URL,
        "exchange": exchange,
        "routing-key": {"script": '.prefix + "-" + $tail', "args": {"tail": key[4:]}},
    }
    assert archive(data, result={"prefix": "key"}) == {"succeeded": True}
    assert get()[0] == key


def test_unroutable_message_is_a_failure_retried_per_policy(broker):
    exchange, _, get = broker
    data = {"_url": URL, "exchange": exchange, "routing-key": "nobody", "retry-policy": POLICY}
    result = archive(data, attempts=1)
    assert result == {
        "succeeded": False,
        "error": "Message was not routed to any queue",
        "retry": "PT15S",
    }
    assert "retry" not in archive(data, attempts=2)


def test_missing_exchange_fails_and_the_next_archive_reconnects(broker):
    exchange, key, get = broker
    bad = {
        "_url": URL,
        "exchange": f"{exchange}-absent",
        "routing-key": key,
        "retry-policy": POLICY,
    }
    result = archive(bad)
    assert result["succeeded"] is False and result["retry"] == "PT15S"
    assert "Pika error" in result["error"]
    assert archive({"_url": URL, "exchange": exchange, "routing-key": key}) == {"succeeded": True}
    assert get() is not None


def test_wrong_credentials_are_a_failure_not_a_crash():
    require("RabbitMQ on 127.0.0.1:5672", port_open("127.0.0.1", 5672))
    data = {"_url": "amqp://guest:wrong@127.0.0.1:5672/%2F", "retry-policy": POLICY}
    result = archive(data)
    assert result["succeeded"] is False and result["retry"] == "PT15S"


def test_schema_3_and_many_threads_share_one_connection(broker):
    exchange, key, get = broker
    data = {
        "schema": 3,
        "_url": URL,
        "exchange": exchange,
        "routing-key": key,
        "timeout": "PT5S",
        "connection-expires": "PT1M",
    }
    assert archiver("rabbitmq").data_is_valid(data) == {"valid": True}  # quirk fixed
    connects = rabbitmq_module._connections.connects
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda i: archive(data, result={"n": i}), range(30)))
    assert results == [{"succeeded": True}] * 30
    assert rabbitmq_module._connections.connects == connects + 1
    seen = set()
    while (message := get()) is not None and len(seen) < 31:
        seen.add(json.loads(message[2])["n"])
    assert seen == set(range(30))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "'_url' is a required property"),
        ({"_url": "http://h/"}, "is not an amqp:// or amqps:// URL"),
        ({"_url": URL, "routing-key": {"script": "."}}, "At /routing-key:"),
        (
            {"schema": 2, "_url": URL, "routing-key": {"script": ".a +"}},
            "Error compiling routing key transform",
        ),
        ({"schema": 2, "_url": URL, "timeout": "PT1S"}, "Additional properties"),
        ({"schema": 4, "_url": URL}, "Schema version 4 is not supported (highest is 3)."),
        ({"schema": "3", "_url": URL}, "At /schema: must be an integer"),
    ],
)
def test_invalid_data_is_explained(data, error):
    verdict = archiver("rabbitmq").data_is_valid(data)
    assert verdict["valid"] is False and error in verdict["error"]


def test_routing_key_transform_that_gives_no_string_is_a_failure():
    data = {"schema": 2, "_url": URL, "routing-key": {"script": ".n"}}
    result = archive(data, result={"n": 3})
    assert result["succeeded"] is False
    assert "not a string" in result["error"]
