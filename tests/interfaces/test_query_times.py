"""Times in query strings (``/stat/runs/<state>``, ``/stat/requesters``): one parser for both."""

from __future__ import annotations

import datetime as dt

import pytest

from pscheduler.toolkit.iso8601 import parse_when
from tests.tasks.util import post_task

NOW = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone.utc)


def test_parse_when_relative_absolute_and_unencoded_plus():
    hour = dt.timedelta(hours=1)
    assert parse_when("+PT1H", NOW) == NOW + hour
    assert parse_when(" PT1H", NOW) == NOW + hour  # '+' sent unencoded arrives as a space
    assert parse_when("-PT1H", NOW) == NOW - hour
    assert parse_when("2024-05-01T09:00:00+00:00", NOW) == NOW - hour
    for bad in ("yesterday", "+1H", "", " "):
        with pytest.raises(ValueError):
            parse_when(bad, NOW)


def test_unencoded_plus_in_the_query_string(node):
    task = {"schema": 1, "test": {"type": "idle", "spec": {"duration": "PT1S"}}}
    url = post_task(node, {**task, "schedule": {"start": "PT30M"}})
    placed = node.session.get(url + "/runs/first", params={"wait": 30}, timeout=40)
    assert placed.status_code == 200, placed.text  # a pending run 30 minutes from now
    for path in ("stat/runs/pending", "stat/requesters"):
        # Written into the URL by hand so that the '+' reaches the server unencoded.
        raw = node.session.get(f"{node.base}/{path}?start=-PT1M&end=+PT1H", timeout=10)
        encoded = node.session.get(
            f"{node.base}/{path}", params={"start": "-PT1M", "end": "+PT1H"}, timeout=10
        )
        assert raw.status_code == 200, raw.text
        assert encoded.status_code == 200, encoded.text
        if path == "stat/runs/pending":
            assert int(raw.text) == int(encoded.text) >= 1
        bad = node.session.get(f"{node.base}/{path}?start=yesterday", timeout=10)
        assert bad.status_code == 400 and "Invalid start time 'yesterday'" in bad.text
