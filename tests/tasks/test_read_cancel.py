"""Reading tasks (list, filter, detail, keys, CLI) and cancelling them."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from tests.helpers import wait_for
from tests.tasks.util import idle, iso, now, post_task, run_times


def test_list_filter_expanded_and_detail(node):
    marker = str(uuid.uuid4())
    task = idle()
    task["reference"] = {"marker": marker}
    url = post_task(node, task)
    assert url in node.get("tasks").json()
    found = node.get("tasks", params={"json": json.dumps({"reference": {"marker": marker}})}).json()
    assert found == [url]
    expanded = node.get(
        "tasks",
        params={
            "json": json.dumps({"reference": {"marker": marker}}),
            "expanded": "",
            "detail": "",
        },
    ).json()
    assert expanded[0]["href"] == url
    detail = expanded[0]["detail"]
    for key in (
        "added",
        "anytime",
        "exclusive",
        "multi-result",
        "cli",
        "diags",
        "duration",
        "post",
        "enabled",
        "hints",
        "participant",
        "participants",
        "runs",
        "runs-started",
        "slip",
        "start",
        "href",
        "runs-href",
        "first-run-href",
        "next-run-href",
    ):
        assert key in detail, key
    assert detail["anytime"] is True and detail["exclusive"] is False
    assert detail["cli"] == ["--duration", "PT1S"]
    assert detail["duration"] == "PT2S"
    assert detail["participants"] == [node.address]
    # As the original: the requester alone is kept, and a task posted without a start shows
    # the start it got (when it was added), not null; GET /tasks/<t>?detail the same.
    assert detail["hints"] == {"requester": "127.0.0.1"}
    assert "start" not in task.get("schedule", {})
    assert detail["start"] is not None and detail["start"] == detail["added"]
    single = node.session.get(url, params={"detail": ""}, timeout=10).json()["detail"]
    assert single["start"] == detail["start"] and single["hints"] == detail["hints"]
    assert node.get("tasks", params={"json": "{bad"}).status_code == 400
    enabled = node.get("tasks", params={"json": json.dumps({"detail": {"enabled": True}})}).json()
    assert url in enabled


def test_list_with_latest_run(node):
    """``latest-run`` (our extension) gives each listed task's latest final run as GET shows it."""
    marker = str(uuid.uuid4())
    repeating = idle("PT0.1S", repeat="PT1S", **{"max-runs": 2})
    repeating["reference"] = {"marker": marker, "n": 1}
    done = post_task(node, repeating)
    later = idle(start="PT1H")
    later["reference"] = {"marker": marker, "n": 2}
    waiting = post_task(node, later)
    query = {"json": json.dumps({"reference": {"marker": marker}}), "expanded": "1"}

    def listed() -> dict:
        r = node.get("tasks", params={**query, "latest-run": "1"})
        assert r.status_code == 200, r.text
        return {t["href"]: t for t in r.json()}

    def second_finished():
        runs_ = node.get(done.split("/pscheduler/", 1)[1] + "/runs").json()
        latest = listed()[done]["latest-run"]
        return len(runs_) == 2 and latest and latest["href"] == runs_[-1] and latest

    latest = wait_for(second_finished, timeout=30, what="the second run to finish")
    own = node.session.get(latest["href"], timeout=10).json()
    assert latest["state"] == own["state"] == "finished"
    for key in ("start-time", "end-time", "result", "result-merged", "participants", "task-href"):
        assert latest[key] == own[key], key
    assert listed()[waiting]["latest-run"] is None
    # Without the parameter the listing is the original's.
    assert all("latest-run" not in t for t in node.get("tasks", params=query).json())


def test_get_unknown_or_malformed_task_is_404(node):
    assert node.get(f"tasks/{uuid.uuid4()}").status_code == 404
    assert node.get("tasks/not-a-uuid").text == "Resource not found.\n"


def test_key_unlocks_secrets(node):
    task = idle()
    task["_key"] = "s3cret"
    task["archives"] = [{"archiver": "bitbucket", "data": {}}]
    url = post_task(node, task)
    assert node.session.get(url, timeout=10).json()["_key"] is None
    assert node.session.get(url, params={"key": "s3cret"}, timeout=10).json()["_key"] == "s3cret"
    assert node.session.get(url, params={"key": "wrong"}, timeout=10).status_code == 403


def test_cli(node):
    url = post_task(node, idle("PT3S"))
    assert node.session.get(url + "/cli", timeout=10).json() == ["idle", "--duration", "PT3S"]


def test_cancel_removes_future_runs_and_keeps_the_task(node):
    start = now() + dt.timedelta(minutes=5)
    url = post_task(node, idle(start=iso(start), repeat="PT1M"))

    def run_list() -> list:  # one request, not one per run: a day holds 1,440 of them
        return node.session.get(url + "/runs", timeout=10).json()

    wait_for(run_list, timeout=10, what="runs to be placed")
    r = node.session.delete(url, timeout=10)
    assert r.status_code == 200 and r.text == "OK\n"
    assert run_list() == []
    detail = node.session.get(url, params={"detail": ""}, timeout=10).json()["detail"]
    assert detail["enabled"] is False
    assert node.session.delete(url, timeout=10).status_code == 200  # idempotent


def test_cancel_of_a_running_run_marks_it_canceled(node):
    url = post_task(node, idle("PT20S", test="idle", start=iso(now() + dt.timedelta(seconds=2))))
    wait_for(
        lambda: [r for r in run_times(node, url) if r[2] == "running"],
        timeout=15,
        what="the run to start",
    )
    node.session.delete(url, timeout=10)
    states = wait_for(
        lambda: [r[2] for r in run_times(node, url) if r[2] == "canceled"],
        timeout=10,
        what="the run to be canceled",
    )
    assert states == ["canceled"]


def test_cancel_unknown_task_is_404(node):
    assert node.delete(f"tasks/{uuid.uuid4()}").status_code == 404
