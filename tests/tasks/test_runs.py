"""The runs API: runtimes, posting, listing, aliases, waits, results, deleting."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from tests.helpers import Node, wait_for
from tests.tasks.util import idle, iso, now, post_task, runs


@pytest.fixture(scope="module")
def fresh(cluster):
    n = Node(cluster.new_database()).start()
    yield n
    n.cleanup()


def test_noop_result_in_every_format(node):
    task = {"test": {"type": "noop", "spec": {"data": {"answer": 42}}}, "schedule": {}}
    url = post_task(node, task)
    run = node.session.get(
        url + "/runs/first", params={"wait-merged": "", "wait": "10"}, timeout=20
    ).json()
    assert run["state"] == "finished"
    assert run["result-merged"] == {"schema": 1, "succeeded": True, "data": {"answer": 42}}
    result = node.session.get(run["result-href"], timeout=10)
    assert result.json() == run["result-merged"]
    text = node.session.get(run["result-href"], params={"format": "text/plain"}, timeout=10)
    assert text.headers["Content-Type"].startswith("text/plain")
    assert "answer" in text.text and text.text.startswith("Data:")
    html = node.session.get(run["result-href"], params={"format": "text/html"}, timeout=10)
    assert html.text.startswith("<table>")
    bad = node.session.get(run["result-href"], params={"format": "image/gif"}, timeout=10)
    assert bad.status_code == 400 and bad.text == "Unsupported format image/gif\n"


def test_failed_run_is_failed_with_its_error(node):
    url = post_task(node, {"test": {"type": "noop", "spec": {"fail": 1.0}}, "schedule": {}})
    run = node.session.get(
        url + "/runs/first", params={"wait-merged": "1", "wait": "10"}, timeout=20
    ).json()
    assert run["state"] == "failed"
    assert run["result-merged"]["succeeded"] is False
    assert "Randomly-induced failure" in run["result-merged"]["error"]
    text = node.session.get(run["result-href"], params={"format": "text/plain"}, timeout=10)
    assert text.text == "Run failed.\n"


def test_result_wait_really_waits(node):
    url = post_task(node, idle("PT2S"))
    first = node.session.get(url + "/runs/first", params={"wait": "10"}, timeout=20).json()
    began = time.monotonic()
    r = node.session.get(first["result-href"], params={"wait": "15"}, timeout=30)
    assert r.status_code == 200 and r.json()["succeeded"] is True
    assert time.monotonic() - began < 6


def test_wait_parameters_are_checked(node):
    url = post_task(node, idle())
    assert (
        node.session.get(
            url + "/runs/first", params={"wait-local": "", "wait-merged": ""}, timeout=10
        ).text
        == "Cannot wait on local and merged results\n"
    )
    assert (
        node.session.get(url + "/runs/first", params={"wait": "-1"}, timeout=10).text
        == "Wait time must be >= 0\n"
    )
    assert (
        node.session.get(url + "/runs/first", params={"wait": "x"}, timeout=10).status_code == 400
    )


def test_list_filters_and_aliases(node):
    start = (now() + dt.timedelta(seconds=20)).replace(microsecond=0)
    url = post_task(node, idle("PT1S", start=iso(start), repeat="PT10S", **{"max-runs": 4}))
    wait_for(lambda: len(node.session.get(url + "/runs", timeout=10).json()) == 4, what="4 runs")
    listed = node.session.get(url + "/runs", timeout=10).json()
    assert node.session.get(url + "/runs", params={"limit": "2"}, timeout=10).json() == listed[:2]
    later = node.session.get(
        url + "/runs", params={"start": iso(start + dt.timedelta(seconds=15))}, timeout=10
    ).json()
    assert later == listed[2:]
    assert node.session.get(url + "/runs", params={"upcoming": ""}, timeout=10).json() == listed
    assert node.session.get(url + "/runs", params={"limit": "0"}, timeout=10).status_code == 400
    assert node.session.get(url + "/runs", params={"start": "nope"}, timeout=10).status_code == 400
    first = node.session.get(url + "/runs/first", timeout=10).json()
    assert first["href"] == listed[0]
    nxt = node.session.get(url + "/runs/next", timeout=10).json()
    assert nxt["href"] == listed[0]
    assert node.get(f"tasks/{uuid.uuid4()}/runs").json() == []
    assert node.get("tasks/nope/runs").status_code == 404
    assert node.session.get(url + "/runs/nope", timeout=10).status_code == 404
    assert node.session.get(url + f"/runs/{uuid.uuid4()}", timeout=10).status_code == 404
    node.session.delete(url, timeout=10)


def test_run_record_fields(node):
    url = post_task(node, idle())
    run = node.session.get(
        url + "/runs/first", params={"wait-merged": "", "wait": "10"}, timeout=20
    ).json()
    for key in (
        "start-time",
        "end-time",
        "duration",
        "participant",
        "participants",
        "participant-data",
        "participant-data-full",
        "result",
        "result-full",
        "result-merged",
        "state",
        "state-display",
        "errors",
        "added",
        "priority",
        "limit-diags",
        "href",
        "task-href",
        "result-href",
    ):
        assert key in run, key
    assert run["state-display"] == "Finished"
    assert run["task-href"] == url
    assert run["participants"] == [node.address]


def test_runtimes_post_and_delete(fresh):
    start = (now() + dt.timedelta(seconds=120)).replace(microsecond=0)
    blocker = post_task(fresh, idle("PT9S", test="idleex", start=iso(start)))
    wait_for(lambda: runs(fresh, blocker), what="blocker placed")
    probe = post_task(fresh, idle("PT1S", test="idleex", start=iso(start + dt.timedelta(hours=2))))
    window = {
        "start": iso(start - dt.timedelta(seconds=20)),
        "end": iso(start + dt.timedelta(seconds=30)),
    }
    ranges = fresh.session.get(probe + "/runtimes", params=window, timeout=10).json()
    assert ranges == [
        {"lower": iso(start - dt.timedelta(seconds=20)), "upper": iso(start)},
        {
            "lower": iso(start + dt.timedelta(seconds=10)),
            "upper": iso(start + dt.timedelta(seconds=30)),
        },
    ]
    bg = post_task(fresh, idle("PT1S", start=iso(start + dt.timedelta(hours=2))))
    assert fresh.session.get(bg + "/runtimes", params=window, timeout=10).json() == [
        {"lower": window["start"], "upper": window["end"]}
    ]
    assert (
        fresh.session.get(probe + "/runtimes", params={"start": "x"}, timeout=10).text
        == "Invalid start or end time\n"
    )

    conflict = fresh.session.post(
        probe + "/runs", json={"start-time": iso(start + dt.timedelta(seconds=2))}, timeout=10
    )
    assert conflict.status_code == 409
    assert conflict.text == "Run would create a scheduling conflict.\n"
    ok = fresh.session.post(
        probe + "/runs", json={"start-time": iso(start + dt.timedelta(seconds=10))}, timeout=10
    )
    assert ok.status_code == 200, ok.text
    run_url = ok.json()
    assert fresh.session.get(run_url, timeout=10).json()["state"] == "pending"
    assert fresh.session.post(probe + "/runs", json={}, timeout=10).text == "Missing start time\n"
    assert fresh.session.delete(run_url, timeout=10).status_code == 200
    assert fresh.session.get(run_url, timeout=10).status_code == 404
    for url in (blocker, probe, bg):
        fresh.session.delete(url, timeout=10)


def test_schedule_and_monitor(node):
    url = post_task(node, idle())
    node.session.get(url + "/runs/first", params={"wait-merged": "", "wait": "10"}, timeout=20)
    task_uuid = url.rsplit("/", 1)[1]
    entries = node.get("schedule", params={"task": task_uuid}).json()
    assert len(entries) == 1
    entry = entries[0]
    assert entry["state"] == "finished" and entry["test"]["name"] == "idle"
    assert entry["task"]["href"] == url and entry["href"].startswith(url + "/runs/")
    assert node.get("schedule", params={"start": "bad"}).text == "Invalid start or end time\n"
    assert node.get("schedule", params={"task": "bad"}).status_code == 400
    monitor = node.get("monitor", params={"window": "5"}).json()
    assert any(m["href"] == entry["href"] for m in monitor)
    assert node.get("monitor", params={"window": "0"}).status_code == 400


def test_background_multi_records_become_runs(node):
    """An idlebgm run's tool hands over result records; each becomes a finished run of its own."""
    url = post_task(node, idle("PT1S", test="idlebgm"))
    container = node.session.get(
        url + "/runs/first", params={"wait-local": "", "wait": "15"}, timeout=30
    ).json()
    assert container["result"]["succeeded"] is True

    def records():
        found = [
            r for r in runs(node, url) if r["result-merged"] and r["href"] != container["href"]
        ]
        return found or None

    record = wait_for(records, timeout=10, what="the emitted record")[0]
    assert record["state"] == "finished"
    assert record["result-merged"] == {"schema": 1, "succeeded": True, "duration": "PT1S"}


def test_background_multi_interval_reports_once_per_interval(node):
    """idlebgm's ``interval`` (issue 17): a PT2S run every PT1S makes two records."""
    task = idle("PT2S", test="idlebgm")
    task["test"]["spec"]["interval"] = "PT1S"
    url = post_task(node, task)
    container = node.session.get(
        url + "/runs/first", params={"wait-local": "", "wait": "15"}, timeout=30
    ).json()
    assert container["result"]["succeeded"] is True

    def records():
        found = [
            r for r in runs(node, url) if r["result-merged"] and r["href"] != container["href"]
        ]
        return found if len(found) >= 2 else None

    found = wait_for(records, timeout=10, what="two emitted records")
    assert [r["result-merged"]["duration"] for r in found] == ["PT1S", "PT1S"]


def test_waits_end_at_once_for_runs_that_will_never_have_a_result(fresh):
    """A missed run gets no merged result: wait-merged answers when it is missed, not at the
    end of the wait."""
    from tests.tasks.util import sql

    sql(fresh, "UPDATE control SET pause_runs_until = 'infinity'")
    try:
        url = post_task(fresh, idle())
        began = time.monotonic()
        run = fresh.session.get(
            url + "/runs/first", params={"wait-merged": "", "wait": "20"}, timeout=30
        ).json()
        assert run["state"] == "missed"
        assert time.monotonic() - began < 10
    finally:
        sql(fresh, "UPDATE control SET pause_runs_until = NULL")
