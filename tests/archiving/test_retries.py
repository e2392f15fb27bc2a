"""Retries as the plugin asks for them, the archive's time to live, and the counters."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import wait_for

from ._helpers import Sink, by_label, noop_task, post_and_finish, run_json, wait_archivings


@pytest.fixture
def sinks():
    made: list[Sink] = []

    def make(**kw) -> Sink:
        made.append(Sink(**kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def test_http_503_twice_then_200_is_archived_on_the_third_try(node, sinks):
    flaky = sinks(statuses=[503, 503])
    stubborn = sinks(statuses=[503] * 10)
    policy = [{"attempts": 2, "wait": "PT1S"}]
    archives = [
        {"archiver": "http", "label": "flaky",
         "data": {"_url": flaky.url(), "retry-policy": policy}},
        {"archiver": "http", "label": "stubborn",
         "data": {"_url": stubborn.url(), "retry-policy": [{"attempts": 1, "wait": "PT1S"}]}},
    ]  # fmt: skip
    run = post_and_finish(node, noop_task(archives))
    archivings = by_label(wait_archivings(node, run["href"], 2, timeout=20))

    got = flaky.wait_count(3)
    assert [r["status"] for r in got] == [503, 503, 200]
    gaps = [b["time"] - a["time"] for a, b in zip(got, got[1:], strict=False)]
    assert all(0.9 <= g < 5 for g in gaps), gaps
    assert all(r["body"] == got[0]["body"] for r in got)  # the same record each time
    flaky_row = archivings["flaky"]
    assert flaky_row["archived"] and flaky_row["attempts"] == 3
    assert [d["succeeded"] for d in flaky_row["diags"]] == [False, False, True]
    assert "503" in flaky_row["diags"][0]["message"]
    first = flaky_row["diags"][0]
    delay = _time(first["next-attempt"]) - _time(first["time"])
    assert dt.timedelta(seconds=0.99) <= delay <= dt.timedelta(seconds=1.01)

    # The policy allows one retry: two tries, then it gives up.
    assert len(stubborn.received) == 2
    stubborn_row = archivings["stubborn"]
    assert stubborn_row["completed"] and not stubborn_row["archived"]
    assert stubborn_row["attempts"] == 2 and stubborn_row["next_attempt"] is None
    assert stubborn_row["diags"][-1]["message"].startswith("Failed to post result: 503")


def test_ttl_ends_retries_and_counters_show_the_waiting_row(node, sinks):
    always_busy = sinks(statuses=[503] * 100)
    archives = [
        # failer asks for a retry in 10 s; the ttl of 2 s ends it first.
        {"archiver": "failer", "label": "failer", "ttl": "PT2S",
         "data": {"fail": 1, "retry": 1}},
        # Retries every second until the ttl of 3 s expires.
        {"archiver": "http", "label": "busy", "ttl": "PT3S",
         "data": {"_url": always_busy.url(), "retry-policy": [{"attempts": 100, "wait": "PT1S"}]}},
    ]  # fmt: skip
    run = post_and_finish(node, noop_task(archives))

    def failer_waiting():
        rows = by_label(run_json(node, run["href"]).get("archivings") or [])
        row = rows.get("failer")
        return row if row and row["attempts"] == 1 and not row["completed"] else None

    waiting = wait_for(failer_waiting, timeout=10, what="failer's first attempt")
    assert waiting["diags"][0]["message"] == "Failure requested; retrying"
    # Its retry (10 s) would come after the ttl, so it is due again when the ttl ends.
    assert _time(waiting["next_attempt"]) == _time(waiting["ttl_expires"])
    assert int(node.get("stat/archiving/upcoming").text) >= 1

    archivings = by_label(wait_archivings(node, run["href"], 2, timeout=15))
    failer = archivings["failer"]
    assert failer["completed"] and not failer["archived"] and failer["attempts"] == 1
    assert failer["diags"][-1]["message"] == "Time to live expired"
    expired_at = _time(failer["diags"][-1]["time"])
    assert expired_at >= _time(failer["ttl_expires"]) - dt.timedelta(seconds=1)

    busy = archivings["busy"]
    assert busy["completed"] and not busy["archived"]
    assert 2 <= busy["attempts"] <= 4, busy["diags"]
    assert busy["diags"][-1]["message"] == "Time to live expired"
    assert len(always_busy.received) == busy["attempts"]
