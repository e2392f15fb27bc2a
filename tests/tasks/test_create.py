"""POST /tasks: what is accepted, and a clear 4xx for everything that is not."""

from __future__ import annotations

import json

import pytest

from tests.tasks.util import idle, iso, now, post_task, sql


def test_post_returns_the_task_url(node):
    url = post_task(node, idle())
    assert url.startswith(node.url("tasks/"))
    body = node.session.get(url, timeout=10).json()
    assert body["test"] == {"type": "idle", "spec": {"duration": "PT1S"}}
    assert body["tool"] == "snooze"
    assert body["href"] == url


def test_post_expanded_is_303_to_the_task(node):
    r = node.post(
        "tasks", params={"expanded": "", "detail": ""}, json=idle(), allow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["Location"].endswith("?detail")
    assert r.text.strip() == r.headers["Location"]


def test_non_ascii_body_is_fine(node):
    task = idle()
    task["reference"] = {"note": "Mesure à Zürich — ✓"}
    url = post_task(node, task)
    assert node.session.get(url, timeout=10).json()["reference"]["note"] == "Mesure à Zürich — ✓"


def test_tools_list_picks_the_first_that_can_run(node):
    task = idle("PT20S")
    task["tools"] = ["nonesuch", "sleep", "snooze"]
    url = post_task(node, task)
    assert node.session.get(url, timeout=10).json()["tool"] == "sleep"


def test_no_tool_is_a_422_with_a_report(node):
    task = idle("PT2M")
    task["tools"] = ["snooze"]
    r = node.post("tasks", json=task)
    assert r.status_code == 422
    assert r.text.startswith(
        "Unable to complete request: None of the participants could run this test:"
    )
    assert "snooze" in r.text and "Duration must be at most PT1M" in r.text


BAD = [
    ("not json", "{nope", "Invalid task specification: Invalid JSON:"),
    ("not an object", "[1]", "Invalid task specification: JSON must be an object"),
    (
        "schema not integer",
        {"schema": "1", "test": {"type": "idle", "spec": {}}},
        "Invalid task specification: Schema value must be an integer",
    ),
    (
        "schema too new",
        {"schema": 6, "test": {"type": "idle", "spec": {}}},
        "Invalid task specification: Schema version 6 is not supported (highest is 5)",
    ),
    (
        "unknown member",
        {**idle(), "colour": "red"},
        "Invalid task specification: At /: Additional properties",
    ),
    (
        "member too new",
        {**idle(), "priority": 5},
        "Invalid task specification: At /priority: needs task schema 3",
    ),
    (
        "no test",
        {"schedule": {}},
        "Invalid task specification: At /: 'test' is a required property",
    ),
    (
        "no schedule",
        {"test": {"type": "idle", "spec": {"duration": "PT1S"}}},
        "Invalid task specification: At /: 'schedule' is a required property",
    ),
    (
        "unknown test",
        {"test": {"type": "nonesuch", "spec": {}}, "schedule": {}},
        "Invalid test specification: no test 'nonesuch' is available",
    ),
    (
        "bad spec",
        {"test": {"type": "idle", "spec": {"duration": "soon"}}, "schedule": {}},
        "Invalid test specification: At /duration:",
    ),
    (
        "bad slip",
        {**idle(), "schedule": {"slip": "PT1Y"}},
        "Invalid task specification: At /schedule/slip:",
    ),
    (
        "bad start",
        {**idle(), "schedule": {"start": "tomorrow"}},
        "Invalid task specification: At /schedule/start:",
    ),
    (
        "until in the past",
        {**idle(), "schedule": {"repeat": "PT1M", "until": "2001-01-01T00:00:00Z"}},
        "Invalid task specification: At /schedule/until: must be in the future",
    ),
    (
        "bad cron",
        idle(**{"repeat-cron": "61 * * * *"}),
        "Invalid task specification: At /schedule/repeat-cron: '61 * * * *' is not a valid",
    ),
    (
        "cron needs schedule v2",
        {**idle(), "schedule": {"repeat-cron": "* * * * *"}},
        "Invalid task specification: At /schedule/repeat-cron: needs schedule schema 2",
    ),
    (
        "unknown archiver",
        {**idle(), "archives": [{"archiver": "nonesuch", "data": {}}]},
        "Invalid archive at /archives/0: no archiver 'nonesuch' is available",
    ),
    (
        "bad archive data",
        {**idle(), "archives": [{"archiver": "failer", "data": {"fail": "often"}}]},
        "Invalid archiver data: At /fail:",
    ),
    (
        "bad transform",
        {
            **idle(),
            "archives": [{"archiver": "bitbucket", "data": {}, "transform": {"script": "..[["}}],
        },
        "Invalid transform at /archives/0/transform:",
    ),
    (
        "lead-bind elsewhere",
        {**idle(), "lead-bind": "192.0.2.1"},
        "Lead bind '192.0.2.1' is not an address on this host",
    ),
    (
        "context count",
        {**idle(), "schema": 2, "contexts": {"contexts": [[], []]}},
        "Invalid contexts: expected 1 list(s), one per participant, got 2",
    ),
]


@pytest.mark.parametrize(("name", "body", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_task_is_a_400_naming_the_problem(node, name, body, message):
    before = sql(node, "SELECT count(*) AS n FROM task")[0]["n"]
    data = body if isinstance(body, str) else json.dumps(body)
    r = node.post("tasks", data=data, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, (name, r.status_code, r.text)
    assert r.text.startswith(message), r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    assert sql(node, "SELECT count(*) AS n FROM task")[0]["n"] == before  # nothing half-made


def test_until_before_start_is_refused(node):
    import datetime as dt

    start = now() + dt.timedelta(hours=2)
    task = idle(start=iso(start), repeat="PT1H", until=iso(start - dt.timedelta(hours=1)))
    r = node.post("tasks", json=task)
    assert r.status_code == 400
    assert (
        r.text.strip() == "Invalid task specification: At /schedule/until: must be after the start"
    )


def test_body_over_one_mebibyte_is_413(node):
    r = node.post(
        "tasks", data=b"x" * (1024 * 1024 + 10), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert "too large" in r.text
