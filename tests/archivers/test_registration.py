"""Every built-in archiver is found through its entry point, enumerates itself as
plugins.md §0.5 says, and its one-piece ``data_schema`` agrees with ``data_is_valid``."""

from __future__ import annotations

import re

import pytest

from pscheduler.toolkit.jsonval import schema_error

from ._helpers import archiver

NAMES = ["http", "syslog", "rabbitmq", "postgresql", "tcp", "udp", "kafka"]

SAMPLES = {
    "http": [
        {"_url": "http://h/"},
        {"_url": "http://h/", "_headers": {"a": "b"}},
        {"schema": 2, "_url": "http://h/", "_headers": {"a": "b"}},
        {"schema": 4, "_url": "https://h/", "timeout": "PT5S", "verify-ssl": True},
        {"schema": 5, "_url": "http://h/"},
    ],
    "syslog": [{}, {"server": "h"}, {"schema": 2, "server": "h:514"}, {"facility": "x"}],
    "rabbitmq": [
        {"_url": "amqp://h/"},
        {"schema": 3, "_url": "amqp://h/", "timeout": "PT1S"},
        {"schema": 2, "_url": "amqp://h/", "timeout": "PT1S"},
        {"schema": 2, "_url": "amqp://h/", "routing-key": {"script": ".a"}},
    ],
    "postgresql": [
        {"_dsn": "dbname=x", "table": "t", "column": "c"},
        {"_dsn": "x", "table": "a b"},
    ],
    "tcp": [{"host": "h", "port": 1}, {"schema": 1, "host": "h", "port": 1}, {"host": "h"}],
    "udp": [{"host": "h", "port": 1, "payload-size": 100}, {"host": "h", "port": -1}],
    "kafka": [
        {"topic": "t", "server": "k:9092"},
        {"topic": "t", "server": "k", "extra": 1},
        {"schema": 2, "topic": "t", "server": "k", "security-protocol": "SSL", "x": 1},
        {"schema": 2, "topic": "t", "server": "k"},
        {"schema": 2, "topic": "t", "server": "k", "security-protocol": "SSL", "_ssl-key": 1},
    ],
}


@pytest.mark.parametrize("name", NAMES)
def test_enumeration(name):
    enumeration = archiver(name).enumeration
    assert enumeration["name"] == name
    assert set(enumeration) <= {"schema", "name", "description", "version", "maintainer"}
    assert re.match(r"^[0-9]+(\.[0-9]+)*[A-Za-z0-9-+]*$", enumeration["version"])
    assert enumeration["maintainer"]["name"]


@pytest.mark.parametrize("name", NAMES)
def test_data_schema_agrees_with_data_is_valid(name):
    plugin = archiver(name)
    for data in SAMPLES[name]:
        by_schema = schema_error(plugin.data_schema, data) is None
        assert by_schema == plugin.data_is_valid(data)["valid"], data
